package client

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/dcskit/dcskit/gen"
)

// MaxBodySize caps how much of a response body the client reads.
const MaxBodySize = 1 << 20

// ErrResponseTooLarge is wrapped by the error of a 2xx response whose body
// exceeds MaxBodySize.
var ErrResponseTooLarge = errors.New("response body exceeds 1 MiB")

// APIError is the error of every response whose status is not 2xx,
// whatever its body: DCS's, the API gateway's, or a proxy's HTML.
type APIError struct {
	StatusCode int
	Code       string // error_code, such as "111400063" or "APIGW.0301"
	Message    string // error_msg; failing that, an excerpt of the body or the status text
	ExtMessage string // error_ext_msg, rarely set
	RequestID  string // X-Request-Id, or request_id from the body
}

func (e *APIError) Error() string {
	s := strings.TrimSuffix(fmt.Sprintf("HTTP %d %s", e.StatusCode, http.StatusText(e.StatusCode)), " ") + ":"
	for _, f := range [][2]string{{"error_code", e.Code}, {"error_msg", e.Message}, {"error_ext_msg", e.ExtMessage}, {"request_id", e.RequestID}} {
		if f[1] != "" {
			s += " " + f[0] + "=" + strconv.Quote(f[1])
		}
	}
	return s
}

// InvalidResponseError is a 2xx response whose body breaks the spec. A
// count that cannot be true must not reach a dashboard or end a wait.
type InvalidResponseError struct {
	StatusCode int
	Field      string // the counter at fault, such as "redis.running_count"; "" if the body is not JSON
	Reason     string
	RequestID  string // X-Request-Id
}

func (e *InvalidResponseError) Error() string {
	s := fmt.Sprintf("HTTP %d with an invalid body: %s", e.StatusCode, strings.TrimPrefix(e.Field+": "+e.Reason, ": "))
	if e.RequestID != "" {
		s += " request_id=" + strconv.Quote(e.RequestID)
	}
	return s
}

// newAPIError is the one place that turns a non-2xx response into an
// error. DCS's and the gateway's bodies share error_code and error_msg.
func newAPIError(resp *http.Response, body []byte) *APIError {
	e := &APIError{StatusCode: resp.StatusCode, RequestID: clean(resp.Header.Get("X-Request-Id"), 128)}
	var eb struct {
		gen.GatewayErrorResponse
		ErrorExtMsg *string `json:"error_ext_msg"`
	}
	if json.Unmarshal(body, &eb) != nil || eb.ErrorCode == "" && eb.ErrorMsg == "" {
		e.Message = cmp.Or(clean(stripTags(string(body)), 200), http.StatusText(resp.StatusCode))
		return e
	}
	e.Code, e.Message, e.RequestID = clean(eb.ErrorCode, 64), clean(eb.ErrorMsg, 1024), cmp.Or(e.RequestID, clean(eb.RequestId, 128))
	if eb.ErrorExtMsg != nil {
		e.ExtMessage = clean(*eb.ErrorExtMsg, 1024)
	}
	return e
}

// readBody reads at most MaxBodySize bytes, or fails with them.
func readBody(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxBodySize+1))
	if err == nil && len(b) > MaxBodySize {
		return b[:MaxBodySize], ErrResponseTooLarge
	}
	return b, err
}

// stripTags drops HTML markup: a proxy's error page reads as its text.
func stripTags(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>' && in:
			in = false
			b.WriteByte(' ')
		case !in:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// clean makes text from a server one printable line of at most max runes.
func clean(s string, max int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }), " ")
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}

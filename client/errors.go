package client

import (
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

// ErrResponseTooLarge is returned, wrapped, when a successful response's
// body exceeds MaxBodySize.
var ErrResponseTooLarge = errors.New("response body exceeds 1 MiB")

// APIError is the error for every response whose status is not 2xx,
// whatever its body: a DCS ErrorResponse, the API gateway's error, or
// something that is not JSON at all, such as a proxy's HTML page.
type APIError struct {
	StatusCode int    // HTTP status
	Code       string // error_code, such as "111400063" or "APIGW.0301"
	// Message is error_msg; failing that, an excerpt of the body or the
	// status text.
	Message    string
	ExtMessage string // error_ext_msg, rarely set
	RequestID  string // X-Request-Id, or request_id from the body
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d", e.StatusCode)
	if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteString(" " + t)
	}
	b.WriteString(":")
	for _, f := range []struct{ k, v string }{
		{"error_code", e.Code},
		{"error_msg", e.Message},
		{"error_ext_msg", e.ExtMessage},
		{"request_id", e.RequestID},
	} {
		if f.v != "" {
			fmt.Fprintf(&b, " %s=%s", f.k, strconv.Quote(f.v))
		}
	}
	return b.String()
}

// InvalidResponseError is a 2xx response whose body breaks the spec: it
// is not the API's JSON, or a counter is negative or beyond int32. Such an
// answer is a failed call, never a Status: a count that cannot be true
// must not reach a dashboard or end a wait.
type InvalidResponseError struct {
	StatusCode int    // HTTP status, a 2xx
	Field      string // the counter at fault, such as "redis.running_count"; "" if the body is not JSON
	Reason     string
	RequestID  string // X-Request-Id
}

func (e *InvalidResponseError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d with an invalid body: ", e.StatusCode)
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Reason)
	if e.RequestID != "" {
		fmt.Fprintf(&b, " request_id=%s", strconv.Quote(e.RequestID))
	}
	return b.String()
}

// errorBody holds both error shapes: DCS's ErrorResponse and the gateway's
// GatewayErrorResponse share error_code and error_msg.
type errorBody struct {
	gen.GatewayErrorResponse
	ErrorExtMsg *string `json:"error_ext_msg"`
}

// newAPIError is the one place that turns a non-2xx response into an
// error. body may be cut short at MaxBodySize.
func newAPIError(resp *http.Response, body []byte) *APIError {
	e := &APIError{StatusCode: resp.StatusCode, RequestID: clean(resp.Header.Get("X-Request-Id"), 128)}
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil && (eb.ErrorCode != "" || eb.ErrorMsg != "") {
		e.Code = clean(eb.ErrorCode, 64)
		e.Message = clean(eb.ErrorMsg, 1024)
		if eb.ErrorExtMsg != nil {
			e.ExtMessage = clean(*eb.ErrorExtMsg, 1024)
		}
		if e.RequestID == "" {
			e.RequestID = clean(eb.RequestId, 128)
		}
		return e
	}
	e.Message = clean(stripTags(string(body)), 200)
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// readBody reads at most MaxBodySize bytes. For a longer body it returns
// what it read and ErrResponseTooLarge.
func readBody(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxBodySize+1))
	if err != nil {
		return b, err
	}
	if len(b) > MaxBodySize {
		return b[:MaxBodySize], ErrResponseTooLarge
	}
	return b, nil
}

// stripTags drops HTML markup so that a proxy's error page reads as its
// text.
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

// clean makes text from the server safe to print on one terminal line:
// control characters become spaces, runs of space collapse, and it is cut
// at max runes.
func clean(s string, max int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || !unicode.IsPrint(r)
	}), " ")
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}

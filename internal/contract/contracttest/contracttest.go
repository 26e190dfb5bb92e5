// Package contracttest holds every response a test sees to dcskit's
// OpenAPI documents (package contract), as a RoundTripper on the client's
// side or a handler wrapper on the server's. A violation is a test error.
package contracttest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dcskit/dcskit/internal/contract"
)

// Checker is a contract.Checker that reports to a test.
type Checker struct{ *contract.Checker }

// New returns the process's Checker, or stops the test.
func New(tb testing.TB) Checker {
	tb.Helper()
	c, err := contract.New()
	if err != nil {
		tb.Fatalf("contract: %v", err)
	}
	return Checker{c}
}

// Transport returns a RoundTripper that validates every response it
// carries and reports a violation as a test error. The caller still gets
// the response, with its body intact. next nil means
// http.DefaultTransport.
func (c Checker) Transport(tb testing.TB, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		if err != nil {
			return resp, err
		}
		body, rerr := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if rerr != nil {
			return resp, nil // the caller sees the short body; nothing to validate
		}
		if err := c.CheckResponse(req.Context(), req, resp.StatusCode, resp.Header, body); err != nil {
			tb.Errorf("contract: %v\nbody: %s", err, truncate(body))
		}
		return resp, nil
	})
}

// Handler wraps h so that every response it writes is validated; a
// violation is reported as a test error. A request whose client has gone
// before the answer is not checked: nobody receives it.
func (c Checker) Handler(tb testing.TB, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		res := rec.Result()
		body := rec.Body.Bytes()
		if r.Context().Err() != nil {
			return // the client has gone: no answer reaches anyone
		}
		if err := c.CheckResponse(r.Context(), r, res.StatusCode, res.Header, body); err != nil {
			tb.Errorf("contract: %v\nbody: %s", err, truncate(body))
		}
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		_, _ = w.Write(body)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func truncate(b []byte) []byte {
	const max = 512
	if len(b) > max {
		return append(b[:max:max], "..."...)
	}
	return b
}

package client

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/dcskit/dcskit/signer"
)

// authTransport authenticates each request on its way out. It runs once
// per attempt, so every retry carries a fresh X-Sdk-Date and signature,
// with the credentials of the moment.
type authTransport struct {
	next      http.RoundTripper // nil means http.DefaultTransport
	userAgent string
	creds     CredentialsProvider // used when token is empty; nil: unsigned
	token     string
	now       func() time.Time
	log       *slog.Logger // nil: no exchange is logged
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// A RoundTripper must not modify the caller's request.
	r := req.Clone(req.Context())
	r.Header.Set("User-Agent", t.userAgent)
	switch {
	case t.token != "":
		r.Header.Set("X-Auth-Token", t.token)
	case t.creds != nil:
		cred, err := t.creds.Retrieve(r.Context())
		if err != nil {
			return nil, asCredentialsError(err)
		}
		// The signer signs the headers already present, X-Project-Id
		// among them.
		if err := signer.Sign(r, nil, cred.Keys, t.now()); err != nil {
			return nil, err
		}
	}
	editAfterAuth(r)
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	if t.log == nil {
		return next.RoundTrip(r)
	}
	start := time.Now()
	resp, err := next.RoundTrip(r)
	logExchange(t.log, r, resp, err, time.Since(start))
	return resp, err
}

// attemptKey carries the number of the attempt, for the log, in the
// context of a request.
type attemptKey struct{}

// withAttempt numbers the attempt that req is, if exchanges are logged.
func (c *caller) withAttempt(req *http.Request, attempt int) *http.Request {
	if c.log == nil {
		return req
	}
	return req.WithContext(context.WithValue(req.Context(), attemptKey{}, attempt))
}

// logExchange logs one request and its answer, or its failure, with no
// credential in it: the signature and any token are replaced by
// signer.RedactedValue.
func logExchange(log *slog.Logger, r *http.Request, resp *http.Response, err error, took time.Duration) {
	attempt, ok := r.Context().Value(attemptKey{}).(int)
	if !ok {
		attempt = 1
	}
	attrs := []slog.Attr{
		slog.Int("attempt", attempt),
		slog.String("method", r.Method),
		slog.String("url", r.URL.Redacted()),
	}
	if resp != nil {
		attrs = append(attrs, slog.Int("status", resp.StatusCode), slog.String("request_id", resp.Header.Get("X-Request-Id")))
	}
	attrs = append(attrs, slog.Duration("duration", took))
	switch {
	case r.Header.Get(signer.HeaderAuthorization) != "":
		attrs = append(attrs, slog.String("authorization", signer.RedactAuthorization(r.Header.Get(signer.HeaderAuthorization))))
	case r.Header.Get("X-Auth-Token") != "":
		attrs = append(attrs, slog.String("x_auth_token", signer.RedactedValue))
	default:
		attrs = append(attrs, slog.String("authorization", "none"))
	}
	if r.Header.Get(signer.HeaderSecurityToken) != "" {
		attrs = append(attrs, slog.String("x_security_token", signer.RedactedValue))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	log.LogAttrs(r.Context(), slog.LevelDebug, "HTTP exchange", attrs...)
}

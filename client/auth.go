package client

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/dcskit/dcskit/signer"
)

// userAgent is what every request says it is.
const userAgent = "dcskit"

// authTransport authenticates each request on its way out. It runs once
// per attempt, so every retry carries a fresh X-Sdk-Date and signature,
// with the credentials of the moment.
type authTransport struct {
	next  http.RoundTripper   // nil means http.DefaultTransport
	creds CredentialsProvider // used when token is empty; nil: unsigned
	token string
	now   func() time.Time
	log   *slog.Logger // nil: no exchange is logged
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context()) // a RoundTripper must not change the caller's request
	r.Header.Set("User-Agent", userAgent)
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
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	if t.log == nil {
		return next.RoundTrip(r)
	}
	start := time.Now()
	resp, err := next.RoundTrip(r)
	attrs := []slog.Attr{slog.Any("attempt", r.Context().Value(attemptKey{})), slog.String("method", r.Method), slog.String("url", r.URL.Redacted())}
	if resp != nil {
		attrs = append(attrs, slog.Int("status", resp.StatusCode), slog.String("request_id", resp.Header.Get("X-Request-Id")))
	}
	attrs = append(attrs, slog.Duration("duration", time.Since(start)))
	switch a := r.Header.Get(signer.HeaderAuthorization); {
	case a != "":
		attrs = append(attrs, slog.String("authorization", signer.RedactAuthorization(a)))
	case t.token != "":
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
	t.log.LogAttrs(r.Context(), slog.LevelDebug, "HTTP exchange", attrs...)
	return resp, err
}

// attemptKey carries the number of the attempt, for the log, in the
// context of a request.
type attemptKey struct{}

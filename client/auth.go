package client

import (
	"net/http"
	"time"

	"github.com/dcskit/dcskit/signer"
)

// authTransport authenticates each request on its way out. It runs once
// per attempt, so every retry carries a fresh X-Sdk-Date and signature.
type authTransport struct {
	next      http.RoundTripper // nil means http.DefaultTransport
	projectID string
	userAgent string
	cred      signer.Credentials // used when token is empty
	token     string
	now       func() time.Time
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// A RoundTripper must not modify the caller's request.
	r := req.Clone(req.Context())
	r.Header.Set("User-Agent", t.userAgent)
	// Set before signing: the signer signs the headers already present.
	r.Header.Set("X-Project-Id", t.projectID)
	if t.token != "" {
		r.Header.Set("X-Auth-Token", t.token)
	} else if err := signer.Sign(r, nil, t.cred, t.now()); err != nil {
		return nil, err
	}
	editAfterAuth(r)
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	return next.RoundTrip(r)
}

// describe names the kind of authentication for String, without secrets.
func (t *authTransport) describe() string {
	if t.token != "" {
		return "IAM token"
	}
	return t.cred.String()
}

package client

import (
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
	creds     CredentialsProvider // used when token is empty
	token     string
	now       func() time.Time
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// A RoundTripper must not modify the caller's request.
	r := req.Clone(req.Context())
	r.Header.Set("User-Agent", t.userAgent)
	if t.token != "" {
		r.Header.Set("X-Auth-Token", t.token)
	} else {
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
	return next.RoundTrip(r)
}

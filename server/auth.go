package server

import (
	"bytes"
	"crypto/subtle"
	"io"
	"net/http"

	"github.com/dcskit/dcskit/signer"
)

const headerAuthToken = "X-Auth-Token"

// maxSignedBody bounds what authenticate reads to hash a request body.
const maxSignedBody = 1 << 20

// authenticate lets a request through if it proves one of the configured
// identities: a good AK/SK signature or the token. With none configured it
// checks nothing.
func (s *Server) authenticate(next http.Handler) http.Handler {
	if s.verifier == nil && s.opts.Token == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.checkAuth(w, r); err != nil {
			s.authRejected(w, r, err)
			s.writeError(w, r, err)
			return
		}
		authAccepted(w)
		next.ServeHTTP(w, r)
	})
}

func (s *Server) checkAuth(w http.ResponseWriter, r *http.Request) error {
	reason := "no AK/SK signature or token"
	if tok := r.Header.Get(headerAuthToken); tok != "" && s.opts.Token != "" {
		if subtle.ConstantTimeCompare([]byte(tok), []byte(s.opts.Token)) == 1 {
			return nil
		}
		reason = "verify token fail"
	}
	if r.Header.Get(signer.HeaderAuthorization) != "" && s.verifier != nil {
		var body []byte
		// nil when a test calls the handler directly; NoBody for a GET.
		if b, ok := r.Body.(bufferedBody); ok {
			body = b.data // an admin body, read under its own limit
		} else if r.Body != nil && r.Body != http.NoBody {
			var err error
			if body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, maxSignedBody)); err != nil {
				return &requestError{err}
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		if err := s.verifier.Verify(r, body); err != nil {
			// signer's errors never carry a secret.
			return &authError{"verify aksk signature fail: " + err.Error(), err}
		}
		return nil
	}
	return &authError{reason: reason}
}

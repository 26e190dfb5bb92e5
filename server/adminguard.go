package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/netip"
)

// adminHealthz is the one admin path open to all: it reads no body and
// changes nothing, and liveness probes carry no credentials.
const adminHealthz = adminPrefix + "healthz"

// guardAdmin bounds the admin API and, on a fake with credentials,
// closes it to other hosts that do not prove them: it takes one of
// MaxAdminInFlight slots, reads the body (at most MaxAdminBody), then,
// unless the request comes from loopback, checks the credentials of the
// DCS API over it. Loopback is the test process's own machine, where curl
// and every language's tests reach the fake without signing; a host that
// reaches a fake served with --allow-remote (or a port that a container
// forwards) must sign or send the token. Queries to the DCS API never
// pass here, so they never wait for admin requests.
func (s *Server) guardAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == adminHealthz {
			next.ServeHTTP(w, r)
			return
		}
		select {
		case s.adminSlots <- struct{}{}:
			defer func() { <-s.adminSlots }()
		case <-r.Context().Done():
			return // the client has gone
		}
		if err := readAdminBody(w, r); err != nil {
			s.writeError(w, r, err)
			return
		}
		if (s.verifier != nil || s.opts.Token != "") && !fromLoopback(r) {
			if err := s.checkAuth(w, r); err != nil {
				s.writeError(w, r, &adminAuthError{err})
				return
			}
		}
		if err := takeJSON(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bufferedBody is a request body read into memory already.
type bufferedBody struct {
	*bytes.Reader
	data []byte
}

func (bufferedBody) Close() error { return nil }

// readAdminBody replaces r's body with a bufferedBody, or refuses one
// over MaxAdminBody: at once if its Content-Length says so, else once
// that many bytes have come.
func readAdminBody(w http.ResponseWriter, r *http.Request) error {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	tooLarge := &LimitError{Limit: "MaxAdminBody", What: "the request body, in bytes", Max: MaxAdminBody}
	if r.ContentLength > MaxAdminBody {
		tooLarge.Want = r.ContentLength
		return tooLarge
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxAdminBody))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return tooLarge
	}
	if err != nil {
		return &requestError{err}
	}
	r.Body = bufferedBody{bytes.NewReader(data), data}
	return nil
}

// takeJSON takes a body sent with no Content-Type, or as `curl -d` sends
// it (application/x-www-form-urlencoded), for the JSON it is, so that
// the validator and the generated handlers see application/json; it
// refuses any other Content-Type, and a body that is not JSON, before
// they would answer in words of their own.
func takeJSON(r *http.Request) error {
	b, ok := r.Body.(bufferedBody)
	if !ok || len(b.data) == 0 {
		return nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		switch {
		case err != nil:
			return &mediaTypeError{ct}
		case mt == "application/x-www-form-urlencoded":
			r.Header.Set("Content-Type", "application/json")
		case mt != "application/json":
			return &mediaTypeError{ct}
		}
	} else {
		r.Header.Set("Content-Type", "application/json")
	}
	if !json.Valid(b.data) {
		err := json.Unmarshal(b.data, new(any))
		return &requestError{fmt.Errorf("the request body is not JSON: %w", err)}
	}
	return nil
}

// mediaTypeError is an admin body with a Content-Type that is not JSON's.
type mediaTypeError struct{ contentType string }

func (e *mediaTypeError) Error() string {
	return fmt.Sprintf("Content-Type %q: send JSON, as application/json", truncate(e.contentType, 100))
}

// adminAuthError is an admin request to a fake with credentials that
// does not prove them.
type adminAuthError struct{ err error }

func (e *adminAuthError) Error() string {
	return "the admin API of a fake with credentials requires them too (an AK/SK signature or X-Auth-Token): " + e.err.Error()
}

func (e *adminAuthError) Unwrap() error { return e.err }

// fromLoopback reports whether r came from this machine: a loopback
// address, or no address at all, as for a request that a test hands to
// the Handler itself.
func fromLoopback(r *http.Request) bool {
	if r.RemoteAddr == "" {
		return true
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

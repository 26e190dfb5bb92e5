package server

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dcskit/dcskit/gen/admin"
	"github.com/dcskit/dcskit/signer"
)

// RecordedRequest is a request to the fake as the request journal keeps
// it, in admin.yaml's form: every request but those to the admin API under
// /_fake/. It holds no secret: no secret key, token or signature. Its
// AccessKey is CredentialToken for a request with X-Auth-Token and no
// signature, CredentialNone for one with neither.
type RecordedRequest = admin.RecordedRequest

// The AccessKey of a request that is not signed.
const (
	CredentialToken = "token"
	CredentialNone  = "none"
)

// AuthResult is the verdict on a request's credentials
// (RecordedRequest.Auth.Result).
type AuthResult = admin.AuthResult

const (
	AuthOK       = admin.AuthOK
	AuthRejected = admin.AuthRejected
	AuthNone     = admin.AuthNone
)

// Requests returns a copy of the request journal, oldest first.
func (s *Server) Requests() []RecordedRequest {
	s.journal.mu.Lock()
	defer s.journal.mu.Unlock()
	out := slices.Clone(s.journal.entries)
	for i := range out {
		out[i].SignedHeaders = slices.Clone(out[i].SignedHeaders)
	}
	return out
}

// ClearRequests empties the request journal and its count of dropped
// requests.
func (s *Server) ClearRequests() {
	s.journal.mu.Lock()
	defer s.journal.mu.Unlock()
	s.journal.entries, s.journal.dropped = nil, 0
}

// journal keeps the last size requests.
type journal struct {
	size    int // 0: keep nothing
	mu      sync.Mutex
	entries []RecordedRequest
	dropped int // since the last clear
}

// record journals r, answered as sw says, unless it went to the admin API.
func (s *Server) record(r *http.Request, sw *statusWriter, id string, start time.Time) {
	if s.journal.size == 0 || strings.HasPrefix(r.URL.Path, adminPrefix) {
		return
	}
	// Each text is bounded: net/http allows 1 MiB of headers, and a
	// handler called directly allows anything.
	rr := RecordedRequest{
		Time: start.UTC(), Method: clip(r.Method, 2<<10), Path: clip(r.URL.EscapedPath(), 2<<10),
		RawQuery: clip(r.URL.RawQuery, 2<<10), Status: sw.status, ErrorCode: sw.code, RequestId: id,
		AccessKey: CredentialNone, Auth: sw.auth,
	}
	if a, err := signer.ParseAuthorization(r.Header.Get(signer.HeaderAuthorization)); err == nil {
		rr.AccessKey, rr.SignedHeaders = a.AccessKey, a.SignedHeaders
	} else if r.Header.Get(headerAuthToken) != "" {
		rr.AccessKey = CredentialToken
	}
	switch {
	case rr.Auth.Result != "":
	case s.verifier == nil && s.opts.Token == "":
		rr.Auth = admin.RequestAuth{Result: AuthNone, Reason: "the fake requires no credentials"}
	default:
		rr.Auth = admin.RequestAuth{Result: AuthNone, Reason: "answered before authentication"}
	}
	j := &s.journal
	j.mu.Lock()
	defer j.mu.Unlock()
	// The oldest is let go; append moves what is kept now and then.
	if j.entries = append(j.entries, rr); len(j.entries) > j.size {
		j.entries = j.entries[1:]
		j.dropped++
	}
}

// clip cuts s to at most max bytes, marking the cut.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

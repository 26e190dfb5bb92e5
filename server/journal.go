package server

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dcskit/dcskit/signer"
)

// RecordedRequest is a request to the fake as the request journal keeps
// it: every request but those to the admin API under /_fake/. It holds no
// secret: no secret key, token or signature.
type RecordedRequest struct {
	Time     time.Time // when it arrived
	Method   string
	Path     string // escaped, as sent
	RawQuery string // as sent, without the "?"
	// Status is the status answered; 0 if the connection was dropped
	// without an answer (Fault.Drop).
	Status    int
	ErrorCode string // the error_code of an error answer
	RequestID string // the X-Request-Id answered
	// AccessKey is the access key of the request's AK/SK signature;
	// CredentialToken for a request with X-Auth-Token and no signature,
	// CredentialNone for one with neither.
	AccessKey string
	// SignedHeaders are the header names its signature says it covers.
	SignedHeaders []string
	Auth          Auth
}

// The AccessKey of a request that is not signed.
const (
	CredentialToken = "token"
	CredentialNone  = "none"
)

// Auth is what the fake made of a request's credentials.
type Auth struct {
	Result AuthResult
	// Reason says why a request was rejected, or why none was judged.
	Reason string
	// CanonicalRequest and StringToSign are what the fake computed for an
	// AK/SK signature that does not match (see signer.MismatchError,
	// which redacts credential headers); empty otherwise.
	CanonicalRequest string
	StringToSign     string
}

// AuthResult is the verdict on a request's credentials.
type AuthResult string

const (
	// AuthOK: the signature or token was accepted.
	AuthOK AuthResult = "ok"
	// AuthRejected: the request was answered 401.
	AuthRejected AuthResult = "rejected"
	// AuthNone: nothing was judged, because the fake requires no
	// credentials or answered before it came to them (an unknown URL, a
	// method not allowed, an injected fault).
	AuthNone AuthResult = "none"
)

// Requests returns a copy of the request journal, oldest first.
func (s *Server) Requests() []RecordedRequest {
	s.journal.mu.Lock()
	defer s.journal.mu.Unlock()
	return slices.Clone(s.journal.entries)
}

// DroppedRequests counts the requests the journal let go to stay within
// Options.JournalSize since it was last cleared.
func (s *Server) DroppedRequests() int {
	s.journal.mu.Lock()
	defer s.journal.mu.Unlock()
	return s.journal.dropped
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
	dropped int
}

// record journals r, answered as sw says, unless it went to the admin API.
func (s *Server) record(r *http.Request, sw *statusWriter, id string, start time.Time) {
	if s.journal.size == 0 || strings.HasPrefix(r.URL.Path, adminPrefix) {
		return
	}
	// Each text is bounded: net/http allows 1 MiB of headers, and a
	// handler called directly allows anything.
	rr := RecordedRequest{
		Time: start, Method: clip(r.Method, 2<<10), Path: clip(r.URL.EscapedPath(), 2<<10),
		RawQuery: clip(r.URL.RawQuery, 2<<10), Status: sw.status, ErrorCode: sw.code, RequestID: id,
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
		rr.Auth = Auth{Result: AuthNone, Reason: "the fake requires no credentials"}
	default:
		rr.Auth = Auth{Result: AuthNone, Reason: "answered before authentication"}
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

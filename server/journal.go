package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/dcskit/dcskit/gen/admin"
	"github.com/dcskit/dcskit/signer"
)

// DefaultJournalSize is how many requests the journal keeps when
// Options.JournalSize is 0.
const DefaultJournalSize = 1000

// MaxJournalSize bounds Options.JournalSize. An entry keeps at most a few
// KiB (see maxJournalText), so a full journal stays within some hundreds
// of MiB even at this size.
const MaxJournalSize = 100_000

// maxJournalText bounds each text an entry keeps from a request (path,
// query) and maxJournalCanonical its canonical request: net/http allows
// 1 MiB of headers, and a handler called directly allows anything.
const (
	maxJournalText      = 2 << 10
	maxJournalCanonical = 16 << 10
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
	Status int
	// ErrorCode is the error_code of an error answer.
	ErrorCode string
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

// Reasons of AuthNone.
const (
	reasonNoCredentials = "the fake requires no credentials"
	reasonNotReached    = "answered before authentication"
)

// Requests returns a copy of the request journal, oldest first.
func (s *Server) Requests() []RecordedRequest { return s.journal.list(s.noneReason()) }

// DroppedRequests counts the requests the journal let go to stay within
// Options.JournalSize since it was last cleared.
func (s *Server) DroppedRequests() int { return s.journal.droppedCount() }

// ClearRequests empties the request journal and its count of dropped
// requests.
func (s *Server) ClearRequests() { s.journal.clear() }

func (s *Server) noneReason() string {
	if s.verifier == nil && s.opts.Token == "" {
		return reasonNoCredentials
	}
	return reasonNotReached
}

// journal keeps the last size requests in a ring.
type journal struct {
	size    int // 0: keep nothing
	mu      sync.Mutex
	entries []journalEntry // grows to size, then wraps at head
	head    int            // the oldest entry once full
	dropped int
}

// journalEntry is a RecordedRequest as recorded on the request path: as
// little work as possible there, the rest when read.
type journalEntry struct {
	time                              time.Time
	method, path, rawQuery, requestID string
	status                            int
	errorCode                         string
	// signedBy is the access key and the signed header names of an
	// AK/SK signature, joined with ";" (neither holds one), in a string
	// of its own: the journal keeps no reference to the Authorization
	// header, whose signature is none of its business.
	signedBy string
	hasToken bool
	auth     authNote
}

// journalNote is what handlers tell the journal about a request, on its
// statusWriter.
type journalNote struct {
	errorCode string
	codeSeen  bool
	auth      authNote
}

// authNote is the verdict on a request's credentials: AuthNone in its zero
// value, and the details of a rejection.
type authNote struct {
	result   AuthResult
	rejected *Auth
}

func (n authNote) value(noneReason string) Auth {
	switch {
	case n.rejected != nil:
		return *n.rejected
	case n.result == AuthOK:
		return Auth{Result: AuthOK}
	}
	return Auth{Result: AuthNone, Reason: noneReason}
}

func newJournal(size int) (*journal, error) {
	switch {
	case size == 0:
		size = DefaultJournalSize
	case size < 0:
		size = 0
	case size > MaxJournalSize:
		return nil, fmt.Errorf("JournalSize %d is over the limit of %d", size, MaxJournalSize)
	}
	return &journal{size: size}, nil
}

// record journals r, answered as sw says, unless it went to the admin
// API.
func (j *journal) record(r *http.Request, sw *statusWriter, id string, start time.Time) {
	if j.size == 0 || strings.HasPrefix(r.URL.Path, adminPrefix) {
		return
	}
	e := journalEntry{
		time:      start,
		method:    clip(r.Method, maxJournalText),
		path:      clip(r.URL.EscapedPath(), maxJournalText),
		rawQuery:  clip(r.URL.RawQuery, maxJournalText),
		requestID: id,
		status:    sw.status,
		errorCode: sw.note.errorCode,
		hasToken:  r.Header.Get(headerAuthToken) != "",
		auth:      sw.note.auth,
	}
	if h := r.Header.Get(signer.HeaderAuthorization); h != "" {
		if a, err := signer.ParseAuthorization(h); err == nil {
			e.signedBy = joinSignature(a)
		}
	}
	j.mu.Lock()
	if len(j.entries) < j.size {
		j.entries = append(j.entries, e)
	} else {
		j.entries[j.head] = e
		j.head = (j.head + 1) % j.size
		j.dropped++
	}
	j.mu.Unlock()
}

func (j *journal) list(noneReason string) []RecordedRequest {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]RecordedRequest, 0, len(j.entries))
	for i := range j.entries {
		e := &j.entries[(j.head+i)%len(j.entries)]
		rr := RecordedRequest{
			Time: e.time, Method: e.method, Path: e.path, RawQuery: e.rawQuery,
			Status: e.status, ErrorCode: e.errorCode, RequestID: e.requestID,
			AccessKey: CredentialNone, Auth: e.auth.value(noneReason),
		}
		switch {
		case e.signedBy != "":
			fields := strings.Split(e.signedBy, ";")
			rr.AccessKey, rr.SignedHeaders = fields[0], fields[1:]
		case e.hasToken:
			rr.AccessKey = CredentialToken
		}
		out = append(out, rr)
	}
	return out
}

func (j *journal) droppedCount() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.dropped
}

func (j *journal) clear() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries, j.head, j.dropped = nil, 0, 0
}

// joinSignature is a's access key and signed header names, joined with
// ";", in one new string.
func joinSignature(a signer.Authorization) string {
	var b strings.Builder
	n := len(a.AccessKey)
	for _, h := range a.SignedHeaders {
		n += 1 + len(h)
	}
	b.Grow(n)
	b.WriteString(a.AccessKey)
	for _, h := range a.SignedHeaders {
		b.WriteByte(';')
		b.WriteString(h)
	}
	return b.String()
}

// clip cuts s to at most max bytes, marking the cut.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

// statusWriterOf is the statusWriter under w, or nil.
func statusWriterOf(w http.ResponseWriter) *statusWriter {
	for {
		switch x := w.(type) {
		case *statusWriter:
			return x
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return nil
		}
	}
}

// noteErrorCode keeps the error_code of an error answer's body, for the
// journal. It reads the body rather than asking which error was written,
// so that it holds for any handler, whatever writes its errors.
func (w *statusWriter) noteErrorCode(b []byte) {
	if w.status < 400 || w.note.codeSeen {
		return
	}
	w.note.codeSeen = true
	var body struct {
		ErrorCode string `json:"error_code"`
	}
	if json.Unmarshal(b, &body) == nil {
		w.note.errorCode = clip(body.ErrorCode, maxJournalText)
	}
}

// authAccepted notes on w's statusWriter that the request's credentials
// passed.
func authAccepted(w http.ResponseWriter) {
	if sw := statusWriterOf(w); sw != nil {
		sw.note.auth = authNote{result: AuthOK}
	}
}

// authRejected notes on w's statusWriter why the request's credentials
// failed. The reason reaches the log at Info in the request's own line
// (observe logs the error answered); at Debug, a signature that does not
// match adds what the fake computed, for whoever debugs a signer.
func (s *Server) authRejected(w http.ResponseWriter, r *http.Request, err error) {
	a := &Auth{Result: AuthRejected, Reason: err.Error()}
	if me, ok := errors.AsType[*signer.MismatchError](err); ok {
		a.CanonicalRequest = clip(me.CanonicalRequest, maxJournalCanonical)
		a.StringToSign = me.StringToSign
	}
	if sw := statusWriterOf(w); sw != nil {
		sw.note.auth = authNote{result: AuthRejected, rejected: a}
	}
	if a.CanonicalRequest != "" && s.log.Enabled(r.Context(), slog.LevelDebug) {
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "signature mismatch: what the fake computed",
			slog.String("request_id", w.Header().Get(headerRequestID)),
			slog.String("canonical_request", a.CanonicalRequest),
			slog.String("string_to_sign", a.StringToSign))
	}
}

func (a adminAPI) ListRequests(_ context.Context, req admin.ListRequestsRequestObject) (admin.ListRequestsResponseObject, error) {
	p := req.Params
	out := admin.RequestJournal{Requests: []admin.RecordedRequest{}, Dropped: a.s.DroppedRequests()}
	for _, rr := range a.s.Requests() {
		if p.Status != nil && rr.Status != *p.Status ||
			p.Path != nil && rr.Path != *p.Path ||
			p.Method != nil && rr.Method != *p.Method ||
			p.Auth != nil && string(rr.Auth.Result) != string(*p.Auth) {
			continue
		}
		out.Requests = append(out.Requests, apiRecordedRequest(rr))
	}
	return admin.ListRequests200JSONResponse(out), nil
}

func (a adminAPI) ClearRequests(context.Context, admin.ClearRequestsRequestObject) (admin.ClearRequestsResponseObject, error) {
	a.s.ClearRequests()
	return admin.ClearRequests204Response{}, nil
}

func apiRecordedRequest(rr RecordedRequest) admin.RecordedRequest {
	out := admin.RecordedRequest{
		Time: rr.Time.UTC(), Method: rr.Method, Path: rr.Path, RawQuery: rr.RawQuery,
		Status: rr.Status, ErrorCode: rr.ErrorCode, RequestId: rr.RequestID,
		AccessKey: rr.AccessKey, SignedHeaders: rr.SignedHeaders,
		Auth: admin.RequestAuth{Result: admin.AuthResult(rr.Auth.Result), Reason: rr.Auth.Reason},
	}
	if out.SignedHeaders == nil {
		out.SignedHeaders = []string{}
	}
	if rr.Auth.CanonicalRequest != "" {
		out.Auth.CanonicalRequest = &rr.Auth.CanonicalRequest
		out.Auth.StringToSign = &rr.Auth.StringToSign
	}
	return out
}

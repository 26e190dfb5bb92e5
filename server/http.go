package server

import (
	"bytes"
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/netip"
	"path"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen"
	"github.com/dcskit/dcskit/gen/admin"
	"github.com/dcskit/dcskit/gen/dcsserver"
	"github.com/dcskit/dcskit/gen/iamserver"
	"github.com/dcskit/dcskit/openapi"
	"github.com/dcskit/dcskit/signer"
)

const (
	headerRequestID = "X-Request-Id"
	headerAuthToken = "X-Auth-Token"
	adminPrefix     = "/_fake/"
)

// parsed is what the fake takes from the documents, once per process:
// them, and routers for the validator on copies that match any host and
// leave credentials to the fake.
type parsed struct {
	*openapi.Docs
	routers map[*openapi3.T]routers.Router
}

var loadSpecs = sync.OnceValues(func() (*parsed, error) {
	docs, err := openapi.Load()
	if err != nil {
		return nil, err
	}
	p := &parsed{docs, map[*openapi3.T]routers.Router{}}
	for _, doc := range []*openapi3.T{docs.DCS, docs.Admin, docs.IAM} {
		anyHost := *doc // shared: route on a shallow copy
		anyHost.Servers, anyHost.Security = nil, nil
		if p.routers[doc], err = legacy.NewRouter(&anyHost); err != nil {
			return nil, fmt.Errorf("server: %s: %w", doc.Info.Title, err)
		}
	}
	return p, nil
})

// specs is what New has loaded.
func specs() *parsed {
	p, _ := loadSpecs()
	return p
}

var validateOptions = &openapi3filter.Options{
	SkipSettingDefaults: true,
	SchemaValidationOptions: []openapi3.SchemaValidationOption{
		openapi3.SetSchemaErrorMessageCustomizer(func(e *openapi3.SchemaError) string {
			return "/" + strings.Join(e.JSONPointer(), "/") + ": " + e.Reason
		}),
	},
}

// newMux registers the generated routes of the three documents.
func newMux(h handlers) *http.ServeMux {
	mux := http.NewServeMux()
	bad := func(w http.ResponseWriter, r *http.Request, err error) { h.s.writeError(w, r, badRequest(err)) }
	dcsserver.HandlerWithOptions(dcsserver.NewStrictHandlerWithOptions(h, nil,
		dcsserver.StrictHTTPServerOptions{RequestErrorHandlerFunc: bad, ResponseErrorHandlerFunc: h.s.writeError}),
		dcsserver.StdHTTPServerOptions{BaseRouter: mux, ErrorHandlerFunc: bad})
	admin.HandlerWithOptions(admin.NewStrictHandlerWithOptions(h, nil,
		admin.StrictHTTPServerOptions{RequestErrorHandlerFunc: bad, ResponseErrorHandlerFunc: h.s.writeError}),
		admin.StdHTTPServerOptions{BaseRouter: mux, ErrorHandlerFunc: bad})
	iamserver.HandlerWithOptions(iamserver.NewStrictHandlerWithOptions(h, nil,
		iamserver.StrictHTTPServerOptions{RequestErrorHandlerFunc: bad, ResponseErrorHandlerFunc: h.s.writeError}),
		iamserver.StdHTTPServerOptions{BaseRouter: mux, ErrorHandlerFunc: bad})
	return mux
}

// route checks a request as its API demands, then serves it. What no spec
// routes is a 404 or 405 before any check, as from a gateway that knows
// no such API.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	_, pattern := s.mux.Handler(r)
	method, route, _ := strings.Cut(pattern, " ")
	// ServeMux lets a GET pattern serve HEAD, which no spec declares,
	// and redirects a path it would clean.
	if method != r.Method || !isClean(r.URL.EscapedPath()) {
		s.unrouted(w, r)
		return
	}
	var err error
	doc := specs().DCS
	switch {
	case strings.HasPrefix(route, adminPrefix):
		doc = specs().Admin
		if route != adminPrefix+"healthz" { // open to all: probes carry no credentials
			select {
			case s.adminSlots <- struct{}{}:
				defer func() { <-s.adminSlots }()
			case <-r.Context().Done():
				return // the client has gone
			}
			err = s.checkAdmin(w, r)
		}
	case strings.HasPrefix(route, "/v3/"):
		doc = specs().IAM
		r = r.WithContext(context.WithValue(r.Context(), requestKey{}, r))
		err = s.authenticate(w, r)
	default:
		// The third segment of the path as sent, %2F or %00 still showing.
		projectID := strings.SplitN(r.URL.EscapedPath(), "/", 4)[2]
		if s.fault(w, r, projectID) {
			return
		}
		if err = s.authenticate(w, r); err == nil && !dcs.ValidProjectID(projectID) {
			err = errBadProjectID
		}
	}
	if err == nil && !s.opts.DisableValidation {
		route, params, ferr := specs().routers[doc].FindRoute(r)
		if err = ferr; err == nil {
			err = openapi3filter.ValidateRequest(r.Context(), &openapi3filter.RequestValidationInput{
				Request: r, PathParams: params, Route: route, Options: validateOptions})
		}
		if err != nil {
			err = badRequest(err)
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// unrouted answers 404, or 405 with an Allow header that lists the
// methods the spec declares for r's path.
func (s *Server) unrouted(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"DELETE", "GET", "PATCH", "POST", "PUT"} {
		if _, p := s.mux.Handler(&http.Request{Method: m, Host: r.Host, URL: r.URL}); strings.HasPrefix(p, m+" ") {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 || !isClean(r.URL.EscapedPath()) {
		s.writeError(w, r, errNoSuchURL)
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	s.writeError(w, r, errMethod)
}

// isClean reports whether ServeMux would take p as it is.
func isClean(p string) bool {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

// readBody reads r's body, at most limit bytes, and puts it back for the
// handlers.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	r.Body = io.NopCloser(bytes.NewReader(data))
	return data, err
}

// authenticate lets a request through if it proves one of the configured
// identities, and tells the journal what it made of them.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) error {
	if s.verifier == nil && s.opts.Token == "" {
		return nil
	}
	body, err := readBody(w, r, 1<<20)
	if err != nil {
		return badRequest(err)
	}
	err = s.checkAuth(r, body)
	a := Auth{Result: AuthOK}
	if err != nil {
		a = Auth{Result: AuthRejected, Reason: err.Error()}
		if me, ok := errors.AsType[*signer.MismatchError](err); ok {
			a.CanonicalRequest, a.StringToSign = clip(me.CanonicalRequest, 16<<10), me.StringToSign
			// For whoever debugs a signer; the reason is in the request's line.
			s.log.LogAttrs(r.Context(), slog.LevelDebug, "signature mismatch: what the fake computed",
				slog.String("request_id", w.Header().Get(headerRequestID)),
				slog.String("canonical_request", a.CanonicalRequest), slog.String("string_to_sign", a.StringToSign))
		}
	}
	if sw, ok := w.(*statusWriter); ok {
		sw.auth = a
	}
	return err
}

func (s *Server) checkAuth(r *http.Request, body []byte) error {
	reason := "no AK/SK signature or token"
	if tok := r.Header.Get(headerAuthToken); tok != "" && s.opts.Token != "" {
		if subtle.ConstantTimeCompare([]byte(tok), []byte(s.opts.Token)) == 1 {
			return nil
		}
		reason = "verify token fail"
	}
	if r.Header.Get(signer.HeaderAuthorization) == "" || s.verifier == nil {
		return &authError{reason: reason}
	}
	if err := s.verifier.Verify(r, body); err != nil {
		return &authError{"verify aksk signature fail: " + err.Error(), err} // signer's errors carry no secret
	}
	return nil
}

// checkAdmin reads the body of an admin request; on a fake with
// credentials, unless the request comes from loopback (the test's own
// machine, where curl and tests reach the fake without signing), checks
// them over it; then takes the body for JSON.
func (s *Server) checkAdmin(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(w, r, MaxAdminBody)
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return &LimitError{Limit: "MaxAdminBody", What: "the request body, in bytes", Max: MaxAdminBody, Want: max(r.ContentLength, 0)}
	} else if err != nil {
		return badRequest(err)
	}
	ap, _ := netip.ParseAddrPort(r.RemoteAddr) // none when a test calls the Handler
	if (s.verifier != nil || s.opts.Token != "") && r.RemoteAddr != "" && !ap.Addr().Unmap().IsLoopback() {
		if err := s.checkAuth(r, body); err != nil {
			return &httpError{http.StatusForbidden, "111403003", "the admin API of a fake with credentials requires them too (an AK/SK signature or X-Auth-Token): " + err.Error(), err}
		}
	}
	if len(body) == 0 {
		return nil
	}
	// No Content-Type, or curl -d's, is JSON too: the validator and the
	// generated handlers are told so.
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" && mt != "application/x-www-form-urlencoded" {
			return &httpError{http.StatusUnsupportedMediaType, "111415001", fmt.Sprintf("Content-Type %q: send JSON, as application/json", truncate(ct, 100)), nil}
		}
	}
	r.Header.Set("Content-Type", "application/json")
	if err := json.Unmarshal(body, new(json.RawMessage)); err != nil {
		return badRequest(fmt.Errorf("the request body is not JSON: %w", err))
	}
	return nil
}

// observe gives every answer an X-Request-Id, logs one line per request,
// journals it, and turns a panic into a 500 answer, so that the server
// keeps serving.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start, id := time.Now(), newRequestID()
		w.Header().Set(headerRequestID, id)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v != nil && v != http.ErrAbortHandler {
				// A `dcskit serve` user reads this: the stack only at Debug.
				s.log.Error("panic", "request_id", id, "panic", v)
				s.log.Debug("panic stack", "request_id", id, "stack", string(debug.Stack()))
				if v = http.ErrAbortHandler; sw.status == 0 { // else too late for an answer
					s.writeError(sw, r, errInternal)
					v = nil
				}
			}
			if s.log.Enabled(r.Context(), slog.LevelInfo) { // the line costs more than a query
				attrs := []slog.Attr{slog.String("request_id", id), slog.String("method", r.Method),
					slog.String("path", r.URL.EscapedPath()), slog.Int("status", sw.status), slog.Duration("duration", time.Since(start))}
				if v != nil {
					attrs = append(attrs, slog.Bool("dropped", true))
				}
				if sw.err != nil {
					attrs = append(attrs, slog.String("error", sw.err.Error()))
				}
				s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
			}
			s.record(r, sw, id, start)
			if v != nil {
				panic(v)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// statusWriter remembers the status of the answer, and what the checks
// made of the request, for the log and the journal.
type statusWriter struct {
	http.ResponseWriter
	status int
	err    error  // the error answered
	code   string // its error_code
	auth   Auth
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = cmp.Or(w.status, status)
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.status = cmp.Or(w.status, http.StatusOK)
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// newRequestID makes 128 random bits in hex. They name a request in logs
// and protect nothing: the runtime's generator serves.
func newRequestID() string {
	return hex.EncodeToString(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, rand.Uint64()), rand.Uint64()))
}

// LimitError is a request that would take the fake past one of its
// limits. Nothing of it is applied.
type LimitError struct {
	Limit string // the constant or option, such as "MaxInstances"
	What  string // what is limited, such as "the instances in the store"
	Max   int64
	Want  int64 // what the request would need; 0 if not known
}

func (e *LimitError) Error() string {
	if e.Want > 0 {
		return fmt.Sprintf("limit %s exceeded: %s would be %d, at most %d", e.Limit, e.What, e.Want, e.Max)
	}
	return fmt.Sprintf("limit %s exceeded: %s: at most %d", e.Limit, e.What, e.Max)
}

// httpError is an answer that the HTTP layer decides: its status,
// error_code ("111", the status, a number) and error_msg.
type httpError struct {
	status    int
	code, msg string
	err       error // the cause, if any
}

func (e *httpError) Error() string { return e.msg }
func (e *httpError) Unwrap() error { return e.err }

var (
	errNoSuchURL    = &httpError{http.StatusNotFound, "111404001", "the URL does not exist", nil}
	errMethod       = &httpError{http.StatusMethodNotAllowed, "111405001", "method not allowed", nil}
	errBadProjectID = &httpError{http.StatusBadRequest, "111400002", "invalid project ID format: project_id must be " + dcs.ProjectIDRule, nil}
	errInternal     = &httpError{http.StatusInternalServerError, "111500000", "internal service error", nil}
)

// badRequest is a request that the spec, the generated binding or a
// check of the fake refuses.
func badRequest(err error) error {
	return &httpError{http.StatusBadRequest, "111400063", "invalid parameter in the request: " + err.Error(), err}
}

// authError is a request that fails authentication, which the API
// gateway answers. Its reason never carries a secret.
type authError struct {
	reason string
	err    error // the signer's verdict, if any
}

func (e *authError) Error() string { return e.reason }
func (e *authError) Unwrap() error { return e.err }

// answer is the one place where an error becomes an HTTP status, an error
// code and a message.
func answer(err error) (status int, code, msg string) {
	if e, ok := errors.AsType[*httpError](err); ok {
		return e.status, e.code, e.msg
	}
	if e, ok := errors.AsType[*authError](err); ok {
		return http.StatusUnauthorized, "APIGW.0301", "Incorrect IAM authentication information: " + e.reason
	}
	_, invalid := errors.AsType[*InvalidError](err)
	_, limit := errors.AsType[*LimitError](err)
	switch {
	case limit:
		return http.StatusRequestEntityTooLarge, "111413001", err.Error()
	case errors.Is(err, ErrExists):
		return http.StatusConflict, "111409001", err.Error()
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, "111404002", err.Error()
	case invalid:
		return http.StatusBadRequest, "111400063", err.Error()
	}
	return answer(errInternal)
}

// writeError answers with err as the spec's error body: the gateway's for
// 401, DCS's ErrorResponse for the rest, with IAM's code, "IAM.0" and the
// status, on a path of iam.yaml.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg := answer(err)
	if status != http.StatusUnauthorized && strings.HasPrefix(r.URL.Path, "/v3/") && specs().IAM.Paths.Value(r.URL.Path) != nil {
		code = fmt.Sprintf("IAM.%04d", status)
	}
	if sw, ok := w.(*statusWriter); ok {
		sw.err, sw.code = err, code
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(errorBody(status, code, msg, w.Header().Get(headerRequestID)))
}

func errorBody(status int, code, msg, requestID string) []byte {
	var body any = gen.ErrorResponse{ErrorCode: code, ErrorMsg: truncate(msg, 1024)}
	if status == http.StatusUnauthorized {
		body = gen.GatewayErrorResponse{ErrorCode: code, ErrorMsg: truncate(msg, 1024), RequestId: requestID}
	}
	data, _ := json.Marshal(body) // our own bodies always marshal
	return data
}

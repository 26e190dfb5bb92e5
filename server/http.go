package server

import (
	"bytes"
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
	"github.com/dcskit/dcskit/gen/admin"
	"github.com/dcskit/dcskit/gen/dcsserver"
	"github.com/dcskit/dcskit/gen/iamserver"
	"github.com/dcskit/dcskit/openapi"
	"github.com/dcskit/dcskit/signer"
)

const (
	headerRequestID = "X-Request-Id"
	headerAuthToken = "X-Auth-Token"
	// adminPrefix is where the admin API lives, out of reach of faults.
	adminPrefix = "/_fake/"
	// maxSignedBody bounds what authentication reads to hash a body.
	maxSignedBody = 1 << 20
)

// parsed is what the fake takes from the documents, once per process.
type parsed struct {
	dcs, admin, iam *openapi3.T
	// routers find a request's operation for the validator, on copies of
	// the documents that match any host and leave credentials to the fake.
	dcsRouter, adminRouter, iamRouter routers.Router
}

var loadSpecs = sync.OnceValues(func() (*parsed, error) {
	docs, err := openapi.Load()
	if err != nil {
		return nil, err
	}
	p := &parsed{dcs: docs.DCS, admin: docs.Admin, iam: docs.IAM}
	for doc, r := range map[*openapi3.T]*routers.Router{docs.DCS: &p.dcsRouter, docs.Admin: &p.adminRouter, docs.IAM: &p.iamRouter} {
		anyHost := *doc // shared: route on a shallow copy
		anyHost.Servers, anyHost.Security = nil, nil
		if *r, err = legacy.NewRouter(&anyHost); err != nil {
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

// newMux registers the generated routes of the three documents, their
// errors written by writeError.
func newMux(h handlers) *http.ServeMux {
	mux := http.NewServeMux()
	bad := func(w http.ResponseWriter, r *http.Request, err error) { h.s.writeError(w, r, badRequest(err)) }
	dcsserver.HandlerWithOptions(dcsserver.NewStrictHandlerWithOptions(h, nil,
		dcsserver.StrictHTTPServerOptions{RequestErrorHandlerFunc: bad, ResponseErrorHandlerFunc: h.s.writeError}),
		dcsserver.StdHTTPServerOptions{BaseRouter: mux, ErrorHandlerFunc: bad})
	admin.HandlerWithOptions(admin.NewStrictHandlerWithOptions(h, nil,
		admin.StrictHTTPServerOptions{RequestErrorHandlerFunc: bad, ResponseErrorHandlerFunc: h.s.writeError}),
		admin.StdHTTPServerOptions{BaseRouter: mux, ErrorHandlerFunc: bad})
	iamserver.HandlerWithOptions(iamserver.NewStrictHandlerWithOptions(h, []iamserver.StrictMiddlewareFunc{withRequestURL},
		iamserver.StrictHTTPServerOptions{RequestErrorHandlerFunc: bad, ResponseErrorHandlerFunc: h.s.writeError}),
		iamserver.StdHTTPServerOptions{BaseRouter: mux, ErrorHandlerFunc: bad})
	return mux
}

// route checks a request as its API demands, then serves it; what the
// spec does not route is a JSON 404 or 405 before any check, as from a
// gateway that knows no such API.
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
	router := specs().dcsRouter
	switch {
	case strings.HasPrefix(route, adminPrefix):
		router = specs().adminRouter
		if route != adminPrefix+"healthz" { // open to all: liveness probes carry no credentials
			select {
			case s.adminSlots <- struct{}{}:
				defer func() { <-s.adminSlots }()
			case <-r.Context().Done():
				return // the client has gone
			}
			err = s.checkAdmin(w, r)
		}
	case strings.HasPrefix(route, "/v3/"):
		router = specs().iamRouter
		err = s.authenticate(w, r)
	default:
		// ServeMux matched the escaped path segment by segment: the id is
		// the third, as sent, %2F or %00 still showing.
		projectID := pathSegment(r.URL.EscapedPath(), 2)
		if s.fault(w, r, projectID) {
			return
		}
		if err = s.authenticate(w, r); err == nil && !dcs.ValidProjectID(projectID) {
			err = errBadProjectID
		}
	}
	if err == nil && !s.opts.DisableValidation {
		var route *routers.Route
		var params map[string]string
		if route, params, err = router.FindRoute(r); err == nil {
			err = openapi3filter.ValidateRequest(r.Context(), &openapi3filter.RequestValidationInput{
				Request: r, PathParams: params, Route: route, Options: validateOptions,
			})
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
// methods the spec declares for r's path (ServeMux's would add HEAD).
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

// pathSegment is strings.Split(p, "/")[i], or "" if there is none.
func pathSegment(p string, i int) string {
	for ; i > 0; i-- {
		_, p, _ = strings.Cut(p, "/")
	}
	seg, _, _ := strings.Cut(p, "/")
	return seg
}

// authenticate lets a request through if it proves one of the configured
// identities, and tells the journal what it made of them. With none
// configured it checks nothing.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) error {
	if s.verifier == nil && s.opts.Token == "" {
		return nil
	}
	err := s.checkAuth(w, r)
	a := Auth{Result: AuthOK}
	if err != nil {
		a = Auth{Result: AuthRejected, Reason: err.Error()}
		if me, ok := errors.AsType[*signer.MismatchError](err); ok {
			a.CanonicalRequest, a.StringToSign = clip(me.CanonicalRequest, maxJournalCanonical), me.StringToSign
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

func (s *Server) checkAuth(w http.ResponseWriter, r *http.Request) error {
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
	var body []byte
	if b, ok := r.Body.(*adminBody); ok {
		body = b.data // read under the admin API's own limit
	} else if r.Body != nil && r.Body != http.NoBody {
		var err error
		if body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, maxSignedBody)); err != nil {
			return badRequest(err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	if err := s.verifier.Verify(r, body); err != nil {
		return &authError{"verify aksk signature fail: " + err.Error(), err} // signer's errors carry no secret
	}
	return nil
}

// checkAdmin reads the body of an admin request, at most MaxAdminBody;
// on a fake with credentials, unless the request comes from loopback (the
// test's own machine, where curl and tests reach the fake without
// signing), checks them over it; then takes the body for JSON.
func (s *Server) checkAdmin(w http.ResponseWriter, r *http.Request) error {
	if r.Body != nil && r.Body != http.NoBody {
		tooLarge := &LimitError{Limit: "MaxAdminBody", What: "the request body, in bytes", Max: MaxAdminBody}
		if r.ContentLength > MaxAdminBody {
			tooLarge.Want = r.ContentLength
			return tooLarge
		}
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxAdminBody))
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return tooLarge
		} else if err != nil {
			return badRequest(err)
		}
		r.Body = &adminBody{bytes.NewReader(data), data}
	}
	if (s.verifier != nil || s.opts.Token != "") && !fromLoopback(r) {
		if err := s.checkAuth(w, r); err != nil {
			return &httpError{http.StatusForbidden, "111403003", "the admin API of a fake with credentials requires them too (an AK/SK signature or X-Auth-Token): " + err.Error(), err}
		}
	}
	b, ok := r.Body.(*adminBody)
	if !ok || len(b.data) == 0 {
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
	if err := json.Unmarshal(b.data, new(json.RawMessage)); err != nil {
		return badRequest(fmt.Errorf("the request body is not JSON: %w", err))
	}
	return nil
}

// adminBody is an admin request's body, read already.
type adminBody struct {
	*bytes.Reader
	data []byte
}

func (*adminBody) Close() error { return nil }

// fromLoopback reports whether r came from this machine: a loopback
// address, or none, as for a request that a test hands to the Handler.
func fromLoopback(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return r.RemoteAddr == "" || err == nil && ap.Addr().Unmap().IsLoopback()
}

// observe gives every answer an X-Request-Id, logs one line per request,
// journals it, and turns a panic into a 500 answer, so that the server
// keeps serving.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		w.Header().Set(headerRequestID, id)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v != nil && v != http.ErrAbortHandler {
				// A `dcskit serve` user reads this: the stack only at Debug.
				s.log.Error("panic", "request_id", id, "panic", v)
				s.log.Debug("panic stack", "request_id", id, "stack", string(debug.Stack()))
				if sw.status == 0 {
					s.writeError(sw, r, errInternal)
					v = nil
				} else {
					v = http.ErrAbortHandler // too late for an error answer
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
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// newRequestID makes 128 random bits in hex. They name a request in logs
// and protect nothing: the runtime's generator serves.
func newRequestID() string {
	return hex.EncodeToString(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, rand.Uint64()), rand.Uint64()))
}

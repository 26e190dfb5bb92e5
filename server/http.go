package server

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"path"
	"runtime/debug"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"
)

const headerRequestID = "X-Request-Id"

// adminPrefix is where the admin API lives, out of reach of auth and faults.
const adminPrefix = "/_fake/"

type middleware func(http.Handler) http.Handler

// chain applies mws so that the first one sees the request first.
func chain(mws ...middleware) middleware {
	return func(h http.Handler) http.Handler {
		for i := len(mws) - 1; i >= 0; i-- {
			h = mws[i](h)
		}
		return h
	}
}

// wrapMux registers each generated route with mw around it, so that mw
// runs after routing (r.PathValue works, unknown URLs never reach it) and
// before the generated parameter binding.
type wrapMux struct {
	*http.ServeMux
	mw middleware
}

func (m wrapMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, m.mw(http.HandlerFunc(h)))
}

// route serves mux's routes and answers everything else with JSON.
func (s *Server) route(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" && isClean(r.URL.EscapedPath()) {
			mux.ServeHTTP(w, r)
			return
		}
		// ServeMux would answer in plain text, or redirect to a cleaned
		// path. Keep its verdict (404 or 405 with Allow), not its words.
		probe := &statusWriter{ResponseWriter: discard{http.Header{}}}
		mux.ServeHTTP(probe, r)
		if probe.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", probe.Header().Get("Allow"))
			s.writeError(w, r, errMethod)
			return
		}
		s.writeError(w, r, errNoSuchURL)
	})
}

// isClean reports whether ServeMux would take p as it is, without
// redirecting to a cleaned path.
func isClean(p string) bool {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

// discard is a ResponseWriter that keeps only the header.
type discard struct{ header http.Header }

func (d discard) Header() http.Header       { return d.header }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

// checkProjectID applies the project_id rule to the path as sent: after
// ServeMux's unescaping, %2F or %00 would no longer show.
func (s *Server) checkProjectID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// ServeMux matched /v2/{project_id}/... segment by segment on the
		// escaped path, so the id is its third segment.
		if !validProjectID(pathSegment(r.URL.EscapedPath(), 2)) {
			s.writeError(w, r, errBadProjectID)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// pathSegment is strings.Split(p, "/")[i], or "" if there is none,
// without the slice.
func pathSegment(p string, i int) string {
	for ; i > 0; i-- {
		_, rest, ok := strings.Cut(p, "/")
		if !ok {
			return ""
		}
		p = rest
	}
	seg, _, _ := strings.Cut(p, "/")
	return seg
}

// validator checks requests against doc, unless validation is disabled.
func (s *Server) validator(doc *openapi3.T) (middleware, error) {
	doc.Servers = nil // match whatever host the fake listens on
	// authenticate is the one judge of credentials. kin-openapi would only
	// call a no-op for each scheme, after reading the body into memory.
	doc.Security = nil
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			op.Security = nil
		}
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("server: %s: %w", doc.Info.Title, err)
	}
	opts := &openapi3filter.Options{
		SkipSettingDefaults: true,
	}
	opts.WithCustomSchemaErrorFunc(func(e *openapi3.SchemaError) string {
		return "/" + strings.Join(e.JSONPointer(), "/") + ": " + e.Reason
	})
	return func(next http.Handler) http.Handler {
		if s.opts.DisableValidation {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			route, params, err := router.FindRoute(r)
			if err == nil {
				err = openapi3filter.ValidateRequest(r.Context(), &openapi3filter.RequestValidationInput{
					Request: r, PathParams: params, Route: route, Options: opts,
				})
			}
			if err != nil {
				s.writeError(w, r, &requestError{err})
				return
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

// observe gives every response an X-Request-Id, logs one line per request
// and turns a panic into a 500 answer, so that the server keeps serving.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		w.Header().Set(headerRequestID, id)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v != nil && v != http.ErrAbortHandler {
				s.log.Error("panic", "request_id", id, "panic", v, "stack", string(debug.Stack()))
				if sw.status == 0 {
					s.writeError(sw, r, errInternal)
					v = nil
				} else {
					v = http.ErrAbortHandler // too late for an error answer
				}
			}
			// Building the line costs more than the rest of a query: skip
			// it when nobody reads it.
			if s.log.Enabled(r.Context(), slog.LevelInfo) {
				attrs := []slog.Attr{
					slog.String("request_id", id),
					slog.String("method", r.Method),
					slog.String("path", r.URL.EscapedPath()),
					slog.Int("status", sw.status),
					slog.Duration("duration", time.Since(start)),
				}
				if v != nil {
					attrs = append(attrs, slog.Bool("dropped", true))
				}
				if sw.err != nil {
					attrs = append(attrs, slog.String("error", sw.err.Error()))
				}
				s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
			}
			if v != nil {
				panic(v)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// statusWriter remembers the status of the answer.
// It also carries the error answered, if any, for the log line: a
// ResponseWriter reaches every handler that answers, where a context
// value would cost a copy of the request.
type statusWriter struct {
	http.ResponseWriter
	status int
	err    error
}

// noteError records err on the statusWriter under w, if there is one.
func noteError(w http.ResponseWriter, err error) {
	for {
		switch x := w.(type) {
		case *statusWriter:
			x.err = err
			return
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return
		}
	}
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
// and support tickets and protect nothing, so the runtime's fast
// generator (ChaCha8, seeded by the OS) serves, not crypto/rand.
func newRequestID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	return hex.EncodeToString(b[:])
}

package server

import (
	"encoding/binary"
	"encoding/hex"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"path"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/dcskit/dcskit/dcs"
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
// before the generated parameter binding. It remembers the methods of the
// patterns registered: the methods the spec declares.
type wrapMux struct {
	*http.ServeMux
	mw      middleware
	methods *[]string
}

func newWrapMux(mw middleware) wrapMux {
	return wrapMux{http.NewServeMux(), mw, new([]string)}
}

func (m wrapMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	if method, _, ok := strings.Cut(pattern, " "); ok && !slices.Contains(*m.methods, method) {
		*m.methods = append(*m.methods, method)
	}
	m.Handle(pattern, m.mw(http.HandlerFunc(h)))
}

// route serves mux's routes and answers everything else with JSON.
func (s *Server) route(mux wrapMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pattern := mux.Handler(r)
		if pattern != "" && isClean(r.URL.EscapedPath()) {
			// ServeMux lets a GET pattern serve HEAD too, which the spec
			// does not declare: serve only the pattern's own method.
			if method, _, ok := strings.Cut(pattern, " "); !ok || method == r.Method {
				mux.ServeHTTP(w, r)
				return
			}
			s.notAllowed(w, r, mux)
			return
		}
		// ServeMux would answer in plain text, or redirect to a cleaned
		// path. Keep its verdict (404 or 405), not its words.
		probe := &statusWriter{ResponseWriter: discard{http.Header{}}}
		mux.ServeHTTP(probe, r)
		if probe.status == http.StatusMethodNotAllowed {
			s.notAllowed(w, r, mux)
			return
		}
		s.writeError(w, r, errNoSuchURL)
	})
}

// notAllowed answers 405 with an Allow header that lists the methods the
// spec declares for r's path. ServeMux's own Allow would add HEAD to GET.
func (s *Server) notAllowed(w http.ResponseWriter, r *http.Request, mux wrapMux) {
	var allow []string
	for _, m := range *mux.methods {
		probe := *r
		probe.Method = m
		if _, pattern := mux.Handler(&probe); strings.HasPrefix(pattern, m+" ") {
			allow = append(allow, m)
		}
	}
	slices.Sort(allow)
	w.Header().Set("Allow", strings.Join(allow, ", "))
	s.writeError(w, r, errMethod)
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
		if !dcs.ValidProjectID(pathSegment(r.URL.EscapedPath(), 2)) {
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

// observe gives every response an X-Request-Id, logs one line per request,
// journals it, and turns a panic into a 500 answer, so that the server
// keeps serving.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// One allocation for the writer and the header's value.
		st := &struct {
			sw statusWriter
			id [1]string
		}{sw: statusWriter{ResponseWriter: w}, id: [1]string{newRequestID()}}
		id, sw := st.id[0], &st.sw
		w.Header()[headerRequestID] = st.id[:] // the canonical form of the name
		defer func() {
			v := recover()
			if v != nil && v != http.ErrAbortHandler {
				// The log is what a `dcskit serve` user reads: the stack
				// only at Debug level.
				s.log.Error("panic", "request_id", id, "panic", v)
				if s.log.Enabled(r.Context(), slog.LevelDebug) {
					s.log.Debug("panic stack", "request_id", id, "stack", string(debug.Stack()))
				}
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
			s.journal.record(r, sw, id, start)
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
	note   journalNote
}

// noteError records err on the statusWriter under w, if there is one.
func noteError(w http.ResponseWriter, err error) {
	if sw := statusWriterOf(w); sw != nil {
		sw.err = err
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
	w.noteErrorCode(b)
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

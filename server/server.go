package server

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/internal/httpserve"
	"github.com/dcskit/dcskit/signer"
)

// Options configure a Server. The zero value is a fake that checks no
// credentials and validates every request. The fields map one to one onto
// the flags of `dcskit serve`.
type Options struct {
	// AccessKey and SecretKey, both set, require AK/SK signatures.
	AccessKey, SecretKey string
	// Token, set, requires X-Auth-Token to equal it. With AK/SK also set,
	// either proof is accepted.
	Token string
	// DisableValidation turns off checking requests against the spec.
	DisableValidation bool
	// Logger gets one line per request; nil discards them.
	Logger *slog.Logger `json:"-"`
	// Now is the clock for signature skew; nil means time.Now.
	Now func() time.Time `json:"-"`
	// Clock is the time of scheduled status changes (Instance.Becomes);
	// nil means the system's. It is apart from Now so that a test can move
	// it hours ahead (a ManualClock) while clients sign with the real time.
	Clock interface{ Now() time.Time } `json:"-"`
	// Projects is the project table that the fake's IAM starts with
	// (SetProjects replaces it, Reset restores it).
	Projects []Project
	// JournalSize is how many requests the request journal keeps, the
	// oldest let go first: 0 means DefaultJournalSize, a negative value
	// keeps none; at most MaxJournalSize.
	JournalSize int
	// MaxInstances is how many instances the fake holds at most; 0 means
	// DefaultMaxInstances.
	MaxInstances int
}

// redacted is o without its secrets, in a type that has no methods, so
// that fmt, encoding/json and log/slog print its fields as they are.
func (o Options) redacted() any {
	type options Options
	r := options(o)
	for _, secret := range []*string{&r.SecretKey, &r.Token} {
		if *secret != "" {
			*secret = "REDACTED"
		}
	}
	return r
}

// Format prints the options, the secret key and token redacted, for
// every verb.
func (o Options) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, fmt.FormatString(f, verb), o.redacted())
}

// MarshalJSON writes the options, secrets redacted, funcs left out.
func (o Options) MarshalJSON() ([]byte, error) { return json.Marshal(o.redacted()) }

// LogValue implements slog.LogValuer, with secrets redacted.
func (o Options) LogValue() slog.Value { return slog.AnyValue(o.redacted()) }

// Server is a fake of the DCS instance status API, with IAM's project
// listings and an admin API under /_fake/. It is safe for concurrent use.
type Server struct {
	opts     Options
	log      *slog.Logger
	verifier *signer.Verifier
	store    store
	journal  journal
	mux      *http.ServeMux // the generated routes
	handler  http.Handler
	// adminSlots holds a token per admin request served.
	adminSlots chan struct{}
	maxFixture int // MaxFixtureSize; tests lower it

	mu   sync.Mutex
	http *http.Server
	url  string
}

// New returns a Server that is not listening yet: use Handler, or Start.
func New(opts Options) (*Server, error) {
	if (opts.AccessKey == "") != (opts.SecretKey == "") {
		return nil, errors.New("AccessKey and SecretKey must be set together")
	}
	if opts.MaxInstances < 0 {
		return nil, fmt.Errorf("MaxInstances %d is negative", opts.MaxInstances)
	}
	if opts.JournalSize > MaxJournalSize {
		return nil, fmt.Errorf("JournalSize %d is over the limit of %d", opts.JournalSize, MaxJournalSize)
	}
	if err := checkProjects(opts.Projects, "Projects"); err != nil {
		return nil, err
	}
	if _, err := loadSpecs(); err != nil {
		return nil, err
	}
	s := &Server{opts: opts, log: cmp.Or(opts.Logger, slog.New(slog.DiscardHandler)), adminSlots: make(chan struct{}, MaxAdminInFlight), maxFixture: MaxFixtureSize,
		store:   store{now: time.Now, max: cmp.Or(opts.MaxInstances, DefaultMaxInstances), maxChanges: MaxScheduledChanges, initial: opts.Projects, data: newData(opts.Projects)},
		journal: journal{size: max(cmp.Or(opts.JournalSize, DefaultJournalSize), 0)}}
	if opts.Clock != nil {
		s.store.now = opts.Clock.Now
	}
	if opts.AccessKey != "" {
		s.verifier = &signer.Verifier{
			SecretKey: func(ak string) (string, bool) { return opts.SecretKey, ak == opts.AccessKey },
			Now:       opts.Now,
		}
	}
	s.mux = newMux(handlers{s})
	s.handler = s.observe(http.HandlerFunc(s.route))
	return s, nil
}

// Handler serves the DCS API, IAM's project listings and the admin API.
func (s *Server) Handler() http.Handler { return s.handler }

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves in
// the background until Shutdown, with the timeouts of package httpserve
// (its WriteTimeout also bounds Fault.Delay).
func (s *Server) Start(addr string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.http != nil {
		return errors.New("server: already started")
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	srv := httpserve.New(s.handler, s.log)
	s.http, s.url = srv, "http://"+l.Addr().String()
	go func() {
		if err := srv.Serve(s.Listener(l)); !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve", "error", err)
		}
	}()
	return nil
}

// URL is the base URL once started, such as http://127.0.0.1:40123; ""
// before.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// Shutdown stops accepting connections and waits for requests in flight
// until ctx is done; then it closes the connections left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	srv := s.http
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	if err := srv.Shutdown(ctx); err != nil {
		_ = srv.Close()
		return err
	}
	return nil
}

// Add adds instances, all or none, filling in an empty ID or Name, and
// returns them as added. An instance's Becomes is scheduled from now on
// Options.Clock. A bad instance is an *InvalidError; an ID in use wraps
// ErrExists; going past a limit (Options.MaxInstances,
// MaxScheduledChanges) is a *LimitError.
func (s *Server) Add(insts ...Instance) ([]Instance, error) {
	groups := make([]group, len(insts))
	for i, in := range insts {
		groups[i] = group{in, 1}
	}
	return s.store.add(groups, nil)
}

// SetStatus changes the status of instance id, cancelling any pending
// change.
func (s *Server) SetStatus(id string, st dcs.Status) error {
	_, _, err := s.store.update(Filter{}, id, &st, nil)
	return err
}

// Schedule gives instance id the pending change t, replacing any it had;
// t.After counts from now on Options.Clock. A bad t is an *InvalidError.
func (s *Server) Schedule(id string, t Transition) error {
	_, _, err := s.store.update(Filter{}, id, nil, &t)
	return err
}

// UpdateMatching changes every instance that f matches, and returns how
// many it matched: as SetStatus does with status, if set, then as
// Schedule does with becomes, if set, one chain for all of them, counted
// once against MaxScheduledChanges.
func (s *Server) UpdateMatching(f Filter, status *dcs.Status, becomes *Transition) (int, error) {
	n, _, err := s.store.update(f, "", status, becomes)
	return n, err
}

// Remove removes instance id, and any change pending for it.
func (s *Server) Remove(id string) error { return s.store.remove(id) }

// Reset removes every instance, with its pending changes, and every
// pending fault, and puts back the project table of Options.Projects.
func (s *Server) Reset() {
	s.store.reset()
}

// Instances lists projectID's instances, or all instances for "", in the
// order they were added. An instance's Becomes says what change is
// pending and how long until it is made.
func (s *Server) Instances(projectID string) []Instance {
	out, _ := s.store.page(projectID, 0, -1)
	return out
}

// Counts is what the API answers for projectID. CREATEFAILED instances
// count only if includeFailure.
func (s *Server) Counts(projectID string, includeFailure bool) dcs.Counts {
	return s.store.query(projectID, includeFailure)
}

// Listener wraps ln for serving the fake: the few answers that net/http
// gives by itself, before any handler runs (400 for a request it cannot
// parse, 431, 501, 505, and 417 for an Expect other than 100-continue),
// go out as the fake's JSON errors with an X-Request-Id, like every other
// answer. Start uses it; so does `dcskit serve`.
func (s *Server) Listener(ln net.Listener) net.Listener { return listener{ln, s} }

type listener struct {
	net.Listener
	s *Server
}

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return conn{c, l.s}, nil
}

// conn catches net/http's own answers, which it writes straight to the
// connection in one Write, and offers no hook for.
type conn struct {
	net.Conn
	s *Server
}

// plainHeaders follow the status line of net/http's plain-text answers;
// a handler's answer carries the fake's own headers, Content-Type first.
// Its 417, the only one with Connection first, has no text.
const plainHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

func (c conn) Write(b []byte) (int, error) {
	status, _ := strconv.Atoi(string(b[min(9, len(b)):min(12, len(b))]))
	line, text, plain := bytes.Cut(b, []byte(plainHeaders))
	plain = plain && !bytes.Contains(line, []byte("\r\n"))
	if bytes.HasPrefix(b[min(12, len(b)):], []byte(" Expectation Failed\r\nConnection: close\r\n")) {
		text, plain = []byte("417 Expectation Failed: only the expectation 100-continue is supported"), true
	}
	if status < 400 || !plain || !bytes.HasPrefix(b, []byte("HTTP/1.")) {
		return c.Conn.Write(b)
	}
	id, code := newRequestID(), fmt.Sprintf("111%03d000", status)
	if status == http.StatusBadRequest {
		code = "111400063"
	}
	msg := "request rejected by the HTTP server: " + string(text)
	c.s.log.Warn("request rejected before routing", "request_id", id, "status", status, "error", msg)
	body := errorBody(status, code, msg, id)
	if _, err := fmt.Fprintf(c.Conn, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nX-Request-Id: %s\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s",
		status, http.StatusText(status), id, len(body), body); err != nil {
		return 0, err
	}
	return len(b), nil
}

// CloseWrite keeps net/http's lingering close after a 431 working, so
// that a client still sending its request reads the answer.
func (c conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// ManualClock is a clock for Options.Clock that moves only when Advance
// moves it, so that a test moves scheduled changes instead of sleeping.
// It is safe for concurrent use.
type ManualClock struct {
	start   time.Time
	elapsed atomic.Int64
}

// NewManualClock returns a ManualClock that reads start until advanced.
func NewManualClock(start time.Time) *ManualClock { return &ManualClock{start: start} }

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time { return c.start.Add(time.Duration(c.elapsed.Load())) }

// Advance moves the clock d forward.
func (c *ManualClock) Advance(d time.Duration) { c.elapsed.Add(int64(d)) }

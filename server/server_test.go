package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/server"
)

func TestCounting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query          string
		includeFailure bool
	}{
		{"?include_failure=true", true},
		{"", false},
		{"?include_failure=false", false},
		{"?include_failure=TRUE", false},
		{"?include_failure=1", false},
		{"?include_failure=", false},
		{"?include_failure=true%20", false},
		{"?other=x", false},
	}
	for _, m := range modes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.query, func(t *testing.T) {
				t.Parallel()
				f := m.start(t, server.Options{})
				loadFixture(t, f.Server)
				got := f.counts(t, fixtureProject, tt.query)
				want := fixtureCounts()
				if !tt.includeFailure {
					want = withoutFailed(want)
				}
				assert.Equal(t, want, got)
				assert.Equal(t, want, f.Counts(fixtureProject, tt.includeFailure), "Go and HTTP agree")
			})
		}
	}
}

func TestEveryCounterAddsUp(t *testing.T) {
	t.Parallel()
	s, err := server.New(server.Options{})
	require.NoError(t, err)
	// Instance k of each status i: Redis gets i+1, Memcached 2*(i+1).
	for i, st := range dcs.Statuses() {
		for range i + 1 {
			_, err := s.Add(server.Instance{ProjectID: "p", Engine: dcs.Redis, Status: st})
			require.NoError(t, err)
		}
		for range 2 * (i + 1) {
			_, err := s.Add(server.Instance{ProjectID: "p", Engine: dcs.Memcached, Status: st})
			require.NoError(t, err)
		}
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			f := m.start(t, server.Options{})
			_, err := f.Add(s.Instances("")...)
			require.NoError(t, err)
			got := f.counts(t, "p", "?include_failure=true")
			for i, st := range dcs.Statuses() {
				assert.Equal(t, int32(i+1), got.Redis[i], st)
				assert.Equal(t, int32(2*(i+1)), got.Memcached[i], st)
				assert.Equal(t, got.Redis[i]+got.Memcached[i], got.Total[i], st)
			}
			assert.Equal(t, dcs.Counts{}, f.counts(t, "empty", ""), "a project with no instances")
		})
	}
}

func TestEmptyAnswerCarriesEveryCounter(t *testing.T) {
	t.Parallel()
	f := startListener(t, server.Options{})
	r := f.call(t, http.MethodGet, statusPath("nobody"), "")
	require.Equal(t, http.StatusOK, r.status)
	for _, st := range dcs.Statuses() {
		assert.Equal(t, 3, strings.Count(string(r.body), `"`+st.Counter()+`":0`), st.Counter())
	}
}

func TestCountsFollowChanges(t *testing.T) {
	t.Parallel()
	f := startListener(t, server.Options{})
	added, err := f.Add(
		server.Instance{ProjectID: "p", Engine: dcs.Redis, Status: dcs.Creating},
		server.Instance{ProjectID: "p", ID: "mine", Name: "named", Engine: dcs.Memcached, Status: dcs.Running},
	)
	require.NoError(t, err)
	require.Len(t, added, 2)
	assert.NotEmpty(t, added[0].ID)
	assert.NotEmpty(t, added[0].Name)
	assert.Equal(t, "mine", added[1].ID)
	assert.Equal(t, "named", added[1].Name)

	running, creating := dcs.Running.Index(), dcs.Creating.Index()
	c := f.counts(t, "p", "")
	assert.Equal(t, int32(1), c.Redis[creating])
	assert.Equal(t, int32(1), c.Memcached[running])

	require.NoError(t, f.SetStatus(added[0].ID, dcs.Running))
	c = f.counts(t, "p", "")
	assert.Equal(t, int32(0), c.Redis[creating])
	assert.Equal(t, int32(2), c.Total[running])

	require.NoError(t, f.Remove("mine"))
	assert.Equal(t, int32(1), f.counts(t, "p", "").Total[running])
	assert.ErrorIs(t, f.Remove("mine"), server.ErrNotFound)
	assert.ErrorIs(t, f.SetStatus("mine", dcs.Running), server.ErrNotFound)

	f.Reset()
	assert.Equal(t, dcs.Counts{}, f.counts(t, "p", ""))
	assert.Empty(t, f.Instances(""))
}

func TestAddRejects(t *testing.T) {
	t.Parallel()
	good := server.Instance{ProjectID: "p", Engine: dcs.Redis, Status: dcs.Running}
	tests := []struct {
		name  string
		bad   func(*server.Instance)
		field string
	}{
		{"no project", func(in *server.Instance) { in.ProjectID = "" }, "project_id"},
		{"bad project", func(in *server.Instance) { in.ProjectID = "a/b" }, "project_id"},
		{"engine", func(in *server.Instance) { in.Engine = "redis" }, "engine"},
		{"status", func(in *server.Instance) { in.Status = "running" }, "status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := server.New(server.Options{})
			require.NoError(t, err)
			bad := good
			tt.bad(&bad)
			_, err = s.Add(good, bad)
			var ie *server.InvalidError
			require.ErrorAs(t, err, &ie)
			assert.Equal(t, 1, ie.Index)
			assert.Equal(t, tt.field, ie.Field)
			assert.Empty(t, s.Instances(""), "all or nothing")
		})
	}
	t.Run("duplicate id", func(t *testing.T) {
		t.Parallel()
		s, err := server.New(server.Options{})
		require.NoError(t, err)
		in := good
		in.ID = "x"
		_, err = s.Add(in)
		require.NoError(t, err)
		_, err = s.Add(good, in)
		assert.ErrorIs(t, err, server.ErrExists)
		assert.Len(t, s.Instances(""), 1)
	})
	t.Run("status", func(t *testing.T) {
		t.Parallel()
		s, err := server.New(server.Options{})
		require.NoError(t, err)
		added, err := s.Add(good)
		require.NoError(t, err)
		var ie *server.InvalidError
		require.ErrorAs(t, s.SetStatus(added[0].ID, "NOPE"), &ie)
		assert.Contains(t, ie.Valid, "RUNNING")
	})
}

func TestNewRejectsHalfAKeyPair(t *testing.T) {
	t.Parallel()
	_, err := server.New(server.Options{AccessKey: "ak"})
	assert.Error(t, err)
	_, err = server.New(server.Options{SecretKey: "sk"})
	assert.Error(t, err)
}

func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, path string
		status             int
		code, allow        string
	}{
		{"unknown URL", http.MethodGet, "/v2/p/instances", 404, "111404001", ""},
		{"root", http.MethodGet, "/", 404, "111404001", ""},
		{"trailing slash", http.MethodGet, "/v2/p/instances/status/", 404, "111404001", ""},
		{"empty project id", http.MethodGet, "/v2//instances/status", 404, "111404001", ""},
		{"dot segment", http.MethodGet, "/v2/p/./instances/status", 404, "111404001", ""},
		{"unknown admin URL", http.MethodGet, "/_fake/nope", 404, "111404001", ""},
		{"POST", http.MethodPost, "/v2/p/instances/status", 405, "111405001", "GET"},
		{"DELETE", http.MethodDelete, "/v2/p/instances/status", 405, "111405001", "GET"},
		{"admin wrong method", http.MethodDelete, "/_fake/healthz", 405, "111405001", "GET"},
		{"admin PUT on an id", http.MethodPut, "/_fake/instances/x", 405, "111405001", "DELETE, PATCH"},
		{"repeated include_failure", http.MethodGet, "/v2/p/instances/status?include_failure=true&include_failure=true", 400, "111400063", ""},
	}
	for _, m := range modes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				f := m.start(t, server.Options{})
				r := f.call(t, tt.method, tt.path, "")
				assert.Equal(t, tt.status, r.status, "body: %s", r.body)
				assert.Equal(t, tt.code, r.error(t).Code)
				assert.Equal(t, tt.allow, r.header.Get("Allow"))
			})
		}
	}
}

// ServeMux lets a GET pattern serve HEAD, but the specs declare no HEAD:
// HEAD gets 405 and an Allow header that lists only the methods the spec
// declares for the path. Over the wire a HEAD answer has no body (net/http
// drops it), so there is nothing for the contract checker to check; as a
// bare handler the body is there, and checked.
func TestMethodsTheSpecDoesNotDeclare(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, path string
		status             int
		code, allow        string
	}{
		{"HEAD on the DCS API", http.MethodHead, statusPath("p"), 405, "111405001", "GET"},
		{"HEAD with a query", http.MethodHead, statusPath("p") + "?include_failure=true", 405, "111405001", "GET"},
		{"HEAD on healthz", http.MethodHead, "/_fake/healthz", 405, "111405001", "GET"},
		{"HEAD on instances", http.MethodHead, "/_fake/instances", 405, "111405001", "GET, PATCH, POST, PUT"},
		{"OPTIONS on instances", http.MethodOptions, "/_fake/instances", 405, "111405001", "GET, PATCH, POST, PUT"},
		{"HEAD on an unknown URL", http.MethodHead, "/v2/p/instances", 404, "111404001", ""},
		{"GET still works", http.MethodGet, statusPath("p"), 200, "", ""},
		{"admin GET still works", http.MethodGet, "/_fake/healthz", 200, "", ""},
	}
	for _, m := range modes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				f := m.start(t, server.Options{})
				wire := tt.method == http.MethodHead && m.name == "listener"
				if wire {
					f.do = http.DefaultClient.Do
				}
				r := f.call(t, tt.method, tt.path, "")
				assert.Equal(t, tt.status, r.status, "body: %s", r.body)
				assert.Equal(t, tt.allow, r.header.Get("Allow"))
				switch {
				case wire:
					assert.Empty(t, r.body, "a HEAD answer has no body")
				case tt.code != "":
					assert.Equal(t, tt.code, r.error(t).Code)
				}
			})
		}
	}
}

func TestProjectIDRule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, id string
		ok       bool
	}{
		{"hex", fixtureProject, true},
		{"all kinds", "Az09-_", true},
		{"64", strings.Repeat("a", 64), true},
		{"65", strings.Repeat("a", 65), false},
		{"300", strings.Repeat("a", 300), false},
		{"encoded slash", "a%2Fb", false},
		{"NUL", "a%00b", false},
		{"non-ASCII", "caf%C3%A9", false},
		{"space", "a%20b", false},
		{"encoded letter", "%41", false},
		{"dot dot", "..", false},
		{"encoded dot dot", "%2E%2E", false},
		{"dot", "a.b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := startListener(t, server.Options{})
			r := f.call(t, http.MethodGet, statusPath(tt.id), "")
			if tt.ok {
				assert.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
				return
			}
			if tt.id == ".." {
				// The client cleans the path before it is sent.
				assert.Equal(t, http.StatusNotFound, r.status)
				return
			}
			assert.Equal(t, http.StatusBadRequest, r.status)
			assert.Equal(t, "111400002", r.error(t).Code)
		})
	}
}

func TestPanicBecomes500AndServerKeepsServing(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	s, err := server.New(server.Options{Logger: slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))})
	require.NoError(t, err)
	var calls atomic.Int32
	server.WrapRoutes(s, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				panic("boom")
			}
			next.ServeHTTP(w, r)
		})
	})
	require.NoError(t, s.Start("127.0.0.1:0"))
	t.Cleanup(func() { _ = s.Shutdown(t.Context()) })
	f := &fake{Server: s, base: s.URL(), do: (&http.Client{Transport: checker(t).Transport(t, nil)}).Do}

	r := f.call(t, http.MethodGet, statusPath("p"), "")
	assert.Equal(t, http.StatusInternalServerError, r.status)
	assert.Equal(t, "111500000", r.error(t).Code)
	assert.NotContains(t, string(r.body), "boom", "no internals in the answer")

	assert.Equal(t, dcs.Counts{}, f.counts(t, "p", ""))
	assert.Contains(t, logs.String(), "boom")
	assert.NotContains(t, logs.String(), "goroutine ", "no stack trace at the default level")
}

// The stack of a panic is logged, but only for a debug-level logger.
func TestPanicStackOnlyAtDebugLevel(t *testing.T) {
	t.Parallel()
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		t.Run(level.String(), func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			s, err := server.New(server.Options{Logger: slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, &slog.HandlerOptions{Level: level}))})
			require.NoError(t, err)
			server.WrapRoutes(s, func(http.Handler) http.Handler {
				return http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })
			})
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, statusPath("p"), nil))
			assert.Equal(t, http.StatusInternalServerError, rec.Code)
			id := rec.Header().Get("X-Request-Id")
			assert.Contains(t, logs.String(), `level=ERROR msg=panic request_id=`+id+` panic=boom`)
			if level == slog.LevelDebug {
				assert.Contains(t, logs.String(), "goroutine ")
			} else {
				assert.NotContains(t, logs.String(), "goroutine ")
			}
		})
	}
}

// syncWriter serialises writes from concurrent requests.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	f := startListener(t, server.Options{})
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				added, err := f.Add(server.Instance{ProjectID: "p", Engine: dcs.Engines()[w%2], Status: dcs.Creating})
				if !assert.NoError(t, err) {
					return
				}
				if i%2 == 0 {
					assert.NoError(t, f.SetStatus(added[0].ID, dcs.Running))
				}
				c := f.counts(t, "p", "")
				assert.Equal(t, c.Redis[dcs.Running.Index()]+c.Memcached[dcs.Running.Index()], c.Total[dcs.Running.Index()])
			}
		})
	}
	wg.Wait()
	c := f.counts(t, "p", "")
	assert.Equal(t, int32(workers*each/2), c.Total[dcs.Running.Index()])
	assert.Equal(t, int32(workers*each/2), c.Total[dcs.Creating.Index()])
	assert.Len(t, f.Instances("p"), workers*each)
}

func TestLogLinePerRequestWithoutSecrets(t *testing.T) {
	t.Parallel()
	logs := &syncWriter{w: &bytes.Buffer{}}
	const token, sk = "tok-SECRET-123", "sk-SECRET-456"
	f := startListener(t, server.Options{
		Token: token, AccessKey: "ak", SecretKey: sk,
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
	})
	good := f.request(t, http.MethodGet, statusPath("p"), "")
	good.Header.Set("X-Auth-Token", token)
	r1 := f.send(t, good)
	require.Equal(t, http.StatusOK, r1.status)
	bad := f.request(t, http.MethodGet, statusPath("p"), "")
	bad.Header.Set("X-Auth-Token", "wrong-"+token)
	bad.Header.Set("Authorization", "SDK-HMAC-SHA256 Access=ak, SignedHeaders=x-sdk-date, Signature=deadbeef")
	r2 := f.send(t, bad)
	require.Equal(t, http.StatusUnauthorized, r2.status)

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 2)
	for i, r := range []reply{r1, r2} {
		assert.Contains(t, lines[i], r.header.Get("X-Request-Id"))
		assert.Contains(t, lines[i], `"method":"GET"`)
		assert.Contains(t, lines[i], `"path":"/v2/p/instances/status"`)
		assert.Contains(t, lines[i], `"duration"`)
	}
	assert.Contains(t, lines[0], `"status":200`)
	assert.Contains(t, lines[1], `"status":401`)
	for _, secret := range []string{token, sk, "deadbeef", "SDK-HMAC-SHA256"} {
		assert.NotContains(t, logs.String(), secret)
	}
}

// Servers share the parsed documents, nothing else: what one is told
// never shows in another.
func TestServersShareNoState(t *testing.T) {
	t.Parallel()
	a, err := server.New(server.Options{})
	require.NoError(t, err)
	b, err := server.New(server.Options{DisableValidation: true})
	require.NoError(t, err)
	_, err = a.Add(server.Instance{ProjectID: "p", Engine: dcs.Redis, Status: dcs.Running})
	require.NoError(t, err)
	a.InjectFault(server.Fault{Status: 503})
	assert.Empty(t, b.Instances(""))

	rec := httptest.NewRecorder()
	b.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, statusPath("p"), nil))
	assert.Equal(t, http.StatusOK, rec.Code, "a's fault is not b's")
	rec = httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, statusPath("p"), nil))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	rec = httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, statusPath("p"), nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), `"running_count":1`)
}

// The fake's secret key and token never show, however Options is printed.
func TestOptionsNeverRevealSecrets(t *testing.T) {
	t.Parallel()
	const sk, token = "needle-secret-key-7f3a", "needle-token-91c2"
	opts := server.Options{AccessKey: "FAKEACCESSKEY", SecretKey: sk, Token: token, Now: time.Now}
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("opts", "opts", opts)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("opts", "opts", opts, "ptr", &opts)
	data, err := json.Marshal(struct {
		O server.Options
		P *server.Options
	}{opts, &opts})
	require.NoError(t, err)
	outputs := []string{text.String(), js.String(), string(data), opts.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		outputs = append(outputs, fmt.Sprintf(verb, opts), fmt.Sprintf(verb, &opts))
	}
	for _, out := range outputs {
		assert.NotContains(t, out, sk)
		assert.NotContains(t, out, token)
	}
	assert.Contains(t, opts.String(), "AccessKey:FAKEACCESSKEY")
	assert.Contains(t, opts.String(), "SecretKey:REDACTED")
	assert.Contains(t, string(data), `"Token":"REDACTED"`)
}

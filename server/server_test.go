package server_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/internal/contract/contracttest"
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
		f := m.start(t, server.Options{})
		loadFixture(t, f.Server)
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.query, func(t *testing.T) {
				t.Parallel()
				want := fixtureCounts(tt.includeFailure)
				assert.Equal(t, want, f.counts(t, fixtureProject, tt.query))
				assert.Equal(t, want, f.Counts(fixtureProject, tt.includeFailure), "Go and HTTP agree")
			})
		}
	}
}

// Every counter of every engine is counted and answered, zeros included,
// and each total is the sum of the engines'.
func TestEveryCounterAddsUp(t *testing.T) {
	t.Parallel()
	f := startListener(t, server.Options{})
	var insts []server.Instance
	for i, st := range dcs.Statuses() {
		for k := range 3 * (i + 1) {
			insts = append(insts, server.Instance{ProjectID: "p", Engine: dcs.Engines()[min(k%3, 1)], Status: st})
		}
	}
	_, err := f.Add(insts...)
	require.NoError(t, err)
	got := f.counts(t, "p", "?include_failure=true")
	for i, st := range dcs.Statuses() {
		assert.EqualValues(t, i+1, got.Redis.Get(st), st)
		assert.EqualValues(t, 2*(i+1), got.Memcached.Get(st), st)
	}
	assert.Equal(t, got.EngineSum(), got.Total)

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
	assert.Len(t, added[0].ID, 36, "a UUID")
	assert.Equal(t, "dcs-"+added[0].ID[:8], added[0].Name)
	assert.Equal(t, server.Instance{ProjectID: "p", ID: "mine", Name: "named", Engine: dcs.Memcached, Status: dcs.Running}, added[1])
	assert.Equal(t, counts(map[dcs.Engine]map[dcs.Status]int32{dcs.Redis: {dcs.Creating: 1}, dcs.Memcached: {dcs.Running: 1}}), f.counts(t, "p", ""))

	require.NoError(t, f.SetStatus(added[0].ID, dcs.Running))
	assert.Equal(t, counts(map[dcs.Engine]map[dcs.Status]int32{dcs.Redis: {dcs.Running: 1}, dcs.Memcached: {dcs.Running: 1}}), f.counts(t, "p", ""))

	require.NoError(t, f.Remove("mine"))
	assert.EqualValues(t, 1, f.counts(t, "p", "").Total.Get(dcs.Running))
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
		valid string
	}{
		{"no project", func(in *server.Instance) { in.ProjectID = "" }, "project_id", ""},
		{"bad project", func(in *server.Instance) { in.ProjectID = "a/b" }, "project_id", ""},
		{"engine", func(in *server.Instance) { in.Engine = "redis" }, "engine", "Redis"},
		{"status", func(in *server.Instance) { in.Status = "running" }, "status", "RUNNING"},
		{"id with a slash", func(in *server.Instance) { in.ID = "a/b" }, "id", ""},
		{"id with a NUL", func(in *server.Instance) { in.ID = "a\x00b" }, "id", ""},
		{"id with a space", func(in *server.Instance) { in.ID = "a b" }, "id", ""},
		{"id too long", func(in *server.Instance) { in.ID = strings.Repeat("x", 65) }, "id", ""},
		{"name on two lines", func(in *server.Instance) { in.Name = "a\nb" }, "name", ""},
		{"name with a NUL", func(in *server.Instance) { in.Name = "a\x00b" }, "name", ""},
		{"name too long", func(in *server.Instance) { in.Name = strings.Repeat("x", server.MaxNameLength+1) }, "name", ""},
		{"becomes", func(in *server.Instance) { in.Becomes = &server.Transition{Status: "x"} }, "becomes.status", "RUNNING"},
	}
	s, err := server.New(server.Options{})
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bad := good
			tt.bad(&bad)
			_, err := s.Add(good, bad)
			var ie *server.InvalidError
			require.ErrorAs(t, err, &ie)
			assert.Equal(t, 1, ie.Index)
			assert.Equal(t, tt.field, ie.Field)
			assert.ErrorContains(t, err, "instances[1]."+tt.field+": ")
			if tt.valid != "" {
				assert.Contains(t, ie.Valid, tt.valid)
			}
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
		_, err = s.Add(good, in)
		assert.ErrorIs(t, err, server.ErrExists)
		assert.Len(t, s.Instances(""), 1)
		_, err = s.Add(server.Instance{ProjectID: "p", ID: strings.Repeat("x", 64), Name: strings.Repeat("é", server.MaxNameLength), Engine: dcs.Redis, Status: dcs.Running})
		assert.NoError(t, err, "the longest id and name")
	})
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	for _, opts := range []server.Options{
		{AccessKey: "ak"},
		{SecretKey: "sk"},
		{MaxInstances: -1},
		{JournalSize: server.MaxJournalSize + 1},
		{Projects: []server.Project{{ID: "a", Name: ""}}},
	} {
		_, err := server.New(opts)
		assert.Error(t, err, "%+v", opts)
	}
}

// What the specs do not route is answered before any check, as by a
// gateway that knows no such API: 404, or 405 with an Allow header that
// lists the methods the spec declares. ServeMux lets a GET pattern serve
// HEAD, but the specs declare no HEAD. Over the wire a HEAD answer has no
// body, so there is nothing for the contract checker to check.
func TestUnroutedRequests(t *testing.T) {
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
		{"dot segment, POST", http.MethodPost, "/v2/p/./instances/status", 404, "111404001", ""},
		{"unknown admin URL", http.MethodGet, "/_fake/nope", 404, "111404001", ""},
		{"unknown IAM URL", http.MethodGet, "/v3/x", 404, "111404001", ""},
		{"POST", http.MethodPost, "/v2/p/instances/status", 405, "111405001", "GET"},
		{"DELETE", http.MethodDelete, "/v2/p/instances/status", 405, "111405001", "GET"},
		{"admin wrong method", http.MethodDelete, "/_fake/healthz", 405, "111405001", "GET"},
		{"admin PUT on an id", http.MethodPut, "/_fake/instances/x", 405, "111405001", "DELETE, PATCH"},
		{"IAM wrong method", http.MethodPost, "/v3/projects", 405, "IAM.0405", "GET"},
		{"HEAD on the DCS API", http.MethodHead, statusPath("p") + "?include_failure=true", 405, "111405001", "GET"},
		{"HEAD on healthz", http.MethodHead, "/_fake/healthz", 405, "111405001", "GET"},
		{"HEAD on instances", http.MethodHead, "/_fake/instances", 405, "111405001", "GET, PATCH, POST, PUT"},
		{"OPTIONS on instances", http.MethodOptions, "/_fake/instances", 405, "111405001", "GET, PATCH, POST, PUT"},
		{"HEAD on an unknown URL", http.MethodHead, "/v2/p/instances", 404, "111404001", ""},
		{"repeated include_failure", http.MethodGet, statusPath("p") + "?include_failure=true&include_failure=true", 400, "111400063", ""},
	}
	for _, m := range modes {
		// Credentials, which none of these get as far as.
		f := m.start(t, server.Options{Token: "t"})
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				req := f.request(t, tt.method, tt.path, "")
				if tt.status == http.StatusBadRequest {
					req.Header.Set("X-Auth-Token", "t")
				}
				if tt.method == http.MethodHead && m.name == "listener" {
					wire := *f
					wire.do = http.DefaultClient.Do
					r := wire.send(t, req)
					assert.Equal(t, tt.status, r.status)
					assert.Equal(t, tt.allow, r.header.Get("Allow"))
					assert.Empty(t, r.body, "a HEAD answer has no body")
					return
				}
				r := f.send(t, req)
				assert.Equal(t, tt.status, r.status, "body: %s", r.body)
				assert.Equal(t, tt.code, r.error(t).Code)
				assert.Equal(t, tt.allow, r.header.Get("Allow"))
			})
		}
	}
}

// The project_id rule is dcs.yaml's, applied to the path as sent, and
// broken with 111400002 whether validation is on or off.
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
		{"encoded dot dot", "%2E%2E", false},
		{"dot", "a.b", false},
	}
	for _, validation := range []bool{true, false} {
		f := startListener(t, server.Options{DisableValidation: !validation})
		for _, tt := range tests {
			t.Run(fmt.Sprint(tt.name, "/validation=", validation), func(t *testing.T) {
				t.Parallel()
				r := f.call(t, http.MethodGet, statusPath(tt.id), "")
				if tt.ok {
					assert.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
					return
				}
				assert.Equal(t, http.StatusBadRequest, r.status)
				assert.Equal(t, "111400002", r.error(t).Code)
			})
		}
	}
}

// A panic is a 500 answer, logged without a stack trace but at Debug, and
// the server goes on serving.
func TestPanicBecomes500(t *testing.T) {
	t.Parallel()
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		t.Run(level.String(), func(t *testing.T) {
			t.Parallel()
			log, logs := logged(level)
			s, err := server.New(server.Options{Logger: log})
			require.NoError(t, err)
			panicked := false
			server.WrapRoutes(s, func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if !panicked {
						panicked = true
						panic("boom")
					}
					next.ServeHTTP(w, r)
				})
			})
			h := contracttest.New(t).Handler(t, s.Handler())
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, statusPath("p"), nil))
			assert.Equal(t, http.StatusInternalServerError, rec.Code)
			var e apiError
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e))
			assert.Equal(t, apiError{Code: "111500000", Msg: "internal service error"}, e, "no internals in the answer")
			assert.Contains(t, logs.String(), `"msg":"panic","request_id":"`+rec.Header().Get("X-Request-Id")+`","panic":"boom"`)
			assert.Equal(t, level == slog.LevelDebug, strings.Contains(logs.String(), "goroutine "), "a stack trace only at Debug")

			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, statusPath("p"), nil))
			assert.Equal(t, http.StatusOK, rec.Code, "still serving")
		})
	}
}

func TestLogLinePerRequestWithoutSecrets(t *testing.T) {
	t.Parallel()
	const token, sk = "tok-SECRET-123", "sk-SECRET-456"
	log, logs := logged(slog.LevelInfo)
	f := startListener(t, server.Options{Token: token, AccessKey: "ak", SecretKey: sk, Logger: log})
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
		assert.Contains(t, lines[i], `"request_id":"`+r.header.Get("X-Request-Id")+`","method":"GET","path":"/v2/p/instances/status","status":`+fmt.Sprint(r.status)+`,"duration":`)
	}
	assert.Contains(t, lines[1], `"error":"verify aksk signature fail: `)
	for _, secret := range []string{token, sk, "deadbeef", "SDK-HMAC-SHA256"} {
		assert.NotContains(t, logs.String(), secret)
	}
}

// Servers share the parsed documents, nothing else: what one is told
// never shows in another.
func TestServersShareNoState(t *testing.T) {
	t.Parallel()
	a := startHandler(t, server.Options{})
	b := startHandler(t, server.Options{DisableValidation: true})
	_, err := a.Add(server.Instance{ProjectID: "p", Engine: dcs.Redis, Status: dcs.Running})
	require.NoError(t, err)
	a.InjectFault(server.Fault{Status: 503})
	assert.Empty(t, b.Instances(""))
	assert.Equal(t, dcs.Counts{}, b.counts(t, "p", ""), "a's fault is not b's")
	assert.Equal(t, http.StatusServiceUnavailable, a.call(t, http.MethodGet, statusPath("p"), "").status)
	assert.EqualValues(t, 1, a.counts(t, "p", "").Total.Get(dcs.Running))
}

// The fake's secret key and token never show, however Options is printed.
func TestOptionsNeverRevealSecrets(t *testing.T) {
	t.Parallel()
	const sk, token = "needle-secret-key-7f3a", "needle-token-91c2"
	opts := server.Options{AccessKey: "FAKEACCESSKEY", SecretKey: sk, Token: token, Now: time.Now, Clock: server.NewManualClock(epoch)}
	var text, js strings.Builder
	slog.New(slog.NewTextHandler(&text, nil)).Info("opts", "opts", opts)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("opts", "opts", opts, "ptr", &opts)
	data, err := json.Marshal(struct {
		O server.Options
		P *server.Options
	}{opts, &opts})
	require.NoError(t, err)
	outputs := []string{text.String(), js.String(), string(data)}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		outputs = append(outputs, fmt.Sprintf(verb, opts), fmt.Sprintf(verb, &opts))
	}
	for _, out := range outputs {
		assert.NotContains(t, out, sk)
		assert.NotContains(t, out, token)
	}
	assert.Contains(t, fmt.Sprintf("%+v", opts), "AccessKey:FAKEACCESSKEY SecretKey:REDACTED Token:REDACTED")
	assert.Contains(t, string(data), `"Token":"REDACTED"`)
	assert.Contains(t, fmt.Sprintf("%+v", server.Options{}), "SecretKey: Token:", "nothing to redact")
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
				assert.Equal(t, c.EngineSum(), c.Total)
			}
		})
	}
	wg.Wait()
	c := f.counts(t, "p", "")
	assert.EqualValues(t, workers*each/2, c.Total.Get(dcs.Running))
	assert.EqualValues(t, workers*each/2, c.Total.Get(dcs.Creating))
	assert.Len(t, f.Instances("p"), workers*each)
}

package server_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen"
	"github.com/dcskit/dcskit/internal/contract/contracttest"
	"github.com/dcskit/dcskit/internal/syncbuf"
	"github.com/dcskit/dcskit/server"
	"github.com/dcskit/dcskit/servertest"
)

const (
	fixtureFile    = "testdata/fixture.json"
	fixtureProject = "0605767e2c00d5552f8fc01a6f4d3b3a"
)

var epoch = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// fake is a server under test and a way to send it requests whose every
// answer is checked against the spec.
type fake struct {
	*server.Server
	base string
	do   func(*http.Request) (*http.Response, error)
}

// modes are the ways of running the fake: on a loopback listener, as
// Start serves it, or as a bare http.Handler.
var modes = []struct {
	name  string
	start func(t *testing.T, opts server.Options) *fake
}{
	{"listener", startListener},
	{"handler", startHandler},
}

func startListener(t *testing.T, opts server.Options) *fake {
	t.Helper()
	s := servertest.New(t, opts)
	c := &http.Client{Transport: contracttest.New(t).Transport(t, nil)}
	return &fake{Server: s, base: s.URL(), do: c.Do}
}

func startHandler(t *testing.T, opts server.Options) *fake {
	t.Helper()
	s, err := server.New(opts)
	require.NoError(t, err)
	h := contracttest.New(t).Handler(t, s.Handler())
	return &fake{Server: s, base: "http://fake.test", do: func(r *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Result(), nil
	}}
}

// logged is a logger at level and what it wrote, as JSON lines.
func logged(level slog.Level) (*slog.Logger, *syncbuf.Buffer) {
	var b syncbuf.Buffer
	return slog.New(slog.NewJSONHandler(&b, &slog.HandlerOptions{Level: level})), &b
}

// request builds a request to the fake; path may carry escapes and a query.
func (f *fake) request(t *testing.T, method, path, body string) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.base+path, rd)
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// reply is a response with its body read.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (f *fake) send(t *testing.T, req *http.Request) reply {
	t.Helper()
	resp, err := f.do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Len(t, resp.Header.Get("X-Request-Id"), 32, "every answer has an X-Request-Id")
	return reply{resp.StatusCode, resp.Header, body}
}

func (f *fake) call(t *testing.T, method, path, body string) reply {
	t.Helper()
	return f.send(t, f.request(t, method, path, body))
}

func statusPath(projectID string) string { return "/v2/" + projectID + "/instances/status" }

// counts queries the API and returns the answer as dcs.Counts.
func (f *fake) counts(t *testing.T, projectID, query string) dcs.Counts {
	t.Helper()
	r := f.call(t, http.MethodGet, statusPath(projectID)+query, "")
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var out gen.InstanceStatusCounts
	require.NoError(t, json.Unmarshal(r.body, &out))
	return dcs.FromAPI(out)
}

// apiError is an ErrorResponse, or the gateway's error, decoded.
type apiError struct {
	Code      string `json:"error_code"`
	Msg       string `json:"error_msg"`
	RequestID string `json:"request_id"`
}

func (r reply) error(t *testing.T) apiError {
	t.Helper()
	assert.Equal(t, "application/json", r.header.Get("Content-Type"))
	var e apiError
	require.NoError(t, json.Unmarshal(r.body, &e), "body: %s", r.body)
	return e
}

// decode decodes a 200 answer into a value of type T.
func decode[T any](t *testing.T, r reply) T {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var v T
	require.NoError(t, json.Unmarshal(r.body, &v))
	return v
}

// loadFixture loads the test fixture into s.
func loadFixture(t *testing.T, s *server.Server) {
	t.Helper()
	require.NoError(t, s.LoadFixtureFile(fixtureFile))
}

// counts builds dcs.Counts from counts per engine and status.
func counts(m map[dcs.Engine]map[dcs.Status]int32) dcs.Counts {
	var c dcs.Counts
	for e, byStatus := range m {
		for s, n := range byStatus {
			c.Add(e, s, n)
		}
	}
	return c
}

// fixtureCounts is what testdata/fixture.json holds for fixtureProject,
// CREATEFAILED included or not.
func fixtureCounts(includeFailure bool) dcs.Counts {
	m := map[dcs.Engine]map[dcs.Status]int32{
		dcs.Redis:     {dcs.Running: 8, dcs.Restarting: 1},
		dcs.Memcached: {dcs.Running: 8},
	}
	if includeFailure {
		m[dcs.Redis][dcs.CreateFailed], m[dcs.Memcached][dcs.CreateFailed] = 22, 22
	}
	return counts(m)
}

func jsonBody(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// limitError checks that r refuses a request over limit with 413 and a
// message that names it.
func limitError(t *testing.T, r reply, limit string) {
	t.Helper()
	assert.Equal(t, http.StatusRequestEntityTooLarge, r.status, "body: %s", r.body)
	e := r.error(t)
	assert.Equal(t, "111413001", e.Code)
	assert.Contains(t, e.Msg, "limit "+limit+" exceeded")
}

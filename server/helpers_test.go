package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen"
	"github.com/dcskit/dcskit/internal/contract/contracttest"
	"github.com/dcskit/dcskit/server"
	"github.com/dcskit/dcskit/servertest"
)

const (
	fixtureFile    = "testdata/fixture.json"
	fixtureProject = "0605767e2c00d5552f8fc01a6f4d3b3a"
)

// checker validates responses against both the DCS and the admin spec.
func checker(t *testing.T) contracttest.Checker {
	t.Helper()
	return contracttest.New(t)
}

// fake is a server under test and a way to send it requests whose every
// answer is checked against the spec.
type fake struct {
	*server.Server
	base string
	do   func(*http.Request) (*http.Response, error)
}

// mode is one way of running the fake: on a loopback listener, or as a
// bare http.Handler.
type mode struct {
	name  string
	start func(t *testing.T, opts server.Options) *fake
}

var modes = []mode{
	{"listener", startListener},
	{"handler", startHandler},
}

func startListener(t *testing.T, opts server.Options) *fake {
	t.Helper()
	s := servertest.New(t, opts)
	c := &http.Client{Transport: checker(t).Transport(t, nil)}
	return &fake{Server: s, base: s.URL(), do: c.Do}
}

func startHandler(t *testing.T, opts server.Options) *fake {
	t.Helper()
	s, err := server.New(opts)
	require.NoError(t, err)
	h := checker(t).Handler(t, s.Handler())
	return &fake{Server: s, base: "http://fake.test", do: func(r *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Result(), nil
	}}
}

// request builds a request to the fake; path may carry escapes and a query.
func (f *fake) request(t *testing.T, method, path string, body string) *http.Request {
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
	assert.Len(t, resp.Header.Get("X-Request-Id"), 32, "every response has an X-Request-Id")
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

// apiError decodes an ErrorResponse (or the gateway's error) body.
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

// loadFixture loads the test fixture into s.
func loadFixture(t *testing.T, s *server.Server) {
	t.Helper()
	require.NoError(t, s.LoadFixtureFile(fixtureFile))
}

// fixtureCounts is what testdata/fixture.json holds for fixtureProject,
// CREATEFAILED included.
func fixtureCounts() dcs.Counts {
	var c dcs.Counts
	run, failed, restarting := dcs.Running.Index(), dcs.CreateFailed.Index(), dcs.Restarting.Index()
	c.Redis[run], c.Memcached[run] = 8, 8
	c.Redis[failed], c.Memcached[failed] = 22, 22
	c.Redis[restarting] = 1
	c.Total[run], c.Total[failed], c.Total[restarting] = 16, 44, 1
	return c
}

func withoutFailed(c dcs.Counts) dcs.Counts {
	i := dcs.CreateFailed.Index()
	c.Total[i], c.Redis[i], c.Memcached[i] = 0, 0, 0
	return c
}

func jsonBody(t *testing.T, v any) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, json.NewEncoder(&b).Encode(v))
	return b.String()
}

package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen"
	"github.com/dcskit/dcskit/gen/admin"
	"github.com/dcskit/dcskit/internal/contract/contracttest"
	"github.com/dcskit/dcskit/openapi"
	"github.com/dcskit/dcskit/signer"
)

const (
	serveFixture = "../../server/testdata/fixture.json"
	serveProject = "0605767e2c00d5552f8fc01a6f4d3b3a"
)

// startServe runs dcskit serve on a free port.
func startServe(t *testing.T, args ...string) *running {
	t.Helper()
	return start(t, &env{getenv: mapEnv(nil)}, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
}

func contractClient(t *testing.T) *http.Client {
	t.Helper()
	return &http.Client{Transport: contracttest.New(t).Transport(t, nil)}
}

// signedRequest is a request signed with ak and sk.
func signedRequest(t *testing.T, method, url, ak, sk string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	require.NoError(t, signer.Sign(req, nil, signer.Credentials{AccessKey: ak, SecretKey: sk}, time.Now()))
	return req
}

// With --ak and --sk, the fake takes signed requests only, but on the
// admin API from this machine (curl, a test in any language); the server
// package's tests send requests from other hosts. It logs one line per
// request, without secrets.
func TestServe(t *testing.T) {
	t.Parallel()
	const ak, sk = "AKSERVE", "sk-serve-SECRET"
	s := startServe(t, "--fixture", serveFixture, "--ak", ak, "--sk", sk)
	assert.Regexp(t, regexp.MustCompile(`^http://127\.0\.0\.1:\d+$`), s.url)
	c := contractClient(t)
	do := func(req *http.Request, want int) *http.Response {
		t.Helper()
		resp, err := c.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { resp.Body.Close() })
		assert.Equal(t, want, resp.StatusCode, "%s %s", req.Method, req.URL)
		return resp
	}
	get := func(url string) *http.Request {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		require.NoError(t, err)
		return req
	}

	resp := do(signedRequest(t, http.MethodGet, s.url+"/v2/"+serveProject+"/instances/status?include_failure=true", ak, sk), http.StatusOK)
	var counts gen.InstanceStatusCounts
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&counts))
	got := dcs.FromAPI(counts)
	assert.Equal(t, int32(16), got.Total.Get(dcs.Running))
	assert.Equal(t, int32(44), got.Total.Get(dcs.CreateFailed))
	okID := resp.Header.Get("X-Request-Id")
	deniedID := do(get(s.url+"/v2/"+serveProject+"/instances/status"), http.StatusUnauthorized).Header.Get("X-Request-Id")
	do(get(s.url+"/_fake/healthz"), http.StatusOK)
	reset, err := http.NewRequest(http.MethodPost, s.url+"/_fake/reset", nil)
	require.NoError(t, err)
	do(reset, http.StatusNoContent)
	do(signedRequest(t, http.MethodPost, s.url+"/_fake/reset", ak, sk), http.StatusNoContent)

	r := s.stop()
	assert.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	for _, id := range []string{okID, deniedID} {
		assert.Contains(t, r.stderr, "request_id="+id)
	}
	assert.Equal(t, 5, strings.Count(r.stderr, "msg=request "), "one line per request: %s", r.stderr)
	assert.NotContains(t, r.stderr, sk)
	assert.NotContains(t, r.stderr, "Signature=")
}

func TestServeJournalAndSignatureDiagnosis(t *testing.T) {
	t.Parallel()
	const ak, sk = "AKSERVE", "sk-serve-SECRET"
	s := startServe(t, "--ak", ak, "--sk", sk, "--log-level", "debug", "--journal-size", "2")
	c := contractClient(t)
	var signature string
	for i, key := range []string{sk, "wrong-" + sk, "wrong-" + sk} {
		req := signedRequest(t, http.MethodGet, s.url+"/v2/p/instances/status?n="+string(rune('0'+i)), ak, key)
		a, err := signer.ParseAuthorization(req.Header.Get("Authorization"))
		require.NoError(t, err)
		signature = a.Signature
		resp, err := c.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}

	resp, err := c.Get(s.url + "/_fake/requests?status=401")
	require.NoError(t, err)
	var j admin.RequestJournal
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&j))
	resp.Body.Close()
	require.Len(t, j.Requests, 2, "--journal-size 2 kept the last two")
	assert.Equal(t, 1, j.Dropped)
	last := j.Requests[1]
	assert.Equal(t, "n=2", last.RawQuery)
	assert.Equal(t, ak, last.AccessKey)
	assert.Equal(t, admin.AuthRejected, last.Auth.Result)
	require.NotNil(t, last.Auth.CanonicalRequest)

	r := s.stop()
	assert.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	assert.Contains(t, r.stderr, "error=\"verify aksk signature fail: signature mismatch\"")
	assert.Contains(t, r.stderr, "canonical_request=", "--log-level debug shows what the fake expected")
	assert.Contains(t, r.stderr, "request_id="+last.RequestId)
	for _, secret := range []string{sk, signature} {
		assert.NotContains(t, r.stderr, secret)
	}
}

// Every mistake in serve's command line or configuration exits 2 before
// anything is served (1 for an address it cannot listen on), with no
// secret in the message.
func TestServeRejects(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"instances":[{"project_id":"p","engine":"redis","status":"RUNNING"}]}`), 0o600))
	skFile := filepath.Join(dir, "sk")
	require.NoError(t, os.WriteFile(skFile, []byte(testSK+"\n"), 0o600))
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"bad fixture", []string{"--fixture", bad}, 2, []string{bad, "instances[0].engine", "Redis, Memcached"}},
		{"missing fixture", []string{"--fixture", filepath.Join(dir, "none.json")}, 2, []string{"none.json"}},
		{"ak without sk", []string{"--ak", "AK"}, 2, []string{"--ak and a secret key ($DCSKIT_SERVE_SK, --sk-file or --sk) must be given together"}},
		{"sk without ak", []string{"--sk", "SK"}, 2, []string{"--ak"}},
		{"sk and sk-file", []string{"--ak", testAK, "--sk", testSK, "--sk-file", skFile}, 2, []string{"--sk and --sk-file exclude each other"}},
		{"token and token-file", []string{"--token", testSK, "--token-file", skFile}, 2, []string{"--token and --token-file exclude each other"}},
		{"missing sk-file", []string{"--ak", testAK, "--sk-file", filepath.Join(dir, "none")}, 2, []string{"--sk-file: open "}},
		{"bad address", []string{"--addr", "127.0.0.1:99999"}, 1, []string{"listen"}},
		{"argument", []string{"extra"}, 2, []string{"no arguments"}},
		{"project without region", []string{"--project", "p1"}, 2, []string{`--project "p1": want ID=REGION`}},
		{"bad project", []string{"--project", "p/1=cn-north-4"}, 2, []string{"Projects[0].id"}},
		{"log level", []string{"--log-level", "loud"}, 2, []string{`--log-level "loud": want debug, info, warn or error`}},
		{"journal size", []string{"--journal-size", "1000001"}, 2, []string{"--journal-size 1000001: at most"}},
		{"no instances", []string{"--max-instances", "0"}, 2, []string{"--max-instances must be positive, got 0"}},
		{"fixture over max-instances", []string{"--max-instances", "10", "--fixture", serveFixture}, 2,
			[]string{"limit MaxInstances exceeded: the instances in the store would be 64, at most 10"}},
		{"no port", []string{"--addr", "no-port"}, 2, []string{"want host:port"}},
		// Allowed, it warns first; this address is not ours, so it then
		// fails to listen rather than expose anything.
		{"remote allowed", []string{"--addr", "192.0.2.1:0", "--allow-remote"}, 1, []string{
			"dcskit: warning: serving on 192.0.2.1:0: other hosts can reach it", "without credentials", "listen on 192.0.2.1:0"}},
	}
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:0", "example.com:80"} {
		tests = append(tests, struct {
			name string
			args []string
			code int
			want []string
		}{"remote " + addr, []string{"--addr", addr}, 2, []string{"is not a loopback address", "--allow-remote"}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, nil, nil, append([]string{"serve", "--addr", "127.0.0.1:0"}, tt.args...)...)
			assert.Equal(t, tt.code, r.code, "stderr: %s", r.stderr)
			assert.Empty(t, r.stdout, "no URL when it does not serve")
			for _, w := range tt.want {
				assert.Contains(t, r.stderr, w)
			}
			assert.NotContains(t, r.stderr, testSK)
		})
	}
}

// Loopback addresses serve without a warning, and --max-instances bounds
// the instances that the admin API adds.
func TestServeOnLoopback(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"localhost:0", "127.0.0.1:0"} {
		s := start(t, &env{getenv: mapEnv(nil)}, "serve", "--addr", addr, "--max-instances", "10")
		resp, err := contractClient(t).Post(s.url+"/_fake/instances", "application/json",
			strings.NewReader(`{"instances":[{"project_id":"p","engine":"Redis","status":"RUNNING","count":11}]}`))
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
		r := s.stop()
		assert.Equal(t, 0, r.code, r.stderr)
		assert.NotContains(t, r.stderr, "warning")
	}
}

// serve takes its secrets from the environment or a file, so that they
// do not show in the process list.
func TestServeSecretsOutOfTheProcessList(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	skFile := filepath.Join(dir, "sk")
	require.NoError(t, os.WriteFile(skFile, []byte(testSK+"\n"), 0o600))
	tokenFile := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(testToken), 0o600))
	tests := []struct {
		name  string
		env   map[string]string
		args  []string
		token bool // the fake takes the token, else the keys
	}{
		{"secret key from the environment", map[string]string{envServeSK: testSK}, []string{"--ak", testAK}, false},
		{"secret key from a file", nil, []string{"--ak", testAK, "--sk-file", skFile}, false},
		{"token from the environment", map[string]string{envServeToken: testToken}, nil, true},
		{"token from a file", nil, []string{"--token-file", tokenFile}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, &env{getenv: mapEnv(tt.env)}, append([]string{"serve", "--addr", "127.0.0.1:0", "--fixture", serveFixture}, tt.args...)...)
			ask := func(environ map[string]string) result {
				return runEnv(t, nil, &env{getenv: mapEnv(environ), clientOptions: []client.Option{client.WithHTTPClient(contractClient(t))}},
					"status", "--endpoint", s.url, "--project-id", serveProject)
			}
			good := credsEnv()
			if tt.token {
				good = map[string]string{envToken: testToken}
			}
			r := ask(good)
			assert.Equal(t, 0, r.code, r.stderr)
			r = ask(map[string]string{envToken: "wrong-token"})
			assert.Equal(t, 1, r.code, "the fake requires its credentials")
			assert.Contains(t, r.stderr, "HTTP 401")
			assert.Equal(t, 0, s.stop().code)
		})
	}
}

// dcskit serve stands for IAM as well: dcskit status finds its project
// there.
func TestServeProjectsForDiscovery(t *testing.T) {
	t.Parallel()
	const ak, sk = "AKSERVE", "sk-serve-SECRET"
	s := startServe(t, "--fixture", serveFixture, "--ak", ak, "--sk", sk, "--project", serveProject+"=ap-southeast-1")
	e := &env{
		getenv:        mapEnv(map[string]string{"HUAWEICLOUD_SDK_AK": ak, "HUAWEICLOUD_SDK_SK": sk, "HUAWEICLOUD_SDK_IAM_ENDPOINT": s.url}),
		clientOptions: []client.Option{client.WithHTTPClient(contractClient(t))},
	}
	r := runEnv(t, nil, e, "status", "--region", "ap-southeast-1", "--endpoint-template", s.url, "-o", "json")
	require.Equal(t, 0, r.code, r.stderr)
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
	assert.EqualValues(t, 16, got["running_count"], "the fixture's project")
}

// admin.yaml's server is where dcskit serve listens by default.
func TestAdminServerIsServesDefault(t *testing.T) {
	t.Parallel()
	doc, err := openapi.LoadAdmin(t.Context())
	require.NoError(t, err)
	require.Len(t, doc.Servers, 1)
	v := doc.Servers[0].Variables
	addr := newServeCmd(&env{getenv: mapEnv(nil)}).Flags().Lookup("addr").DefValue
	assert.Equal(t, addr, v["host"].Default+":"+v["port"].Default)
}

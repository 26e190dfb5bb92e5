package main

import (
	"encoding/json"
	"io"
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

func TestServe(t *testing.T) {
	t.Parallel()
	const ak, sk = "AKSERVE", "sk-serve-SECRET"
	s := startServe(t, "--fixture", serveFixture, "--ak", ak, "--sk", sk)
	assert.Regexp(t, regexp.MustCompile(`^http://127\.0\.0\.1:\d+$`), s.url)
	c := contractClient(t)

	req, err := http.NewRequest(http.MethodGet, s.url+"/v2/"+serveProject+"/instances/status?include_failure=true", nil)
	require.NoError(t, err)
	require.NoError(t, signer.Sign(req, nil, signer.Credentials{AccessKey: ak, SecretKey: sk}, time.Now()))
	resp, err := c.Do(req)
	require.NoError(t, err)
	var counts gen.InstanceStatusCounts
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&counts))
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	got := dcs.FromAPI(counts)
	assert.Equal(t, int32(16), got.Total.Get(dcs.Running))
	assert.Equal(t, int32(44), got.Total.Get(dcs.CreateFailed))
	okID := resp.Header.Get("X-Request-Id")

	resp, err = c.Get(s.url + "/v2/" + serveProject + "/instances/status")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "unsigned")
	deniedID := resp.Header.Get("X-Request-Id")

	resp, err = c.Get(s.url + "/_fake/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	r := s.stop()
	assert.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	for _, id := range []string{okID, deniedID} {
		assert.Contains(t, r.stderr, "request_id="+id)
	}
	assert.Equal(t, 3, strings.Count(r.stderr, "msg=request "), "one line per request: %s", r.stderr)
	assert.NotContains(t, r.stderr, sk)
	assert.NotContains(t, r.stderr, "Signature=")
}

func TestServeDrainsInFlightRequests(t *testing.T) {
	t.Parallel()
	s := startServe(t)
	c := contractClient(t)
	resp, err := c.Post(s.url+"/_fake/faults", "application/json", strings.NewReader(`{"delay_ms":500}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)

	status := make(chan int, 1)
	go func() {
		resp, err := c.Get(s.url + "/v2/p/instances/status")
		if err != nil {
			status <- 0
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	require.Eventually(t, func() bool {
		return strings.Count(s.stderr.String(), "msg=request ") == 1 // the fault injection only
	}, 5*time.Second, 10*time.Millisecond)
	time.Sleep(100 * time.Millisecond) // let the delayed request arrive
	r := s.stop()
	assert.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	assert.Equal(t, http.StatusOK, <-status, "the request in flight was answered")
}

func TestServeRejects(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"instances":[{"project_id":"p","engine":"redis","status":"RUNNING"}]}`), 0o600))
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"bad fixture", []string{"--fixture", bad}, 2, []string{bad, "instances[0].engine", "Redis, Memcached"}},
		{"missing fixture", []string{"--fixture", filepath.Join(dir, "none.json")}, 2, []string{"none.json"}},
		{"ak without sk", []string{"--ak", "AK"}, 2, []string{"--sk"}},
		{"sk without ak", []string{"--sk", "SK"}, 2, []string{"--ak"}},
		{"bad address", []string{"--addr", "127.0.0.1:99999"}, 1, []string{"listen"}},
		{"argument", []string{"extra"}, 2, []string{"no arguments"}},
		{"project without region", []string{"--project", "p1"}, 2, []string{`--project "p1": want ID=REGION`}},
		{"bad project", []string{"--project", "p/1=cn-north-4"}, 2, []string{"Projects[0].id"}},
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

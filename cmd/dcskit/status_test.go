package main

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/client/profile"
	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/internal/contract/contracttest"
	"github.com/dcskit/dcskit/server"
)

const (
	testAK = "TESTACCESSKEY"
	testSK = "test-secret-key-never-printed"
)

// credsEnv is an environment with AK/SK and whatever else is given.
func credsEnv(kv ...string) map[string]string {
	m := map[string]string{"HUAWEICLOUD_SDK_AK": testAK, "HUAWEICLOUD_SDK_SK": testSK}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// fakeAPI answers every request with status and body. The func returns
// the last request.
func fakeAPI(t *testing.T, status int, body string) (*httptest.Server, func() *http.Request) {
	t.Helper()
	var (
		mu   sync.Mutex
		last *http.Request
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		last = r.Clone(context.Background())
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "req-abc")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, func() *http.Request {
		mu.Lock()
		defer mu.Unlock()
		return last
	}
}

func seedBody(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../openapi/testdata/seed_example_200.json")
	require.NoError(t, err)
	return string(b)
}

// rows returns the table's lines split into fields, header first.
func rows(out string) [][]string {
	var rs [][]string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		rs = append(rs, strings.Fields(l))
	}
	return rs
}

// header is the first row of every table.
var header = []string{"STATUS", "REDIS", "MEMCACHED", "TOTAL"}

// The table has one row per status with instances (--all: every status),
// and -o json the API's fields; failed creations are asked for.
func TestStatus(t *testing.T) {
	t.Parallel()
	srv, last := fakeAPI(t, 200, seedBody(t))
	r := runCLI(t, nil, credsEnv(), "status", "--endpoint", srv.URL, "--project-id", "p1")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stderr)
	assert.Equal(t, [][]string{header, {"RUNNING", "8", "8", "16"}, {"CREATEFAILED", "22", "22", "44"}}, rows(r.stdout))
	assert.Equal(t, "/v2/p1/instances/status", last().URL.Path)
	assert.Equal(t, "true", last().URL.Query().Get("include_failure"), "status, wait and exporter all count failed creations")
	assert.Equal(t, "p1", last().Header.Get("X-Project-Id"))
	assert.Contains(t, last().Header.Get("Authorization"), "Access="+testAK)

	r = runCLI(t, nil, credsEnv("HUAWEICLOUD_SDK_PROJECT_ID", "p2"), "status", "--endpoint", srv.URL, "--all")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Len(t, rows(r.stdout), 1+len(dcs.Statuses()))
	assert.Contains(t, rows(r.stdout), []string{"PAYING", "0", "0", "0"})
	assert.Contains(t, rows(r.stdout), []string{"CREATEFAILED", "22", "22", "44"})
	assert.Equal(t, "/v2/p2/instances/status", last().URL.Path)

	r = runCLI(t, nil, credsEnv("HUAWEICLOUD_SDK_PROJECT_ID", "p3", "HUAWEICLOUD_SDK_REGION_DCS_AP_SOUTHEAST_1", srv.URL),
		"status", "--region", "ap-southeast-1", "-o", "json")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "/v2/p3/instances/status", last().URL.Path, "the region's endpoint from the environment")
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
	assert.EqualValues(t, 16, got["running_count"])
	assert.EqualValues(t, 0, got["restoring_count"])
	assert.EqualValues(t, 22, got["memcached"].(map[string]any)["createfailed_count"])
	assert.Len(t, got, len(dcs.Statuses())+len(dcs.Engines()), "every counter and every engine")
}

// A count that was not asked for shows as not requested, never as 0.
func TestStatusNotRequestedIsNotZero(t *testing.T) {
	t.Parallel()
	srv, last := fakeAPI(t, 200, seedBody(t))
	args := []string{"status", "--endpoint", srv.URL, "--project-id", "p1", "--include-failure=false"}
	r := runCLI(t, nil, credsEnv(), append(args, "--all")...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, last().URL.RawQuery)
	assert.Contains(t, rows(r.stdout), []string{"CREATEFAILED", "-", "-", "-"})
	assert.Contains(t, rows(r.stdout), []string{"RUNNING", "8", "8", "16"})

	r = runCLI(t, nil, credsEnv(), append(args, "-o", "json")...)
	require.Equal(t, 0, r.code, r.stderr)
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
	require.Contains(t, got, "createfailed_count")
	assert.Nil(t, got["createfailed_count"])
	for _, e := range dcs.Engines() {
		engine := got[e.Key()].(map[string]any)
		require.Contains(t, engine, "createfailed_count")
		assert.Nil(t, engine["createfailed_count"], e)
		assert.EqualValues(t, 8, engine["running_count"], e)
	}
	assert.EqualValues(t, 16, got["running_count"])
	assert.Less(t, strings.Index(r.stdout, `"paying_count"`), strings.Index(r.stdout, `"running_count"`), "the API's order")

	r = runCLI(t, nil, credsEnv(), append(args, "-o", "fixture")...)
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "-o fixture keeps failed creations")
}

// Every failure exits 1, and every mistake in the command line or the
// configuration 2, before anything is sent; each says what is wrong in
// one line, in the words of a command line, with no secret, no stack
// trace and no internal name.
func TestStatusErrors(t *testing.T) {
	t.Parallel()
	gateway, _ := fakeAPI(t, 401, `{"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information: verify aksk signature fail","request_id":"gw-1"}`)
	untouched, sent := fakeAPI(t, 200, seedBody(t))
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	hung, _ := hungAPI(t)
	emptyIAM := startFake(t, `{"instances": []}`)
	usage := func(msg string) []string {
		return []string{"dcskit: " + msg + "\nRun 'dcskit status --help' for usage.\n"}
	}

	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want []string // in stderr
	}{
		{"gateway 401", credsEnv(), []string{"--endpoint", gateway.URL, "--project-id", "p"}, 1,
			[]string{"HTTP 401", "APIGW.0301", "verify aksk signature fail", "req-abc"}},
		{"dead endpoint", credsEnv(), []string{"--endpoint", dead.URL, "--project-id", "p"}, 1,
			[]string{"after 3 attempts", "connection refused"}},
		{"timeout", credsEnv(), []string{"--endpoint", hung, "--project-id", "p", "--timeout", "50ms"}, 1,
			[]string{"deadline exceeded"}},
		{"no project for the region", credsEnv(client.EnvIAMEndpoint, emptyIAM.url), []string{"--endpoint", gateway.URL, "--region", "eu-west-0"}, 2,
			[]string{`IAM at ` + emptyIAM.url + ` has no project named "eu-west-0"`, "give the project id"}},
		{"IAM refuses", credsEnv(client.EnvIAMEndpoint, gateway.URL), []string{"--endpoint", gateway.URL}, 1,
			[]string{"finding the project of region cn-north-4 through IAM at " + gateway.URL, "HTTP 401"}},
		{"missing credentials", nil, []string{"--endpoint", untouched.URL, "--project-id", "p"}, 2,
			[]string{"no credentials: environment: HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK are not set; profile file: no home directory",
				"ECS metadata " + nowhere + ": not reachable", "set DCSKIT_IAM_TOKEN", "pass --no-sign-request"}},
		{"named profile file missing", map[string]string{profile.EnvFile: "/nonexistent/credentials"}, []string{"--endpoint", untouched.URL, "--project-id", "p"}, 2,
			[]string{"profile file /nonexistent/credentials (from HUAWEICLOUD_SDK_CREDENTIALS_FILE): no such file"}},
		{"bad endpoint template", credsEnv(), []string{"--project-id", "p", "--endpoint-template", "dcs.{region}.example"}, 2,
			[]string{"endpoint template: invalid endpoint"}},
		{"half a key pair", map[string]string{client.EnvAccessKey: testAK}, []string{"--endpoint", untouched.URL, "--project-id", "p"}, 2,
			usage("environment: HUAWEICLOUD_SDK_AK/HUAWEICLOUD_SDK_SK: invalid credentials: empty secret key")},
		{"unknown output", credsEnv(), []string{"--endpoint", untouched.URL, "--project-id", "p", "-o", "yaml"}, 2,
			[]string{`unknown output "yaml"`}},
		{"an endpoint without a scheme", credsEnv(), []string{"--endpoint", "127.0.0.1:8080", "--project-id", "p"},
			2, usage("invalid endpoint: no scheme: want http:// or https:// before the host, as in http://127.0.0.1:8080")},
		{"a project id with a space", credsEnv(), []string{"--endpoint", untouched.URL, "--project-id", "a b"},
			2, usage(`invalid project id "a b": want 1 to 64 letters, digits, '-' or '_'`)},
		{"a project id from the environment", credsEnv(client.EnvProjectID, "a/b"), []string{"--endpoint", untouched.URL},
			2, usage(`HUAWEICLOUD_SDK_PROJECT_ID: invalid project id "a/b": want 1 to 64 letters, digits, '-' or '_'`)},
		{"bad flag", credsEnv(), []string{"--project-id", "p", "--timeout", "soon"}, 2,
			[]string{"invalid argument"}},
	}
	t.Cleanup(func() { assert.Nil(t, sent(), "nothing was sent") }) // once every case has run
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, nil, tt.env, append([]string{"status"}, tt.args...)...)
			assert.Equal(t, tt.code, r.code, r.stderr)
			assert.Empty(t, r.stdout)
			for _, w := range tt.want {
				assert.Contains(t, r.stderr, w)
			}
			assert.NotContains(t, r.stderr, testSK)
			assert.NotContains(t, r.stderr, "goroutine", "no stack trace")
			assert.NotRegexp(t, `\b(client|signer|server|profile|instance status): |FromEnv|WithCredentials|WithIAMToken`, r.stderr, "no internal names")
			assert.Equal(t, 1, strings.Count(r.stderr, "dcskit: "), "one error line: %s", r.stderr)
		})
	}
}

// regionsFixture holds two projects in two regions.
const regionsFixture = `{
  "instances": [
    {"project_id": "p-north", "engine": "Redis", "status": "RUNNING", "count": 2},
    {"project_id": "p-south", "engine": "Memcached", "status": "CREATING", "count": 3}
  ],
  "projects": [{"id": "p-north", "name": "cn-north-4"}, {"id": "p-south", "name": "ap-southeast-1"}]
}`

// status with no project id finds the region's project through IAM; one
// fake stands for IAM and for both regions' DCS endpoints. The region is
// --region, else $DCSKIT_REGION, else cn-north-4; the keys and the
// project may come from a profile file alone.
func TestStatusFindsTheProject(t *testing.T) {
	t.Parallel()
	f := startFake(t, regionsFixture)
	north, south := []string{"RUNNING", "2", "0", "2"}, []string{"CREATING", "0", "3", "3"}
	endpoints := credsEnv(client.EnvIAMEndpoint, f.url, "HUAWEICLOUD_SDK_REGION_DCS_AP_SOUTHEAST_1", f.url, "HUAWEICLOUD_SDK_REGION_DCS_CN_NORTH_4", f.url)
	home := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(home, ".huaweicloud"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(home, ".huaweicloud", "credentials"), []byte("[basic]\nak = "+testAK+"\nsk = "+testSK+"\n"), 0o600))
	profileFile := filepath.Join(t.TempDir(), "credentials")
	require.NoError(t, os.WriteFile(profileFile, []byte("[basic]\nak = "+testAK+"\nsk = "+testSK+"\nsecurity_token = tok\nproject_id = p-south\n"), 0o600))
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want []string // the table's row
	}{
		{"endpoint override", credsEnv(client.EnvIAMEndpoint, f.url, "HUAWEICLOUD_SDK_REGION_DCS_AP_SOUTHEAST_1", f.url),
			[]string{"--region", "ap-southeast-1"}, south},
		{"endpoint template", credsEnv(client.EnvIAMEndpoint, f.url), []string{"--region", "cn-north-4", "--endpoint-template", f.url}, north},
		{"the default region", endpoints, nil, north},
		{"the environment's region", with(endpoints, envRegion, "ap-southeast-1"), nil, south},
		{"the flag's region wins", with(endpoints, envRegion, "ap-southeast-1"), []string{"--region", "cn-north-4"}, north},
		{"keys in ~/.huaweicloud/credentials", map[string]string{"HOME": home, client.EnvIAMEndpoint: f.url, "HUAWEICLOUD_SDK_REGION_DCS_AP_SOUTHEAST_1": f.url},
			[]string{"--region", "ap-southeast-1"}, south},
		{"keys and project in a profile file", map[string]string{profile.EnvFile: profileFile}, []string{"--endpoint", f.url}, south},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, nil, tt.env, append([]string{"status"}, tt.args...)...)
			require.Equal(t, 0, r.code, r.stderr)
			assert.Equal(t, [][]string{header, tt.want}, rows(r.stdout))
		})
	}
}

// with is environ and one more variable.
func with(environ map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for k, v := range environ {
		out[k] = v
	}
	return out
}

// Round trip: fake A with random instances, `status -o fixture` against
// it, fake B loaded from the fixture: B answers as A does.
func TestStatusFixtureRoundTrip(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, seed))
	const project = "proj-a"

	a, err := server.New(server.Options{AccessKey: testAK, SecretKey: testSK})
	require.NoError(t, err)
	var insts []server.Instance
	for _, p := range []string{project, "another-project"} {
		for _, e := range dcs.Engines() {
			for _, st := range dcs.Statuses() {
				for range rnd.IntN(4) {
					insts = append(insts, server.Instance{ProjectID: p, Engine: e, Status: st})
				}
			}
		}
	}
	_, err = a.Add(insts...)
	require.NoError(t, err)
	checker := contracttest.New(t)
	srvA := httptest.NewServer(checker.Handler(t, a.Handler()))
	t.Cleanup(srvA.Close)

	r := runCLI(t, nil, credsEnv(), "status", "--endpoint", srvA.URL, "--project-id", project, "-o", "fixture")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "include_failure=true", a.Requests()[0].RawQuery, "failed creations are asked for")

	b, err := server.New(server.Options{})
	require.NoError(t, err)
	require.NoError(t, b.LoadFixture("status -o fixture", strings.NewReader(r.stdout)))
	srvB := httptest.NewServer(checker.Handler(t, b.Handler()))
	t.Cleanup(srvB.Close)

	for _, q := range []string{"", "?include_failure=true", "?include_failure=false"} {
		assert.Equal(t, statusBody(t, srvA.URL, project, q, true), statusBody(t, srvB.URL, project, q, false), "query %q", q)
	}
	assert.Empty(t, b.Instances("another-project"), "only the project asked for")

	big, _ := fakeAPI(t, http.StatusOK, `{"running_count":2000000,"redis":{"running_count":2000000},"memcached":{}}`)
	r = runCLI(t, nil, credsEnv(), "status", "--endpoint", big.URL, "--project-id", "p", "-o", "fixture")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "redis.running_count: 2000000 is out of a fixture's range 1 to 1000000")
	assert.Empty(t, r.stdout)
}

// codeBlock is the first code block of lang in text, without its
// indentation.
func codeBlock(t *testing.T, text, lang string) string {
	t.Helper()
	m := regexp.MustCompile("(?s)\n( *)```" + lang + "\n(.*?)\n *```").FindStringSubmatch(text)
	require.NotNil(t, m, "no %s block", lang)
	var lines []string
	for _, l := range strings.Split(m[2], "\n") {
		lines = append(lines, strings.TrimPrefix(l, m[1]))
	}
	return strings.Join(lines, "\n") + "\n"
}

package main

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/conformance"
	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/internal/tamper"
)

const verifyFixture = `{"instances":[
  {"project_id":"p","engine":"Redis","status":"RUNNING","count":3},
  {"project_id":"p","engine":"Memcached","status":"CREATEFAILED","count":2}]}`

func TestVerifyAgainstTheFake(t *testing.T) {
	t.Parallel()
	f := startFake(t, verifyFixture)
	r := runCLI(t, nil, credsEnv(), "verify", "--endpoint", f.url, "--project-id", "p")
	assert.Equal(t, 0, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	assert.Equal(t, "ok     include_failure absent\nok     include_failure=true\nok     include_failure=false\n"+
		"ok     include_failure=TRUE\nok     wrong signature\nconformant: 0 errors, 0 notes\n", r.stdout)
	assert.Empty(t, r.stderr)

	r = runCLI(t, nil, credsEnv(), "verify", "--endpoint", f.url, "--project-id", "p", "-o", "json")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.JSONEq(t, `{"findings":[]}`, r.stdout)
}

// A server whose total is not the sum: exit 1, the field named.
func TestVerifyNamesTheField(t *testing.T) {
	t.Parallel()
	f := startFake(t, verifyFixture)
	srv := httptest.NewServer(tamper.Handler(f.Handler(), tamper.Counts(func(top map[string]any) {
		top[dcs.Running.Counter()] = 4
	})))
	t.Cleanup(srv.Close)

	r := runCLI(t, nil, credsEnv(), "verify", "--endpoint", srv.URL, "--project-id", "p")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stdout, "FAIL   include_failure absent\n         running_count: 4 is not the sum of the engines' counters (redis 3 + memcached 0)\n")
	assert.Contains(t, r.stdout, "NOT conformant: 4 errors, 0 notes\n")
	assert.Contains(t, r.stderr, "dcskit: the endpoint does not answer as the spec says")

	r = runCLI(t, nil, credsEnv(), "verify", "--endpoint", srv.URL, "--project-id", "p", "-o", "json")
	assert.Equal(t, 1, r.code)
	var report conformance.Report
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &report))
	require.Len(t, report.Findings, 4)
	assert.Equal(t, conformance.Finding{Severity: conformance.Error, Check: "include_failure=true", Field: "running_count",
		Message: "4 is not the sum of the engines' counters (redis 3 + memcached 0)"}, report.Findings[1])
}

func TestVerifyUsageErrors(t *testing.T) {
	t.Parallel()
	for name, args := range map[string][]string{
		"bad output":    {"verify", "--endpoint", "http://127.0.0.1:1", "--project-id", "p", "-o", "yaml"},
		"no project id": {"verify", "--endpoint", "http://127.0.0.1:1"},
		"argument":      {"verify", "extra"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, nil, credsEnv(), args...)
			assert.Equal(t, 2, r.code, r.stderr)
			assert.Empty(t, r.stdout)
		})
	}
}

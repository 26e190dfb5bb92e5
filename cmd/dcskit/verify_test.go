package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
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

// verify exits 0 against the fake, and 1 against a server whose total is
// not the sum, with the field named in both reports.
func TestVerify(t *testing.T) {
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

	srv := httptest.NewServer(tamper.Handler(f.Handler(), tamper.Counts(func(top map[string]any) {
		top[dcs.Running.Counter()] = 4
	})))
	t.Cleanup(srv.Close)
	r = runCLI(t, nil, credsEnv(), "verify", "--endpoint", srv.URL, "--project-id", "p")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stdout, "FAIL   include_failure absent\n         running_count: 4 is not the sum of the engines' counters (")
	assert.Contains(t, r.stdout, "NOT conformant: 4 errors, 0 notes\n")
	assert.Contains(t, r.stderr, "dcskit: the endpoint does not answer as the spec says")
	r = runCLI(t, nil, credsEnv(), "verify", "--endpoint", srv.URL, "--project-id", "p", "-o", "json")
	assert.Equal(t, 1, r.code)
	var report conformance.Report
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &report))
	require.Len(t, report.Findings, 4)
	assert.Equal(t, "include_failure=true", report.Findings[1].Check)
	assert.Equal(t, "running_count", report.Findings[1].Field)
}

// The servers of issue 12, each breaking one rule: verify exits 1 and
// names the field; a server that adds a counter is conformant, with a
// note.
func TestVerifyHostileServers(t *testing.T) {
	t.Parallel()
	engines := dcs.Engines()
	first, last := engines[0].Key(), engines[len(engines)-1].Key()
	errs := dcs.Error.Counter()
	extra := "deleting_count"
	if _, known := dcs.LookupStatus(extra); known {
		extra = "closed_count" // the drill adds deleting_count to the spec
	}
	tests := []struct {
		name     string
		change   func(*http.Request, *tamper.Answer)
		code     int
		severity conformance.Severity
		field    string
	}{
		{"negative counter", tamper.Counts(func(top map[string]any) {
			// The sum still holds: only the sign is wrong.
			tamper.Engine(top, first)[errs] = -1
			tamper.Engine(top, last)[errs] = 1
		}), 1, conformance.Error, first + "." + errs},
		{"10-character error_code", func(r *http.Request, a *tamper.Answer) {
			if r.URL.Query().Get("include_failure") == "TRUE" {
				a.Status = http.StatusBadRequest
				a.Body = []byte(`{"error_code":"DCS.400201","error_msg":"invalid include_failure"}`)
			}
		}, 1, conformance.Error, "error_code"},
		{"200 with text/html", func(_ *http.Request, a *tamper.Answer) {
			if a.Status == http.StatusOK {
				a.Header.Set("Content-Type", "text/html")
				a.Body = []byte("<html><body>maintenance</body></html>")
			}
		}, 1, conformance.Error, "Content-Type"},
		{"401 with a DCS-shaped body", func(_ *http.Request, a *tamper.Answer) {
			if a.Status == http.StatusUnauthorized {
				a.Body = []byte(`{"error_code":"111401001","error_msg":"token invalid","error_ext_msg":null}`)
			}
		}, 1, conformance.Error, "error_code"},
		{"adds " + extra, tamper.Counts(func(top map[string]any) {
			top[extra] = 0
			for _, e := range engines {
				tamper.Engine(top, e.Key())[extra] = 0
			}
		}), 0, conformance.Note, extra},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := startFake(t, verifyFixture)
			srv := httptest.NewServer(tamper.Handler(f.Handler(), tt.change))
			t.Cleanup(srv.Close)
			args := []string{"verify", "--endpoint", srv.URL, "--project-id", "p"}

			r := runCLI(t, nil, credsEnv(), args...)
			assert.Equal(t, tt.code, r.code, "%s%s", r.stdout, r.stderr)
			assert.Contains(t, r.stdout, tt.field+": ", "the text report names the field")

			r = runCLI(t, nil, credsEnv(), append(args, "-o", "json")...)
			assert.Equal(t, tt.code, r.code)
			var report conformance.Report
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &report))
			assert.True(t, slices.ContainsFunc(report.Findings, func(f conformance.Finding) bool {
				return f.Severity == tt.severity && f.Field == tt.field
			}), "no %s at %s in %+v", tt.severity, tt.field, report.Findings)
		})
	}
}

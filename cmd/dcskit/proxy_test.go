package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/dcskit/dcskit/internal/tamper"
)

func startProxy(t *testing.T, upstream string) *running {
	t.Helper()
	return start(t, &env{getenv: mapEnv(nil)}, "proxy", "--upstream", upstream, "--listen", "127.0.0.1:0")
}

func TestProxyPassesDcskitThrough(t *testing.T) {
	t.Parallel()
	f := startFake(t, verifyFixture)
	p := startProxy(t, f.url)

	r := runCLI(t, nil, credsEnv(), "status", "--endpoint", p.url, "--project-id", "p")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "RUNNING")
	r = runCLI(t, nil, credsEnv(), "verify", "--endpoint", p.url, "--project-id", "p")
	assert.Equal(t, 0, r.code, "%s%s", r.stdout, r.stderr)

	stopped := p.stop()
	assert.Equal(t, 0, stopped.code, stopped.stderr)
	assert.Contains(t, stopped.stdout, "proxy: 6 requests, 0 with violations of the spec (0 violations), 0 without an answer from upstream\n")
	assert.NotContains(t, stopped.stderr, testSK)
	assert.NotContains(t, stopped.stderr, "Signature=")
}

func TestProxyExitsOneOnAViolation(t *testing.T) {
	t.Parallel()
	f := startFake(t, verifyFixture)
	tampered := httptest.NewServer(tamper.Handler(f.Handler(), func(_ *http.Request, a *tamper.Answer) {
		a.Header.Set("Content-Type", "text/html")
	}))
	t.Cleanup(tampered.Close)
	p := startProxy(t, tampered.URL)

	r := runCLI(t, nil, credsEnv(), "status", "--endpoint", p.url, "--project-id", "p")
	assert.Equal(t, 0, r.code, "the client reads JSON whatever the label: %s", r.stderr)

	stopped := p.stop()
	assert.Equal(t, 1, stopped.code)
	assert.Contains(t, stopped.stdout, "proxy: 1 requests, 1 with violations of the spec (1 violations)")
	assert.Contains(t, stopped.stderr, "dcskit: 1 violations of the spec: see the log")
	var line string
	for l := range strings.SplitSeq(stopped.stderr, "\n") {
		if strings.Contains(l, "msg=violation") {
			line = l
		}
	}
	assert.Contains(t, line, "field=Content-Type")
	assert.Contains(t, line, "request_id="+f.Requests()[0].RequestID)
}

func TestProxyUsageErrors(t *testing.T) {
	t.Parallel()
	for name, args := range map[string][]string{
		"no upstream":      {"proxy"},
		"upstream path":    {"proxy", "--upstream", "https://dcs.example.com/prefix"},
		"upstream no host": {"proxy", "--upstream", "dcs.example.com"},
		"argument":         {"proxy", "--upstream", "https://dcs.example.com", "extra"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, nil, nil, args...)
			assert.Equal(t, 2, r.code, r.stderr)
			assert.Empty(t, r.stdout)
		})
	}
}

package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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

// A proxy stopped by a signal exits 1 if it saw a violation, else 0, and
// prints its summary either way: a CI job can wrap it.
func TestProxyExitStatusAfterASignal(t *testing.T) {
	t.Parallel()
	for sig := range signals {
		for _, violation := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s violation=%t", sig, violation), func(t *testing.T) {
				t.Parallel()
				f := startFake(t, verifyFixture)
				upstream := httptest.NewServer(tamper.Handler(f.Handler(), func(_ *http.Request, a *tamper.Answer) {
					if violation {
						a.Header.Set("Content-Type", "text/html")
					}
				}))
				t.Cleanup(upstream.Close)
				p := startProcess(t, nil, true, "proxy", "--upstream", upstream.URL, "--listen", "127.0.0.1:0")
				r := runCLI(t, nil, credsEnv(), "status", "--endpoint", p.url, "--project-id", "p")
				require.Equal(t, 0, r.code, r.stderr)

				code := p.signal(t, sig)
				n := map[bool]int{false: 0, true: 1}[violation]
				assert.Equal(t, n, code, p.stderr.String())
				assert.Contains(t, p.stdout.String(), fmt.Sprintf("proxy: 1 requests, %d with violations of the spec (%d violations)", n, n))
				if violation {
					assert.Contains(t, p.stderr.String(), "dcskit: 1 violations of the spec: see the log\n")
					assert.Regexp(t, `msg=violation request_id=`+f.Requests()[0].RequestId+` .* field=Content-Type`, p.stderr.String())
				}
				assert.NotContains(t, p.stderr.String(), "interrupted")
			})
		}
	}
}

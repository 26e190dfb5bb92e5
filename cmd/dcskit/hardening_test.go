package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/exporter"
	"github.com/dcskit/dcskit/internal/promtest"
	"github.com/dcskit/dcskit/server"
)

// impossible is the answer whose signed sums come to zero: creating 1,
// restarting -1, error 1, createfailed -1. It once let `wait
// --fail-on-error` exit 0.
const impossible = `{"creating_count":1,"restarting_count":-1,"error_count":1,"createfailed_count":-1,
	"redis":{"creating_count":1,"restarting_count":-1},
	"memcached":{"error_count":1,"createfailed_count":-1}}`

// switchingAPI answers good counts until bad is set, then impossible
// ones.
func switchingAPI(t *testing.T) (url string, bad *atomic.Bool) {
	t.Helper()
	bad = &atomic.Bool{}
	good := seedBody(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "req-x")
		if bad.Load() {
			_, _ = io.WriteString(w, impossible)
			return
		}
		_, _ = io.WriteString(w, good)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, bad
}

// TestImpossibleCountsAreAFailedCall: status, wait and the exporter treat
// a negative counter as a failed call, never as counts.
func TestImpossibleCountsAreAFailedCall(t *testing.T) {
	t.Parallel()
	t.Run("status", func(t *testing.T) {
		t.Parallel()
		url, bad := switchingAPI(t)
		bad.Store(true)
		r := runCLI(t, nil, credsEnv(), "status", "--endpoint", url, "--project-id", "p", "--include-failure")
		assert.Equal(t, 1, r.code)
		assert.Empty(t, r.stdout)
		assert.Regexp(t, `(restarting|createfailed)_count: -1 is negative`, r.stderr)
	})
	t.Run("wait", func(t *testing.T) {
		t.Parallel()
		url, bad := switchingAPI(t)
		bad.Store(true)
		clock := server.NewManualClock(epoch)
		e := &env{getenv: mapEnv(credsEnv()), clock: fakeTime{clock}}
		r := runEnv(t, nil, e, "wait", "--endpoint", url, "--project-id", "p", "--interval", "10s", "--timeout", "30s", "--fail-on-error")
		assert.Equal(t, 1, r.code)
		assert.Empty(t, r.stdout, "never settled")
		assert.NotContains(t, r.stderr, "settled")
		assert.Regexp(t, `(restarting|createfailed)_count: -1 is negative`, r.stderr)
		assert.Contains(t, r.stderr, "dcskit: timed out after 30s")
	})
	t.Run("exporter", func(t *testing.T) {
		t.Parallel()
		url, bad := switchingAPI(t)
		x := start(t, &env{getenv: mapEnv(credsEnv())}, "exporter", "--listen", "127.0.0.1:0", "--endpoint", url,
			"--project-id", serveProject, "--min-interval", "0")
		probe := strings.TrimSuffix(x.url, "/metrics") + "/probe?region=" + client.DefaultRegion + "&project_id=" + serveProject
		good := promtest.Scrape(t, probe)
		require.Equal(t, 1.0, gauge(t, good, exporter.MetricScrapeSuccess))
		bad.Store(true)
		got := promtest.Scrape(t, probe)
		assert.Equal(t, 0.0, gauge(t, got, exporter.MetricScrapeSuccess))
		assert.Equal(t, instances(t, good), instances(t, got), "the last good gauges")
		for _, m := range got[exporter.MetricInstances].GetMetric() {
			assert.GreaterOrEqual(t, m.GetGauge().GetValue(), 0.0)
		}
		r := x.stop()
		assert.Equal(t, 0, r.code)
		assert.Regexp(t, `(restarting|createfailed)_count: -1 is negative`, r.stderr)
	})
}

func TestExporterDefaultTimeoutIsBelowTheScrapeTimeout(t *testing.T) {
	t.Parallel()
	flag := newExporterCmd(&env{}).Flags().Lookup("timeout")
	require.NotNil(t, flag)
	d, err := time.ParseDuration(flag.DefValue)
	require.NoError(t, err)
	assert.Less(t, d, 10*time.Second, "Prometheus' default scrape timeout")
}

package main

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/exporter"
	"github.com/dcskit/dcskit/internal/promtest"
	"github.com/dcskit/dcskit/server"
)

// startExporter starts a fake with serveFixture and runs dcskit exporter
// against it for serveProject.
func startExporter(t *testing.T, args ...string) (*fakeDCS, *running) {
	t.Helper()
	fixture, err := os.ReadFile(serveFixture)
	require.NoError(t, err)
	f := startFake(t, string(fixture))
	return f, start(t, f.env(credsEnv("HUAWEICLOUD_SDK_PROJECT_ID", serveProject)),
		append([]string{"exporter", "--listen", "127.0.0.1:0", "--endpoint", f.url}, args...)...)
}

// gauge is the value of the one series of the named gauge.
func gauge(t *testing.T, families map[string]*dto.MetricFamily, name string) float64 {
	t.Helper()
	mf := families[name]
	require.NotNil(t, mf, name)
	require.Len(t, mf.GetMetric(), 1, name)
	return mf.GetMetric()[0].GetGauge().GetValue()
}

// instances returns the instance gauges as dcs.Counts, checking that
// every engine and status has exactly one series, zeros included, all of
// serveProject in the default region.
func instances(t *testing.T, families map[string]*dto.MetricFamily) dcs.Counts {
	t.Helper()
	require.Len(t, families[exporter.MetricInstances].GetMetric(), len(dcs.Engines())*len(dcs.Statuses()))
	return targetCounts(t, families, serveProject, client.DefaultRegion)
}

// The exporter of one target: its first scrape has data; a failing API
// leaves the last good values, with scrape_success 0 and the time of the
// last success, until it answers again.
func TestExporter(t *testing.T) {
	t.Parallel()
	f, x := startExporter(t, "--refresh-interval", "10ms")
	assert.Regexp(t, `^http://127\.0\.0\.1:\d+/metrics$`, x.url)

	got := promtest.Scrape(t, x.url)
	want := f.Counts(serveProject, true)
	require.Equal(t, int32(44), want.Total.Get(dcs.CreateFailed), "the fixture has failed creations")
	assert.Equal(t, want, instances(t, got))
	assert.Equal(t, 1.0, gauge(t, got, exporter.MetricScrapeSuccess))
	assert.Positive(t, gauge(t, got, exporter.MetricLastScrape))

	// Every attempt fails for a while: the last good values stay.
	f.InjectFault(server.Fault{Status: http.StatusInternalServerError, Times: 30}) // ten failed refreshes
	_, err := f.Add(server.Instance{ProjectID: serveProject, Engine: dcs.Redis, Status: dcs.Error})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		got = promtest.Scrape(t, x.url)
		return gauge(t, got, exporter.MetricScrapeSuccess) == 0
	}, time.Minute, time.Millisecond)
	assert.Equal(t, want, instances(t, got))
	last := gauge(t, got, exporter.MetricLastScrape)
	assert.Contains(t, x.stderr.String(), `msg="DCS instance status scrape failed"`)
	assert.Contains(t, x.stderr.String(), "after 3 attempts: HTTP 500")
	require.Eventually(t, func() bool {
		got = promtest.Scrape(t, x.url)
		return gauge(t, got, exporter.MetricScrapeSuccess) == 1
	}, time.Minute, time.Millisecond, "recovered")
	assert.Equal(t, f.Counts(serveProject, true), instances(t, got))
	assert.Equal(t, int32(1), instances(t, got).Redis.Get(dcs.Error))
	assert.Greater(t, gauge(t, got, exporter.MetricLastScrape), last)

	resp, err := http.Get(strings.TrimSuffix(x.url, "/metrics") + "/healthz")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "ok\n", string(body))

	r := x.stop()
	assert.Equal(t, 0, r.code, "a cancelled context is a graceful exit: %s", r.stderr)
	assert.NotContains(t, r.stderr, testSK)
	assert.NotContains(t, r.stderr, "Signature=")
}

// SIGTERM (a cancelled context here) cuts the calls in flight short at
// once and exits 0, although the API would take MaxFaultDelay and
// --timeout is a minute.
func TestExporterStopsAtOnce(t *testing.T) {
	t.Parallel()
	f, x := startExporter(t, "--refresh-interval", "1ms", "--timeout", "1m")
	f.InjectFault(server.Fault{Delay: server.MaxFaultDelay, Times: 100})
	calls := f.queries.Load()
	require.Eventually(t, func() bool { return f.queries.Load() > calls }, time.Minute, time.Millisecond, "a call is in flight")
	r := x.stop()
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, `msg="shutting down"`)
	require.Eventually(t, func() bool { return f.gone.Load() == 1 }, time.Minute, time.Millisecond, "the call was cut short")
}

// --min-interval is how long /probe reuses an answer.
func TestExporterMinInterval(t *testing.T) {
	t.Parallel()
	f, x := startExporter(t, "--min-interval", "1h")
	probe := strings.TrimSuffix(x.url, "/metrics") + "/probe?region=" + client.DefaultRegion + "&project_id=" + serveProject
	calls := f.queries.Load()
	first := instances(t, promtest.Scrape(t, probe))
	_, err := f.Add(server.Instance{ProjectID: serveProject, Engine: dcs.Redis, Status: dcs.Running})
	require.NoError(t, err)
	assert.Equal(t, first, instances(t, promtest.Scrape(t, probe)), "the answer is reused")
	assert.Equal(t, calls+1, f.queries.Load(), "two probes, one API call")
	assert.Equal(t, 0, x.stop().code)
}

func TestExporterUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--min-interval", "-1s"}, 2, "--min-interval and --rate must not be negative"},
		{[]string{"--rate", "-1"}, 2, "--min-interval and --rate must not be negative"},
		{[]string{"--refresh-interval", "0s"}, 2, "--refresh-interval and --timeout must be positive"},
		{[]string{"--timeout", "0s"}, 2, "--refresh-interval and --timeout must be positive"},
		{[]string{"--listen", "127.0.0.1:99999"}, 1, "listen on 127.0.0.1:99999"},
		{[]string{"--project-id", ""}, 1, "finding the project of region cn-north-4 through IAM at " + nowhere},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, nil, credsEnv(), append([]string{"exporter", "--project-id", "p", "--endpoint", "http://127.0.0.1:1"}, tt.args...)...)
			assert.Equal(t, tt.code, r.code, r.stderr)
			assert.Contains(t, r.stderr, tt.want)
			assert.Empty(t, r.stdout)
		})
	}
}

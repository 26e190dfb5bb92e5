package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/exporter"
	"github.com/dcskit/dcskit/internal/promtest"
	"github.com/dcskit/dcskit/server"
	"github.com/dcskit/dcskit/signer"
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
		good := promtest.Scrape(t, x.url)
		require.Equal(t, 1.0, gauge(t, good, exporter.MetricScrapeSuccess))
		bad.Store(true)
		got := promtest.Scrape(t, x.url)
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

// hungExporter runs the exporter against a fake that has answered once
// and now delays every answer by MaxFaultDelay.
func hungExporter(t *testing.T, args ...string) (*fakeDCS, *running, map[string]*dto.MetricFamily) {
	t.Helper()
	fixture, err := os.ReadFile(serveFixture)
	require.NoError(t, err)
	f := startFake(t, string(fixture))
	x := start(t, f.env(credsEnv("HUAWEICLOUD_SDK_PROJECT_ID", serveProject)),
		append([]string{"exporter", "--listen", "127.0.0.1:0", "--endpoint", f.url, "--min-interval", "0"}, args...)...)
	good := promtest.Scrape(t, x.url)
	require.Equal(t, 1.0, gauge(t, good, exporter.MetricScrapeSuccess))
	f.InjectFault(server.Fault{Delay: server.MaxFaultDelay, Times: 100})
	return f, x, good
}

// TestExporterAnswersWithinTheScrapeTimeout: a scrape of a hung API
// answers within the timeout Prometheus sends, with the last good gauges
// and scrape_success 0, long before the API would; the call is then
// cancelled, as no scrape waits for it.
func TestExporterAnswersWithinTheScrapeTimeout(t *testing.T) {
	t.Parallel()
	f, x, good := hungExporter(t, "--timeout", "1m")
	got, err := promtest.Get(x.url, time.Second)
	require.NoError(t, err)
	assert.Equal(t, 0.0, gauge(t, got, exporter.MetricScrapeSuccess))
	assert.Equal(t, instances(t, good), instances(t, got))
	require.Eventually(t, func() bool { return f.gone.Load() == 1 }, 30*time.Second, 10*time.Millisecond,
		"the abandoned call is cancelled, well before the fault's delay ends")
	assert.Equal(t, int32(2), f.queries.Load())
	assert.Equal(t, 0, x.stop().code)
}

// TestExporterScrapesShareTheCallInFlight: with --min-interval 0,
// concurrent scrapes of a slow API make one call.
func TestExporterScrapesShareTheCallInFlight(t *testing.T) {
	t.Parallel()
	f, x, _ := hungExporter(t)
	const scrapes = 8
	var wg sync.WaitGroup
	for range scrapes {
		wg.Go(func() {
			got, err := promtest.Get(x.url, 4*time.Second)
			if assert.NoError(t, err) {
				assert.Equal(t, 0.0, gauge(t, got, exporter.MetricScrapeSuccess))
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(2), f.queries.Load(), "one call before, one shared by the eight")
	require.Eventually(t, func() bool { return f.gone.Load() == 1 }, 30*time.Second, 10*time.Millisecond)
	assert.Equal(t, 0, x.stop().code)
}

// TestExporterStopsWithoutWaitingForTheAPI: SIGTERM (a cancelled context
// here) answers the scrape in flight at once and exits 0, although the
// API would take MaxFaultDelay and --timeout is a minute.
func TestExporterStopsWithoutWaitingForTheAPI(t *testing.T) {
	t.Parallel()
	f, x, good := hungExporter(t, "--timeout", "1m")
	answered := make(chan map[string]*dto.MetricFamily, 1)
	go func() {
		got, err := promtest.Get(x.url, 0)
		assert.NoError(t, err)
		answered <- got
	}()
	require.Eventually(t, func() bool { return f.queries.Load() == 2 }, 30*time.Second, 10*time.Millisecond, "the call is in flight")
	r := x.stop()
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, `msg="shutting down"`)
	select {
	case got := <-answered:
		assert.Equal(t, 0.0, gauge(t, got, exporter.MetricScrapeSuccess))
		assert.Equal(t, instances(t, good), instances(t, got))
	case <-time.After(30 * time.Second): // a hang guard
		t.Fatal("the scrape in flight was not answered")
	}
}

func TestExporterDefaultTimeoutIsBelowTheScrapeTimeout(t *testing.T) {
	t.Parallel()
	flag := newExporterCmd(&env{}).Flags().Lookup("timeout")
	require.NotNil(t, flag)
	d, err := time.ParseDuration(flag.DefValue)
	require.NoError(t, err)
	assert.Less(t, d, 10*time.Second, "Prometheus' default scrape timeout")
}

// TestServeListensOnLoopbackOnly: serve refuses an --addr reachable from
// other hosts unless --allow-remote, and then warns.
func TestServeListensOnLoopbackOnly(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:0", "example.com:80"} {
		t.Run(addr, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, nil, nil, "serve", "--addr", addr)
			assert.Equal(t, 2, r.code, r.stderr)
			assert.Empty(t, r.stdout)
			assert.Contains(t, r.stderr, "is not a loopback address")
			assert.Contains(t, r.stderr, "--allow-remote")
		})
	}
	r := runCLI(t, nil, nil, "serve", "--addr", "no-port")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "want host:port")

	// Allowed, it warns first; this address is not ours, so it then
	// fails to listen rather than expose anything.
	r = runCLI(t, nil, nil, "serve", "--addr", "192.0.2.1:0", "--allow-remote")
	assert.Equal(t, 1, r.code, r.stderr)
	assert.Contains(t, r.stderr, "dcskit: warning: serving on 192.0.2.1:0: other hosts can reach it")
	assert.Contains(t, r.stderr, "without credentials")
	assert.Contains(t, r.stderr, "listen on 192.0.2.1:0")

	for _, addr := range []string{"localhost:0", "127.0.0.1:0"} {
		s := start(t, &env{getenv: mapEnv(nil)}, "serve", "--addr", addr)
		r := s.stop()
		assert.Equal(t, 0, r.code, r.stderr)
		assert.NotContains(t, r.stderr, "warning")
	}
}

// TestServeAdminNeedsTheCredentials: with --ak/--sk, the admin API takes
// requests from this machine as they come (curl, a test in any language)
// and, from another host, only with a signature or the token; the server
// package's tests send those from a remote address. Here: loopback needs
// nothing, and a signed request works too.
func TestServeAdminNeedsTheCredentials(t *testing.T) {
	t.Parallel()
	const ak, sk = "AKSERVE", "sk-serve-SECRET"
	s := startServe(t, "--fixture", serveFixture, "--ak", ak, "--sk", sk)
	c := contractClient(t)
	resp, err := c.Post(s.url+"/_fake/reset", "application/json", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNoContent, resp.StatusCode, "from loopback")

	req, err := http.NewRequest(http.MethodPost, s.url+"/_fake/reset", nil)
	require.NoError(t, err)
	require.NoError(t, signer.Sign(req, nil, signer.Credentials{AccessKey: ak, SecretKey: sk}, time.Now()))
	resp, err = c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	r := s.stop()
	assert.Equal(t, 0, r.code, r.stderr)
	assert.NotContains(t, r.stderr, sk)
}

func TestServeMaxInstances(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, nil, "serve", "--addr", "127.0.0.1:0", "--max-instances", "10", "--fixture", serveFixture)
	assert.Equal(t, 2, r.code, r.stderr)
	assert.Contains(t, r.stderr, "limit MaxInstances exceeded: the instances in the store would be 64, at most 10")
	r = runCLI(t, nil, nil, "serve", "--addr", "127.0.0.1:0", "--max-instances", "0")
	assert.Equal(t, 2, r.code, r.stderr)

	s := startServe(t, "--max-instances", "10")
	resp, err := contractClient(t).Post(s.url+"/_fake/instances", "application/json",
		strings.NewReader(`{"instances":[{"project_id":"p","engine":"Redis","status":"RUNNING","count":11}]}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	assert.Equal(t, 0, s.stop().code)
}

// TestServeCutsOffAfterTheDrain: a request still running when the drain
// time is over is cut off, and serve exits 1 saying how many.
func TestServeCutsOffAfterTheDrain(t *testing.T) {
	t.Parallel()
	s := start(t, &env{getenv: mapEnv(nil), drain: 200 * time.Millisecond}, "serve", "--addr", "127.0.0.1:0")
	c := contractClient(t)
	resp, err := c.Post(s.url+"/_fake/faults", "application/json",
		strings.NewReader(fmt.Sprintf(`{"delay_ms":%d}`, server.MaxFaultDelay.Milliseconds())))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)

	// Two queries, one fault: once one is answered, the other has taken
	// the fault and is in flight.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	answers := make(chan error, 2)
	for range 2 {
		go func() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/v2/p/instances/status", nil)
			if err == nil {
				var resp *http.Response
				if resp, err = c.Do(req); err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
			answers <- err
		}()
	}
	select {
	case err := <-answers:
		require.NoError(t, err)
	case <-time.After(30 * time.Second): // a hang guard
		t.Fatal("no query answered")
	}
	r := s.stop()
	assert.Equal(t, 1, r.code, r.stderr)
	assert.Contains(t, r.stderr, `msg="shutting down" in_flight=1`)
	assert.Contains(t, r.stderr, "dcskit: shut down with 1 request(s) cut off, still in flight after draining for 200ms")
}

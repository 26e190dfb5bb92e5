package exporter_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/exporter"
	"github.com/dcskit/dcskit/internal/promtest"
)

// source is a Fetch whose answer the test sets.
type source struct {
	mu     sync.Mutex
	counts dcs.Counts
	err    error
	calls  atomic.Int32
}

func (s *source) set(c dcs.Counts, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts, s.err = c, err
}

func (s *source) fetch(context.Context) (dcs.Counts, error) {
	s.calls.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts, s.err
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func counts(redisRunning, memcachedError int32) dcs.Counts {
	var c dcs.Counts
	c.Redis[dcs.Running.Index()] = redisRunning
	c.Memcached[dcs.Error.Index()] = memcachedError
	c.Total[dcs.Running.Index()] = redisRunning
	c.Total[dcs.Error.Index()] = memcachedError
	return c
}

type fixture struct {
	src    *source
	clock  *clock
	url    string
	logs   *bytes.Buffer
	logsMu *sync.Mutex
}

func newFixture(t *testing.T, minInterval time.Duration) *fixture {
	t.Helper()
	f := &fixture{src: &source{}, clock: &clock{now: time.Unix(1_700_000_000, 0)}, logs: &bytes.Buffer{}, logsMu: &sync.Mutex{}}
	e, err := exporter.New(exporter.Options{
		Targets:     []exporter.Spec{{Region: "xx-test-1", ProjectID: "p1", Fetch: f.src.fetch}},
		MinInterval: minInterval,
		Logger:      slog.New(slog.NewTextHandler(lockedWriter{f.logs, f.logsMu}, nil)),
		Now:         f.clock.Now,
	})
	require.NoError(t, err)
	h, err := e.Handler()
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// scrape reads the exporter's /metrics.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	return promtest.Scrape(t, url+"/metrics")
}

// gauge returns the value of the sample of family name with labels.
func gauge(t *testing.T, families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	fam := families[name]
	require.NotNil(t, fam, "metric %s missing", name)
	for _, m := range fam.GetMetric() {
		if matches(m, labels) {
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("%s%v not found", name, labels)
	return 0
}

func matches(m *dto.Metric, labels map[string]string) bool {
	got := map[string]string{}
	for _, l := range m.GetLabel() {
		got[l.GetName()] = l.GetValue()
	}
	for k, v := range labels {
		if got[k] != v {
			return false
		}
	}
	return true
}

func TestNewRejectsMissingOptions(t *testing.T) {
	t.Parallel()
	fetch := func(context.Context) (dcs.Counts, error) { return dcs.Counts{}, nil }
	target := []exporter.Spec{{Region: "xx-test-1", ProjectID: "p", Fetch: fetch}}
	for _, tt := range []struct {
		name string
		opts exporter.Options
		want string
	}{
		{"nothing", exporter.Options{}, "nothing to export"},
		{"no project", exporter.Options{Targets: []exporter.Spec{{Region: "xx-test-1", Fetch: fetch}}}, "a Fetch needs a ProjectID"},
		{"no fetch", exporter.Options{Targets: []exporter.Spec{{Region: "xx-test-1", ProjectID: "p"}}}, "no Fetch and no Account"},
		{"bad region", exporter.Options{Targets: []exporter.Spec{{Region: "R 1", ProjectID: "p", Fetch: fetch}}}, "is not a region id"},
		{"bad project", exporter.Options{Targets: []exporter.Spec{{Region: "xx-test-1", ProjectID: "a/b", Fetch: fetch}}}, "is not a project id"},
		{"twice", exporter.Options{Targets: append(target, target...)}, "the same as target 1"},
		{"too many", exporter.Options{Targets: append(target, exporter.Spec{Region: "xx-test-2", ProjectID: "p", Fetch: fetch}), MaxTargets: 1}, "more than MaxTargets"},
		{"all projects, no account", exporter.Options{AllProjects: true}, "AllProjects needs an Account"},
		{"negative min", exporter.Options{Targets: target, MinInterval: -1}, "negative"},
		{"negative timeout", exporter.Options{Targets: target, Timeout: -1}, "negative"},
		{"negative bound", exporter.Options{Targets: target, MaxInFlight: -1}, "negative"},
	} {
		_, err := exporter.New(tt.opts)
		assert.ErrorContains(t, err, tt.want, tt.name)
	}
}

func TestScrapeReportsEveryEngineAndStatus(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0)
	f.src.set(counts(16, 2), nil)

	fams := scrape(t, f.url)
	inst := fams[exporter.MetricInstances]
	require.NotNil(t, inst)
	assert.Len(t, inst.GetMetric(), len(dcs.Engines())*len(dcs.Statuses()), "zeros included")
	assert.Equal(t, 16.0, gauge(t, fams, exporter.MetricInstances, map[string]string{"project_id": "p1", "region": "xx-test-1", "engine": "redis", "status": "running"}))
	assert.Equal(t, 2.0, gauge(t, fams, exporter.MetricInstances, map[string]string{"engine": "memcached", "status": "error"}))
	assert.Equal(t, 0.0, gauge(t, fams, exporter.MetricInstances, map[string]string{"engine": "memcached", "status": "createfailed"}))
	assert.Equal(t, 1.0, gauge(t, fams, exporter.MetricScrapeSuccess, nil))
	assert.Equal(t, float64(f.clock.Now().Unix()), gauge(t, fams, exporter.MetricLastScrape, nil))
	assert.Contains(t, fams, exporter.MetricScrapeSeconds)
	assert.Equal(t, 0.0, gauge(t, fams, exporter.MetricTransitional, map[string]string{"engine": "redis"}))

	// The transitional gauge sums every status the spec does not mark
	// settled, whichever they are.
	c := counts(16, 2)
	n := 0
	for _, s := range dcs.Statuses() {
		if s.Transitional() {
			c.Redis[s.Index()] = 3
			n++
		}
	}
	require.Positive(t, n)
	f.src.set(c, nil)
	fams = scrape(t, f.url)
	assert.Equal(t, float64(3*n), gauge(t, fams, exporter.MetricTransitional, map[string]string{"engine": "redis"}))
	assert.Equal(t, 0.0, gauge(t, fams, exporter.MetricTransitional, map[string]string{"engine": "memcached"}))
	assert.Contains(t, fams, "go_goroutines", "standard collectors are registered")
}

func TestFailedScrapeKeepsLastGoodValues(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0)
	f.src.set(counts(5, 0), nil)
	first := scrape(t, f.url)
	goodAt := gauge(t, first, exporter.MetricLastScrape, nil)

	f.clock.advance(time.Minute)
	f.src.set(dcs.Counts{}, errors.New("503 Service Unavailable: request id r-1"))
	fams := scrape(t, f.url)
	assert.Equal(t, 0.0, gauge(t, fams, exporter.MetricScrapeSuccess, nil))
	assert.Equal(t, 5.0, gauge(t, fams, exporter.MetricInstances, map[string]string{"engine": "redis", "status": "running"}), "last good value kept")
	assert.Equal(t, goodAt, gauge(t, fams, exporter.MetricLastScrape, nil), "timestamp of the last success, not of the failure")
	f.logsMu.Lock()
	assert.Contains(t, f.logs.String(), "scrape failed")
	assert.Contains(t, f.logs.String(), "xx-test-1")
	f.logsMu.Unlock()

	f.clock.advance(time.Minute)
	f.src.set(counts(6, 0), nil)
	fams = scrape(t, f.url)
	assert.Equal(t, 1.0, gauge(t, fams, exporter.MetricScrapeSuccess, nil))
	assert.Equal(t, 6.0, gauge(t, fams, exporter.MetricInstances, map[string]string{"engine": "redis", "status": "running"}))
}

func TestFailureBeforeAnySuccessExportsNoInstances(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0)
	f.src.set(dcs.Counts{}, errors.New("connection refused"))
	fams := scrape(t, f.url)
	assert.NotContains(t, fams, exporter.MetricInstances, "no made-up zeros")
	assert.NotContains(t, fams, exporter.MetricLastScrape)
	assert.Equal(t, 0.0, gauge(t, fams, exporter.MetricScrapeSuccess, nil))
}

func TestMinIntervalCachesAnswers(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 30*time.Second)
	f.src.set(counts(1, 0), nil)
	scrape(t, f.url)
	f.src.set(counts(2, 0), nil)
	f.clock.advance(10 * time.Second)
	fams := scrape(t, f.url)
	assert.Equal(t, int32(1), f.src.calls.Load(), "within min-interval: no API call")
	assert.Equal(t, 1.0, gauge(t, fams, exporter.MetricInstances, map[string]string{"engine": "redis", "status": "running"}))

	f.clock.advance(20 * time.Second)
	fams = scrape(t, f.url)
	assert.Equal(t, int32(2), f.src.calls.Load())
	assert.Equal(t, 2.0, gauge(t, fams, exporter.MetricInstances, map[string]string{"engine": "redis", "status": "running"}))
}

func TestConcurrentScrapesShareOneCall(t *testing.T) {
	t.Parallel()
	f := newFixture(t, time.Hour)
	f.src.set(counts(3, 0), nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { scrape(t, f.url) })
	}
	wg.Wait()
	assert.Equal(t, int32(1), f.src.calls.Load())
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0)
	resp, err := http.Get(f.url + "/healthz")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, int32(0), f.src.calls.Load(), "health checks do not call the API")
	resp2, err := http.Post(f.url+"/metrics", "text/plain", nil)
	require.NoError(t, err)
	defer resp2.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp2.StatusCode)
}

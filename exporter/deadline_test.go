package exporter_test

import (
	"context"
	"errors"
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

// hungAPI is a Fetch that answers good counts once, then blocks each call
// until the test releases it or the call's context ends.
type hungAPI struct {
	calls     atomic.Int32
	started   chan struct{}   // one value per call that blocks
	release   chan dcs.Counts // answers a blocked call
	cancelled chan error      // the context error of each call cut off
}

func newHungAPI() *hungAPI {
	return &hungAPI{started: make(chan struct{}, 100), release: make(chan dcs.Counts), cancelled: make(chan error, 100)}
}

func (h *hungAPI) fetch(ctx context.Context) (dcs.Counts, error) {
	if h.calls.Add(1) == 1 {
		return counts(5, 1), nil
	}
	h.started <- struct{}{}
	select {
	case c := <-h.release:
		return c, nil
	case <-ctx.Done():
		h.cancelled <- ctx.Err()
		return dcs.Counts{}, ctx.Err()
	}
}

// startHung serves an exporter on h with no MinInterval and an hour's
// Timeout, so that only a scrape's deadline or a cancellation ends a call.
func startHung(t *testing.T, h *hungAPI) (*exporter.Exporter, string) {
	t.Helper()
	e, err := exporter.New(exporter.Options{Targets: []exporter.Spec{{Region: "xx-test-1", ProjectID: "p1", Fetch: h.fetch}}, Timeout: time.Hour})
	require.NoError(t, err)
	t.Cleanup(e.Close)
	handler, err := e.Handler()
	require.NoError(t, err)
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return e, srv.URL + "/metrics"
}

// wait receives from ch, or fails the test after a minute: a hang guard,
// not a measure.
func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(time.Minute):
		t.Fatalf("no %s", what)
		var zero T
		return zero
	}
}

var (
	redisRunning = map[string]string{"engine": "redis", "status": "running"}
	p1           = exporter.TargetID{Region: "xx-test-1", ProjectID: "p1"}
)

// TestScrapeAnswersWithinItsDeadline: with the API hung, a scrape answers
// by the deadline Prometheus sends (less the margin) with the last good
// gauges and scrape_success 0; the call, which no scrape waits for any
// longer, is cancelled.
func TestScrapeAnswersWithinItsDeadline(t *testing.T) {
	t.Parallel()
	h := newHungAPI()
	_, url := startHung(t, h)
	first, err := promtest.Get(url, 0)
	require.NoError(t, err)
	require.Equal(t, 1.0, gauge(t, first, exporter.MetricScrapeSuccess, nil))

	fams, err := promtest.Get(url, 600*time.Millisecond) // an hour's Timeout is not what ends it
	require.NoError(t, err)
	assert.Equal(t, 0.0, gauge(t, fams, exporter.MetricScrapeSuccess, nil))
	assert.Equal(t, 5.0, gauge(t, fams, exporter.MetricInstances, redisRunning), "the last good gauges")
	assert.Equal(t, gauge(t, first, exporter.MetricLastScrape, nil), gauge(t, fams, exporter.MetricLastScrape, nil))
	assert.ErrorIs(t, wait(t, h.cancelled, "cancellation of the abandoned call"), context.Canceled)
}

// TestConcurrentScrapesShareTheCallInFlight: with no MinInterval at all,
// scrapes that come while a call is in flight wait for it and share its
// answer.
func TestConcurrentScrapesShareTheCallInFlight(t *testing.T) {
	t.Parallel()
	h := newHungAPI()
	e, url := startHung(t, h)
	_, err := promtest.Get(url, 0)
	require.NoError(t, err)

	const scrapes = 8
	results := make(chan map[string]*dto.MetricFamily, scrapes)
	var wg sync.WaitGroup
	for range scrapes {
		wg.Go(func() {
			fams, err := promtest.Get(url, 0)
			assert.NoError(t, err)
			results <- fams
		})
	}
	wait(t, h.started, "call")
	require.Eventually(t, func() bool { return exporter.Waiting(e, p1) == scrapes }, time.Minute, time.Millisecond)
	h.release <- counts(7, 0)
	wg.Wait()
	close(results)
	for fams := range results {
		assert.Equal(t, 1.0, gauge(t, fams, exporter.MetricScrapeSuccess, nil))
		assert.Equal(t, 7.0, gauge(t, fams, exporter.MetricInstances, redisRunning))
	}
	assert.Equal(t, int32(2), h.calls.Load(), "one call for the first scrape, one for the eight")
}

// TestCallOutlivesAScrapeThatLeaves: a call goes on while any scrape
// waits for it.
func TestCallOutlivesAScrapeThatLeaves(t *testing.T) {
	t.Parallel()
	h := newHungAPI()
	e, url := startHung(t, h)
	_, err := promtest.Get(url, 0)
	require.NoError(t, err)

	patient := make(chan map[string]*dto.MetricFamily, 1)
	go func() {
		fams, err := promtest.Get(url, 0)
		assert.NoError(t, err)
		patient <- fams
	}()
	wait(t, h.started, "call")
	require.Eventually(t, func() bool { return exporter.Waiting(e, p1) == 1 }, time.Minute, time.Millisecond)
	hasty, err := promtest.Get(url, 200*time.Millisecond)
	require.NoError(t, err)
	assert.Equal(t, 0.0, gauge(t, hasty, exporter.MetricScrapeSuccess, nil))
	require.Equal(t, 1, exporter.Waiting(e, p1), "the hasty scrape has left, the patient one waits on")

	h.release <- counts(9, 0)
	fams := wait(t, patient, "answer")
	assert.Equal(t, 1.0, gauge(t, fams, exporter.MetricScrapeSuccess, nil))
	assert.Equal(t, 9.0, gauge(t, fams, exporter.MetricInstances, redisRunning))
	assert.Empty(t, h.cancelled)
}

// TestCloseAnswersWaitingScrapesAtOnce: Close, which a shutting-down
// server calls, cancels the call and answers every scrape waiting for it
// with the last good gauges and scrape_success 0.
func TestCloseAnswersWaitingScrapesAtOnce(t *testing.T) {
	t.Parallel()
	h := newHungAPI()
	e, url := startHung(t, h)
	_, err := promtest.Get(url, 0)
	require.NoError(t, err)

	answered := make(chan map[string]*dto.MetricFamily, 1)
	go func() {
		fams, err := promtest.Get(url, 0)
		assert.NoError(t, err)
		answered <- fams
	}()
	wait(t, h.started, "call")
	require.Eventually(t, func() bool { return exporter.Waiting(e, p1) == 1 }, time.Minute, time.Millisecond)
	e.Close()
	fams := wait(t, answered, "answer")
	assert.Equal(t, 0.0, gauge(t, fams, exporter.MetricScrapeSuccess, nil))
	assert.Equal(t, 5.0, gauge(t, fams, exporter.MetricInstances, redisRunning))
	assert.True(t, errors.Is(wait(t, h.cancelled, "cancellation"), context.Canceled))

	fams, err = promtest.Get(url, 0)
	require.NoError(t, err)
	assert.Equal(t, 0.0, gauge(t, fams, exporter.MetricScrapeSuccess, nil), "closed for good")
	assert.Equal(t, int32(2), h.calls.Load())
}

func TestDefaultTimeoutIsBelowPrometheusDefault(t *testing.T) {
	t.Parallel()
	assert.Less(t, exporter.DefaultTimeout, 10*time.Second, "below Prometheus' default scrape timeout")
}

// Package exporter serves DCS instance counts as Prometheus metrics.
//
// Each scrape asks the API (through a Fetch func, usually the client's
// InstanceStatus), unless the last answer is younger than MinInterval. A
// failed call does not blank the metrics: the last good counts stay, and
// huaweicloud_dcs_scrape_success drops to 0, so a dashboard keeps its
// lines and an alert can fire on the failure itself.
package exporter

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dcskit/dcskit/dcs"
)

// Metric names. deploy/ names them too; a test keeps the two in step.
const (
	MetricInstances     = "huaweicloud_dcs_instances"
	MetricTransitional  = "huaweicloud_dcs_transitional_instances"
	MetricScrapeSuccess = "huaweicloud_dcs_scrape_success"
	MetricScrapeSeconds = "huaweicloud_dcs_scrape_duration_seconds"
	MetricLastScrape    = "huaweicloud_dcs_last_scrape_timestamp_seconds"
)

// Fetch returns the current counts of one project.
type Fetch func(ctx context.Context) (dcs.Counts, error)

// Options configure an Exporter. ProjectID and Fetch are required.
type Options struct {
	// ProjectID labels every instance gauge.
	ProjectID string
	// Fetch asks the API for the counts.
	Fetch Fetch
	// MinInterval is how long an answer is reused: scrapes within it do not
	// call the API. 0 calls it on every scrape.
	MinInterval time.Duration
	// Timeout bounds one API call, retries included. 0 means 30s.
	Timeout time.Duration
	// Logger receives failed API calls. nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Exporter is a prometheus.Collector for one project's instance counts.
type Exporter struct {
	opts Options

	instances, transitional, success, duration, last *prometheus.Desc

	// mu serialises API calls: concurrent scrapes wait for one call and
	// share its answer instead of each calling the API.
	mu        sync.Mutex
	fetchedAt time.Time     // when the API was last called
	ok        bool          // whether that call succeeded
	took      time.Duration // how long it took
	good      *dcs.Counts   // the last counts that arrived
	goodAt    time.Time     // when they arrived
}

var _ prometheus.Collector = (*Exporter)(nil)

// New returns an Exporter, or an error for missing options.
func New(opts Options) (*Exporter, error) {
	if opts.ProjectID == "" {
		return nil, errors.New("exporter: a project id is required")
	}
	if opts.Fetch == nil {
		return nil, errors.New("exporter: a Fetch func is required")
	}
	if opts.MinInterval < 0 || opts.Timeout < 0 {
		return nil, errors.New("exporter: intervals must not be negative")
	}
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	constLabels := prometheus.Labels{"project_id": opts.ProjectID}
	return &Exporter{
		opts: opts,
		instances: prometheus.NewDesc(MetricInstances,
			"DCS cache instances by engine and status, as the instance status API reports them.",
			[]string{"engine", "status"}, constLabels),
		transitional: prometheus.NewDesc(MetricTransitional,
			"DCS cache instances by engine in a status they leave by themselves (creating, restarting and the like: every status the spec does not mark settled).",
			[]string{"engine"}, constLabels),
		success: prometheus.NewDesc(MetricScrapeSuccess,
			"1 if the last call to the DCS instance status API succeeded, else 0.",
			nil, constLabels),
		duration: prometheus.NewDesc(MetricScrapeSeconds,
			"How long the last call to the DCS instance status API took, retries included.",
			nil, constLabels),
		last: prometheus.NewDesc(MetricLastScrape,
			"Unix time of the last successful call to the DCS instance status API.",
			nil, constLabels),
	}, nil
}

// Describe implements prometheus.Collector.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	ch <- e.instances
	ch <- e.transitional
	ch <- e.success
	ch <- e.duration
	ch <- e.last
}

// Collect implements prometheus.Collector. It calls the API unless the
// last call is younger than MinInterval.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fetchedAt.IsZero() || e.opts.Now().Sub(e.fetchedAt) >= e.opts.MinInterval {
		e.refresh()
	}

	if e.good != nil {
		statuses := dcs.Statuses()
		for _, engine := range dcs.Engines() {
			counters := e.good.Engine(engine)
			for i, s := range statuses {
				ch <- prometheus.MustNewConstMetric(e.instances, prometheus.GaugeValue,
					float64(counters[i]), engine.Key(), s.Name())
			}
			ch <- prometheus.MustNewConstMetric(e.transitional, prometheus.GaugeValue,
				float64(counters.Transitional()), engine.Key())
		}
		ch <- prometheus.MustNewConstMetric(e.last, prometheus.GaugeValue,
			float64(e.goodAt.UnixNano())/1e9)
	}
	ch <- prometheus.MustNewConstMetric(e.success, prometheus.GaugeValue, boolValue(e.ok))
	ch <- prometheus.MustNewConstMetric(e.duration, prometheus.GaugeValue, e.took.Seconds())
}

// refresh calls the API once; e.mu is held.
func (e *Exporter) refresh() {
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.Timeout)
	defer cancel()
	start := e.opts.Now()
	counts, err := e.opts.Fetch(ctx)
	end := e.opts.Now()
	e.fetchedAt, e.took, e.ok = end, end.Sub(start), err == nil
	if err != nil {
		// The client's errors carry no secrets; see client.APIError.
		e.opts.Logger.Error("DCS instance status scrape failed",
			"project_id", e.opts.ProjectID, "err", err)
		return
	}
	e.good, e.goodAt = &counts, end
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Handler serves /metrics (this exporter plus the Go and process
// collectors) and /healthz.
func (e *Exporter) Handler() (http.Handler, error) {
	reg := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{
		e,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(e.opts.Logger.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux, nil
}

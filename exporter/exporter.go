// Package exporter serves DCS instance counts as Prometheus metrics.
//
// Each scrape asks the API (through a Fetch func, usually the client's
// InstanceStatus), unless the last answer is younger than MinInterval;
// concurrent scrapes share one call (see Target). A failed call does not
// blank the metrics: the last good counts stay, and
// huaweicloud_dcs_scrape_success drops to 0, so a dashboard keeps its
// lines and an alert can fire on the failure itself. A scrape answers
// within Prometheus' scrape timeout, which it reads from
// X-Prometheus-Scrape-Timeout-Seconds, less ScrapeTimeoutMargin: if the
// API has not answered by then, with the last good counts and
// scrape_success 0.
package exporter

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
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

const (
	// DefaultTimeout bounds one API call, retries included, unless
	// Options say otherwise: below Prometheus' default scrape timeout of
	// 10s.
	DefaultTimeout = 8 * time.Second
	// ScrapeTimeoutMargin is the time left, of the scrape timeout that
	// Prometheus sends, for writing the answer (at most half of it).
	ScrapeTimeoutMargin = 500 * time.Millisecond
	// scrapeTimeoutHeader is where Prometheus sends its scrape timeout,
	// in seconds.
	scrapeTimeoutHeader = "X-Prometheus-Scrape-Timeout-Seconds"
)

// Options configure an Exporter. ProjectID and Fetch are required.
type Options struct {
	// ProjectID labels every instance gauge.
	ProjectID string
	// Fetch asks the API for the counts.
	Fetch Fetch
	// MinInterval is how long an answer is reused: scrapes within it do not
	// call the API. 0 calls it on every scrape that finds no call in
	// flight.
	MinInterval time.Duration
	// Timeout bounds one API call, retries included. 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// Logger receives failed API calls. nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Exporter is a prometheus.Collector for one project's instance counts.
type Exporter struct {
	opts   Options
	target *Target

	instances, transitional, success, duration, last *prometheus.Desc
}

var _ prometheus.Collector = (*Exporter)(nil)

// New returns an Exporter, or an error for missing options.
func New(opts Options) (*Exporter, error) {
	if opts.ProjectID == "" {
		return nil, errors.New("exporter: a project id is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	target, err := NewTarget(TargetOptions{
		Fetch:       opts.Fetch,
		MinInterval: opts.MinInterval,
		Timeout:     opts.Timeout,
		Logger:      opts.Logger.With("project_id", opts.ProjectID),
		Now:         opts.Now,
	})
	if err != nil {
		return nil, err
	}
	constLabels := prometheus.Labels{"project_id": opts.ProjectID}
	return &Exporter{
		opts:   opts,
		target: target,
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

// Collect implements prometheus.Collector, for a registry of the
// caller's: it has no scrape deadline but Timeout. Handler's scrapes
// have.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	e.collect(ch, e.target.Get(context.Background()))
}

// collect sends the metrics of snap.
func (e *Exporter) collect(ch chan<- prometheus.Metric, snap Snapshot) {
	if snap.Counts != nil {
		statuses := dcs.Statuses()
		for _, engine := range dcs.Engines() {
			counters := snap.Counts.Engine(engine)
			for i, s := range statuses {
				ch <- prometheus.MustNewConstMetric(e.instances, prometheus.GaugeValue,
					float64(counters[i]), engine.Key(), s.Name())
			}
			ch <- prometheus.MustNewConstMetric(e.transitional, prometheus.GaugeValue,
				float64(counters.Transitional()), engine.Key())
		}
		ch <- prometheus.MustNewConstMetric(e.last, prometheus.GaugeValue,
			float64(snap.GoodAt.UnixNano())/1e9)
	}
	ch <- prometheus.MustNewConstMetric(e.success, prometheus.GaugeValue, boolValue(snap.OK))
	ch <- prometheus.MustNewConstMetric(e.duration, prometheus.GaugeValue, snap.Took.Seconds())
}

// Close cancels the API call in flight and makes every scrape answer at
// once, with scrape_success 0, so that a server shutting down does not
// wait for the API. Give it to http.Server.RegisterOnShutdown.
func (e *Exporter) Close() { e.target.Close() }

// snapshot is one scrape's metrics, as a Collector.
type snapshot struct {
	e    *Exporter
	snap Snapshot
}

func (s snapshot) Describe(ch chan<- *prometheus.Desc) { s.e.Describe(ch) }
func (s snapshot) Collect(ch chan<- prometheus.Metric) { s.e.collect(ch, s.snap) }

// scrapeContext bounds a scrape by the timeout Prometheus sends, less
// ScrapeTimeoutMargin (at most half of it).
func scrapeContext(r *http.Request) (context.Context, context.CancelFunc) {
	secs, err := strconv.ParseFloat(r.Header.Get(scrapeTimeoutHeader), 64)
	if err != nil || !(secs > 0) || secs > (24*time.Hour).Seconds() {
		return context.WithCancel(r.Context())
	}
	d := time.Duration(secs * float64(time.Second))
	return context.WithTimeout(r.Context(), d-min(ScrapeTimeoutMargin, d/2))
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Handler serves /metrics (this exporter plus the Go and process
// collectors) and /healthz. Each scrape is bounded by its own deadline.
func (e *Exporter) Handler() (http.Handler, error) {
	static := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := static.Register(c); err != nil {
			return nil, err
		}
	}
	opts := promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(e.opts.Logger.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := scrapeContext(r)
		snap := e.target.Get(ctx)
		gaveUp := !snap.OK && ctx.Err() != nil
		cancel()
		if gaveUp {
			e.opts.Logger.Warn("scrape answered without waiting any longer for the API",
				"project_id", e.opts.ProjectID, "waited", snap.Took, "err", snap.Err)
		}
		// The scrape's own registry holds its snapshot: promhttp has no
		// way to hand a collector the request's deadline.
		reg := prometheus.NewPedanticRegistry()
		if err := reg.Register(snapshot{e, snap}); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		promhttp.HandlerFor(prometheus.Gatherers{static, reg}, opts).ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux, nil
}

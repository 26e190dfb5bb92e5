// Package exporter serves DCS instance counts as Prometheus metrics, two
// ways at once, as Prometheus' multi-target exporters do:
//   - /metrics: the exporter's own metrics, and those of every target of
//     Options.Targets and AllProjects. No scrape calls the API: Run
//     refreshes each target in the background (refresh.go), and a scrape
//     answers from the latest results.
//   - /probe?region=R[&project_id=P]: one target, fetched while the scrape
//     waits (blackbox_exporter's pattern), within the timeout Prometheus
//     sends less half a second. An answer is reused for MinInterval, and
//     concurrent probes of one target share one call.
//
// A failed call does not blank a target: its last good counts stay, and
// huaweicloud_dcs_scrape_success drops to 0.
package exporter

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/dcs"
)

// Metric names of every target, which deploy/ names too.
const (
	MetricInstances     = "huaweicloud_dcs_instances"
	MetricTransitional  = "huaweicloud_dcs_transitional_instances"
	MetricScrapeSuccess = "huaweicloud_dcs_scrape_success"
	MetricScrapeSeconds = "huaweicloud_dcs_scrape_duration_seconds"
	MetricLastScrape    = "huaweicloud_dcs_last_scrape_timestamp_seconds"
)

// The labels of every target's metrics, and the parameters of /probe.
const (
	labelProjectID = "project_id"
	labelRegion    = "region"
)

const (
	// DefaultTimeout is below Prometheus' default scrape timeout (10s),
	// for /probe.
	DefaultTimeout = 8 * time.Second
	// DefaultRefreshInterval is Prometheus' default scrape interval.
	// Statuses change over minutes, and a pass over 1,000 targets at
	// 300ms a call takes 37.5s at the defaults: the API is left idle a
	// third of the time, for /probe and for retries.
	DefaultRefreshInterval  = time.Minute
	DefaultProjectsInterval = 10 * time.Minute
	DefaultMaxTargets       = 1000 // a project or a few in each of some 30 regions
	DefaultMaxInFlight      = 8
	maxScrapes              = 16 // of /metrics at once, each copying every result; then 503
)

// Spec is a target as configured: a region, and a project or, if none,
// the region's project, which the Account finds.
type Spec struct {
	Region, ProjectID string
	Account           *Account // nil: Options.Account
}

// Options configure an Exporter; zero values take the defaults. It needs
// something to export: Targets, AllProjects, or an Account for /probe.
type Options struct {
	Targets     []Spec // on /metrics; a region's and its project's once
	AllProjects bool   // on /metrics, every project Account lists; see Discover
	// Account reaches /probe's targets, AllProjects', and Targets with
	// none of their own. nil: /probe serves Targets only.
	Account                           *Account
	RefreshInterval, ProjectsInterval time.Duration // see Run
	MinInterval                       time.Duration // how long /probe reuses an answer
	Timeout                           time.Duration // of one call, retries and the wait for a free call included
	// MaxTargets bounds Targets and AllProjects' together, and apart
	// those /probe remembers.
	MaxTargets  int
	MaxInFlight int          // API calls in flight
	Rate        float64      // API calls started per second (0: no bound)
	Logger      *slog.Logger // of failed calls (nil: none)
}

// Exporter serves the metrics of its targets; see the package doc.
type Exporter struct {
	opts   Options
	ctx    context.Context // the parent of every call; Run's end ends it
	cancel context.CancelFunc
	slots  chan struct{} // a token per API call in flight
	rate   *rate.Limiter
	flight singleflight.Group
	ready  chan struct{} // closed once the first pass is over
	reg    *prometheus.Registry

	mu              sync.Mutex
	targets         []*target // Options.Targets, then AllProjects'
	probed          map[targetID]*target
	listedAt        time.Time
	listErr         error
	pausedUntil     time.Time // no call starts before
	backoff         time.Duration
	passN, passDone int // Run's pass, and how many targets it refreshed
	passStart       time.Time
	passLast        time.Duration // of the last full pass
}

// New returns an Exporter, or an error for options that make none.
func New(opts Options) (*Exporter, error) {
	switch {
	case len(opts.Targets) == 0 && !opts.AllProjects && opts.Account == nil:
		return nil, errors.New("exporter: nothing to export: give Targets, AllProjects or an Account")
	case opts.AllProjects && opts.Account == nil:
		return nil, errors.New("exporter: AllProjects needs an Account")
	case min(opts.MinInterval, opts.Timeout, opts.RefreshInterval, opts.ProjectsInterval) < 0,
		opts.MaxTargets < 0, opts.MaxInFlight < 0, opts.Rate < 0:
		return nil, errors.New("exporter: intervals and bounds must not be negative")
	case len(opts.Targets) > cmp.Or(opts.MaxTargets, DefaultMaxTargets):
		return nil, fmt.Errorf("exporter: %d targets, more than MaxTargets", len(opts.Targets))
	case opts.Account == nil && slices.ContainsFunc(opts.Targets, func(s Spec) bool { return s.Account == nil }):
		return nil, errors.New("exporter: a target has no Account, and Options none")
	}
	opts.Timeout = cmp.Or(opts.Timeout, DefaultTimeout)
	opts.RefreshInterval = cmp.Or(opts.RefreshInterval, DefaultRefreshInterval)
	opts.ProjectsInterval = cmp.Or(opts.ProjectsInterval, DefaultProjectsInterval)
	opts.MaxTargets = cmp.Or(opts.MaxTargets, DefaultMaxTargets)
	opts.MaxInFlight = cmp.Or(opts.MaxInFlight, DefaultMaxInFlight)
	opts.Logger = cmp.Or(opts.Logger, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	e := &Exporter{opts: opts, ctx: ctx, cancel: cancel, slots: make(chan struct{}, opts.MaxInFlight),
		rate: rate.NewLimiter(cmp.Or(rate.Limit(opts.Rate), rate.Inf), 1), ready: make(chan struct{}),
		probed: map[targetID]*target{}, passN: 1}
	for _, s := range opts.Targets {
		s.Account = cmp.Or(s.Account, opts.Account)
		e.targets = append(e.targets, &target{Spec: s})
	}
	e.reg = e.registry()
	return e, nil
}

// Ready is closed once Run has refreshed every target, well or not.
func (e *Exporter) Ready() <-chan struct{} { return e.ready }

// Handler serves /metrics, /probe and /healthz.
func (e *Exporter) Handler() http.Handler {
	scrapes := make(chan struct{}, maxScrapes)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		select {
		case scrapes <- struct{}{}:
			defer func() { <-scrapes }()
		default:
			http.Error(w, fmt.Sprintf("%d scrapes of /metrics are served already; try again", maxScrapes), http.StatusServiceUnavailable)
			return
		}
		own, err := e.reg.Gather()
		if err != nil {
			e.opts.Logger.Error("gathering the exporter's own metrics", "err", err)
		}
		e.mu.Lock()
		targets := make([]target, len(e.targets))
		for i, t := range e.targets {
			targets[i] = *t
		}
		e.mu.Unlock()
		write(w, own, targets)
	})
	mux.HandleFunc("GET /probe", e.probe)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

// probe serves /probe: the one target the query names, or 400 for a
// query that names none, 404 for a target it cannot reach or a region
// IAM has no project for.
func (e *Exporter) probe(w http.ResponseWriter, r *http.Request) {
	s, err := probeSpec(r.URL.Query())
	if err != nil {
		http.Error(w, "bad /probe query: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.Account = e.opts.Account
	for _, t := range e.opts.Targets {
		if t.Region == s.Region && t.ProjectID == s.ProjectID && t.Account != nil {
			s.Account = t.Account // a profile of its own
		}
	}
	if s.Account == nil {
		http.Error(w, fmt.Sprintf("region %s, project %q is not a target of this exporter", s.Region, s.ProjectID), http.StatusNotFound)
		return
	}
	ctx, cancel := scrapeContext(r)
	defer cancel()
	t := e.probeTarget(ctx, s)
	if de, ok := errors.AsType[*client.DiscoveryError](t.err); ok {
		http.Error(w, de.Error(), http.StatusNotFound)
		return
	}
	write(w, nil, []target{t})
}

// probeTarget is the latest result of s: reused if younger than
// MinInterval, else that of the call in flight or of a new one. If ctx
// ends first, the call goes on for the next probe, and this one gets the
// last result, failed.
func (e *Exporter) probeTarget(ctx context.Context, s Spec) target {
	start, id := time.Now(), s.id()
	e.mu.Lock()
	t := e.probed[id]
	if t == nil {
		if len(e.probed) >= e.opts.MaxTargets {
			clear(e.probed) // a cache: each target costs one more call
		}
		t = &target{Spec: s}
		e.probed[id] = t
	}
	fresh := !t.fetchedAt.IsZero() && start.Sub(t.fetchedAt) < e.opts.MinInterval
	e.mu.Unlock()
	late := false
	if !fresh {
		done := e.flight.DoChan(id.region+"/"+id.projectID, func() (any, error) {
			ctx, cancel := context.WithTimeout(e.ctx, e.opts.Timeout)
			defer cancel()
			e.refresh(ctx, t, true)
			return nil, nil
		})
		select {
		case <-done:
		case <-ctx.Done():
			late = true
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	snap := *t
	if late {
		snap.ok, snap.took, snap.err = false, time.Since(start), context.Cause(ctx)
	}
	return snap
}

// probeSpec reads /probe's query: region once, project_id at most once,
// nothing else.
func probeSpec(q url.Values) (Spec, error) {
	for k, v := range q {
		switch {
		case k != labelRegion && k != labelProjectID:
			return Spec{}, fmt.Errorf("unknown parameter %q: /probe takes %s and %s", clip(k), labelRegion, labelProjectID)
		case len(v) > 1:
			return Spec{}, fmt.Errorf("%s given %d times", k, len(v))
		}
	}
	if !q.Has(labelRegion) {
		return Spec{}, fmt.Errorf("%s is required, as in /probe?%s=cn-north-4", labelRegion, labelRegion)
	}
	s := Spec{Region: q.Get(labelRegion), ProjectID: q.Get(labelProjectID)}
	if err := checkRegion(s.Region); err != nil {
		return Spec{}, fmt.Errorf("%s: %w", labelRegion, err)
	}
	if q.Has(labelProjectID) && !dcs.ValidProjectID(s.ProjectID) {
		return Spec{}, fmt.Errorf("%s: %q is not a project id (%s)", labelProjectID, clip(s.ProjectID), dcs.ProjectIDRule)
	}
	return s, nil
}

// scrapeContext bounds a probe by the timeout Prometheus sends, less half
// a second for the answer (at most half of it).
func scrapeContext(r *http.Request) (context.Context, context.CancelFunc) {
	secs, err := strconv.ParseFloat(r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"), 64)
	if err != nil || !(secs > 0) || secs > (24*time.Hour).Seconds() {
		return context.WithCancel(r.Context())
	}
	d := time.Duration(secs * float64(time.Second))
	return context.WithTimeout(r.Context(), d-min(500*time.Millisecond, d/2))
}

// write answers with own and the series of targets, each target once, in
// Prometheus' text format: client_golang's registry takes a quarter of a
// second for the 31,000 series of 1,000 targets, this a few milliseconds.
func write(w http.ResponseWriter, own []*dto.MetricFamily, targets []target) {
	format := expfmt.NewFormat(expfmt.TypeTextPlain)
	w.Header().Set("Content-Type", string(format))
	enc := expfmt.NewEncoder(w, format)
	for _, mf := range own {
		_ = enc.Encode(mf) // fails only for a client gone
	}
	seen := map[targetID]bool{}
	targets = slices.DeleteFunc(targets, func(t target) bool {
		dup := seen[t.id()]
		seen[t.id()] = true
		return dup
	})
	var engines, statuses []string // their labels, as the series have them
	for _, e := range dcs.Engines() {
		engines = append(engines, `engine="`+e.Key()+`",`)
	}
	for _, s := range dcs.Statuses() {
		statuses = append(statuses, `,status="`+s.Name()+`"`)
	}
	labels := make([]string, len(targets))
	for i, t := range targets {
		labels[i] = fmt.Sprintf("project_id=%q,region=%q", t.ProjectID, t.Region)
	}
	var b []byte
	var name, of string
	// sample appends a sample of name, of the target of labels of, its
	// labels in order of name.
	sample := func(before, after string, v float64) {
		b = append(append(append(append(b, name...), '{'), before...), of...)
		b = append(strconv.AppendFloat(append(append(b, after...), "} "...), v, 'g', -1, 64), '\n')
	}
	for _, f := range []struct {
		name, help string
		series     func(t *target)
	}{
		{MetricInstances, "DCS cache instances by engine and status, as the instance status API reports them.", func(t *target) {
			for e, engine := range t.engines() {
				for i, n := range t.counts.Engine(engine) {
					sample(engines[e], statuses[i], float64(n))
				}
			}
		}},
		{MetricTransitional, "DCS cache instances by engine in a status they leave by themselves (every status the spec does not mark settled).", func(t *target) {
			for e, engine := range t.engines() {
				sample(engines[e], "", float64(t.counts.Engine(engine).Transitional()))
			}
		}},
		{MetricScrapeSuccess, "1 if the last call to the DCS instance status API for this target succeeded, else 0 (also before the first).", func(t *target) {
			sample("", "", boolValue(t.ok))
		}},
		{MetricScrapeSeconds, "How long the last call to the DCS instance status API for this target took, retries included.", func(t *target) {
			sample("", "", t.took.Seconds())
		}},
		{MetricLastScrape, "Unix time of the last successful call for this target, whose counts the gauges hold; 0 if none has succeeded yet.", func(t *target) {
			at := 0.0
			if !t.goodAt.IsZero() {
				at = float64(t.goodAt.UnixNano()) / 1e9
			}
			sample("", "", at)
		}},
	} {
		name = f.name
		b = fmt.Appendf(b, "# HELP %s %s\n# TYPE %s gauge\n", f.name, f.help, f.name)
		for i := range targets {
			of = labels[i]
			f.series(&targets[i])
			if len(b) > 64<<10 {
				_, _ = w.Write(b)
				b = b[:0]
			}
		}
	}
	_, _ = w.Write(b)
}

// engines are those of t's counts, none before any success.
func (t *target) engines() []dcs.Engine {
	if t.goodAt.IsZero() {
		return nil
	}
	return dcs.Engines()
}

// registry holds the metrics of /metrics.
func (e *Exporter) registry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	gauge := func(name, help string, labels prometheus.Labels, f func() float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "dcskit_exporter_" + name, Help: help, ConstLabels: labels},
			func() float64 {
				e.mu.Lock()
				defer e.mu.Unlock()
				return f()
			}))
	}
	n := len(e.opts.Targets)
	for kind, count := range map[string]func() int{"configured": func() int { return n },
		"listed": func() int { return len(e.targets) - n }, "probed": func() int { return len(e.probed) }} {
		gauge("targets", "Targets: configured (--config, --project-id), listed (--all-projects), probed (remembered by /probe).",
			prometheus.Labels{"kind": kind}, func() float64 { return float64(count()) })
	}
	gauge("api_calls_in_flight", "Calls to the DCS and IAM APIs in flight, at most --max-in-flight.", nil,
		func() float64 { return float64(len(e.slots)) })
	gauge("refresh_pass_targets", "Configured and listed targets refreshed in the current pass, which ends once each has been.", nil,
		func() float64 { return float64(e.passDone) })
	gauge("refresh_pass_duration_seconds", "How long the last full pass over the configured and listed targets took (0 before).", nil,
		func() float64 { return e.passLast.Seconds() })
	if e.opts.AllProjects {
		gauge("project_list_success", "1 if the last listing of the account's projects (--all-projects) succeeded, else 0.", nil,
			func() float64 { return boolValue(!e.listedAt.IsZero() && e.listErr == nil) })
	}
	return reg
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

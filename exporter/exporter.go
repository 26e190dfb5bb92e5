// Package exporter serves DCS instance counts as Prometheus metrics, for
// one target (a project in a region) or many.
//
// Each target's counts come from a Target: a call to the API (a Fetch,
// usually the client's InstanceStatus) unless the last answer is younger
// than MinInterval, concurrent scrapes sharing one call. A failed call
// does not blank the metrics: the last good counts stay, and
// huaweicloud_dcs_scrape_success drops to 0, so a dashboard keeps its
// lines and an alert can fire on the failure itself. A scrape answers
// within Prometheus' scrape timeout, which it reads from
// X-Prometheus-Scrape-Timeout-Seconds, less ScrapeTimeoutMargin: if the
// API has not answered by then, with the last good counts and
// scrape_success 0.
//
// An Exporter serves two ways at once, as Prometheus' multi-target
// exporters do:
//   - /metrics: the exporter's own metrics (Go, process, targets known,
//     calls in flight), then the metrics of every configured target
//     (Options.Targets) and, with Options.AllProjects, of every project
//     the account can access, all fetched concurrently;
//   - /probe?region=R[&project_id=P]: the metrics of that one target,
//     whose project, if not given, is found through IAM, so that
//     Prometheus spreads the targets over its scrapes (see deploy/).
//
// Every resource a caller can ask for is bounded: at most MaxTargets
// targets are remembered, those /probe asked for the least recently
// forgotten first; at most MaxInFlight calls to the API are in flight,
// whatever the number of targets and scrapes; and at most 16 scrapes of
// /metrics are served at once, others waiting within their deadline.
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
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/dcs"
)

// Metric names of every target. deploy/ names them too; a test keeps the
// two in step.
const (
	MetricInstances     = "huaweicloud_dcs_instances"
	MetricTransitional  = "huaweicloud_dcs_transitional_instances"
	MetricScrapeSuccess = "huaweicloud_dcs_scrape_success"
	MetricScrapeSeconds = "huaweicloud_dcs_scrape_duration_seconds"
	MetricLastScrape    = "huaweicloud_dcs_last_scrape_timestamp_seconds"
)

// Labels of every target's metrics.
const (
	LabelProjectID = "project_id"
	LabelRegion    = "region"
)

// Query parameters of /probe: nothing else is accepted.
const (
	ParamRegion    = "region"
	ParamProjectID = "project_id"
)

// Fetch returns the current counts of one target.
type Fetch func(ctx context.Context) (dcs.Counts, error)

const (
	// DefaultTimeout bounds one API call, retries included, unless
	// Options say otherwise: below Prometheus' default scrape timeout of
	// 10s.
	DefaultTimeout = 8 * time.Second
	// ScrapeTimeoutMargin is the time left, of the scrape timeout that
	// Prometheus sends, for writing the answer (at most half of it).
	ScrapeTimeoutMargin = 500 * time.Millisecond
	// DefaultMaxTargets is how many targets an exporter remembers unless
	// Options say otherwise: each region of an account has a project or
	// a few, and there are some 30 regions.
	DefaultMaxTargets = 1000
	// DefaultMaxInFlight is how many calls to the API are in flight at
	// once unless Options say otherwise.
	DefaultMaxInFlight = 8
	// DefaultProjectsInterval is how often AllProjects lists the
	// projects again unless Options say otherwise.
	DefaultProjectsInterval = 10 * time.Minute
	// maxScrapes is how many scrapes of /metrics are served at once:
	// each waits for every target with a goroutine per target, so at most
	// 16 × MaxTargets goroutines wait (some 50 MB at 1,000 targets).
	// Prometheus scrapes once per interval, twice for a pair of servers.
	maxScrapes = 16
	// scrapeTimeoutHeader is where Prometheus sends its scrape timeout,
	// in seconds.
	scrapeTimeoutHeader = "X-Prometheus-Scrape-Timeout-Seconds"
)

// Spec is a target as configured: a region, and a project or not.
type Spec struct {
	// Region is required, such as cn-north-4.
	Region string
	// ProjectID is the project; "" means the region's project, which
	// the Account finds.
	ProjectID string
	// Account reaches the target; nil means Options.Account.
	Account Account
	// Fetch, with ProjectID, gets the counts instead of an Account.
	Fetch Fetch
}

// Options configure an Exporter. It needs something to export: Targets,
// AllProjects, or an Account for /probe.
type Options struct {
	// Targets are served on /metrics, all at once, and never forgotten.
	// At most MaxTargets, each region and project once.
	Targets []Spec
	// AllProjects serves on /metrics every project Account lists
	// (Account.Projects), in the region its name starts with, once Refresh
	// has listed them; the list is refreshed every ProjectsInterval.
	AllProjects bool
	// Account reaches the targets of /probe, of AllProjects, and those
	// of Targets with no Account or Fetch of their own. nil: /probe
	// serves Targets only.
	Account Account
	// MinInterval is how long an answer is reused: scrapes within it do not
	// call the API. 0 calls it on every scrape that finds no call in
	// flight.
	MinInterval time.Duration
	// Timeout bounds one API call, retries and the wait for a free call
	// included. 0 means DefaultTimeout.
	Timeout time.Duration
	// MaxTargets bounds the targets remembered (0: DefaultMaxTargets).
	MaxTargets int
	// MaxInFlight bounds the API calls in flight (0: DefaultMaxInFlight).
	MaxInFlight int
	// ProjectsInterval is how old AllProjects' list may grow before a
	// scrape of /metrics has it listed again in the background (0:
	// DefaultProjectsInterval).
	ProjectsInterval time.Duration
	// Logger receives failed API calls. nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Exporter serves the metrics of its targets; see the package doc. It is
// also a prometheus.Collector of its configured and listed targets.
type Exporter struct {
	opts  Options
	ctx   context.Context // ended by Close
	stop  context.CancelFunc
	table *table
	limit *limiter
	d     descs
	own   *prometheus.Registry
	// scrapes holds a token per scrape of /metrics being served.
	scrapes chan struct{}

	mu         sync.Mutex
	listed     []Spec // AllProjects' targets
	listedAt   time.Time
	listErr    error
	refreshing bool
}

var _ prometheus.Collector = (*Exporter)(nil)

// New returns an Exporter, or an error for options that make none.
func New(opts Options) (*Exporter, error) {
	if err := opts.fill(); err != nil {
		return nil, fmt.Errorf("exporter: %w", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	e := &Exporter{opts: opts, ctx: ctx, stop: stop, limit: newLimiter(opts.MaxInFlight), d: newDescs(),
		scrapes: make(chan struct{}, maxScrapes)}
	e.table = newTable(opts.MaxTargets, e.newTarget)
	own, err := e.ownRegistry()
	if err != nil {
		stop()
		return nil, err
	}
	e.own = own
	return e, nil
}

// fill checks o and sets its defaults.
func (o *Options) fill() error {
	switch {
	case len(o.Targets) == 0 && !o.AllProjects && o.Account == nil:
		return errors.New("nothing to export: give Targets, AllProjects or an Account")
	case o.AllProjects && o.Account == nil:
		return errors.New("AllProjects needs an Account")
	case o.MinInterval < 0 || o.Timeout < 0 || o.ProjectsInterval < 0:
		return errors.New("intervals must not be negative")
	case o.MaxTargets < 0 || o.MaxInFlight < 0:
		return errors.New("MaxTargets and MaxInFlight must not be negative")
	}
	o.Timeout = cmp.Or(o.Timeout, DefaultTimeout)
	o.MaxTargets = cmp.Or(o.MaxTargets, DefaultMaxTargets)
	o.MaxInFlight = cmp.Or(o.MaxInFlight, DefaultMaxInFlight)
	o.ProjectsInterval = cmp.Or(o.ProjectsInterval, DefaultProjectsInterval)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if len(o.Targets) > o.MaxTargets {
		return fmt.Errorf("%d targets, more than MaxTargets (%d)", len(o.Targets), o.MaxTargets)
	}
	seen := map[TargetID]int{}
	for i, s := range o.Targets {
		at := fmt.Sprintf("target %d (region %s, project %s)", i+1, s.Region, s.ProjectID)
		if err := CheckRegion(s.Region); err != nil {
			return fmt.Errorf("target %d: region: %w", i+1, err)
		}
		if s.ProjectID != "" {
			if err := CheckProjectID(s.ProjectID); err != nil {
				return fmt.Errorf("target %d: project id: %w", i+1, err)
			}
		}
		switch {
		case s.Fetch != nil && s.ProjectID == "":
			return fmt.Errorf("%s: a Fetch needs a ProjectID", at)
		case s.Fetch == nil && s.Account == nil && o.Account == nil:
			return fmt.Errorf("%s: no Fetch and no Account", at)
		}
		// Targets without a project may be one region in several
		// accounts; scrapeAll serves each project they find once.
		id := TargetID{s.Region, s.ProjectID}
		if j, dup := seen[id]; dup && s.ProjectID != "" {
			return fmt.Errorf("%s: the same as target %d", at, j)
		}
		seen[id] = i + 1
	}
	return nil
}

// newTarget makes the Target of id: its calls go through account's
// Fetch, or fetch, and wait for one of MaxInFlight.
func (e *Exporter) newTarget(id TargetID, account Account, fetch Fetch) (*Target, error) {
	if fetch == nil {
		f, err := account.Fetch(id.Region, id.ProjectID)
		if err != nil {
			return nil, err
		}
		fetch = f
	}
	return NewTarget(TargetOptions{
		Fetch: func(ctx context.Context) (counts dcs.Counts, err error) {
			err = e.limit.do(ctx, func() error {
				counts, err = fetch(ctx)
				return err
			})
			return counts, err
		},
		MinInterval: e.opts.MinInterval,
		Timeout:     e.opts.Timeout,
		Logger:      e.opts.Logger.With(LabelProjectID, id.ProjectID, LabelRegion, id.Region),
		Now:         e.opts.Now,
	})
}

// result is what one scrape found of one target.
type result struct {
	id   TargetID
	snap Snapshot
}

// scrape gets the metrics of the target of s, of kind k, within ctx:
// its project found first if s has none.
func (e *Exporter) scrape(ctx context.Context, s Spec, k kind) result {
	start := e.opts.Now()
	id := TargetID{s.Region, s.ProjectID}
	account := s.Account
	if account == nil && s.Fetch == nil {
		account = e.opts.Account
	}
	failed := func(err error) result {
		return result{id, Snapshot{Took: e.opts.Now().Sub(start), Err: err}}
	}
	if id.ProjectID == "" {
		err := e.limit.do(ctx, func() (err error) {
			id.ProjectID, err = account.ProjectID(ctx, s.Region)
			return err
		})
		if err != nil {
			e.opts.Logger.Error("finding the project of a region failed", LabelRegion, s.Region, "err", err)
			return failed(err)
		}
	}
	ent, err := e.table.get(id, account, s.Fetch, k, s.Account != nil || s.Fetch != nil)
	if err != nil {
		return failed(err)
	}
	return result{id, ent.target.Get(ctx)}
}

// targets are the configured and listed targets, with their kind; a
// stale list is listed again in the background.
func (e *Exporter) targets() ([]Spec, []kind) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.opts.AllProjects && !e.refreshing && e.ctx.Err() == nil &&
		(e.listedAt.IsZero() || e.opts.Now().Sub(e.listedAt) >= e.opts.ProjectsInterval) {
		e.refreshing = true
		go func() {
			ctx, cancel := context.WithTimeout(e.ctx, e.opts.Timeout)
			defer cancel()
			_ = e.Refresh(ctx) // logged
			e.mu.Lock()
			e.refreshing = false
			e.mu.Unlock()
		}()
	}
	specs := slices.Concat(e.opts.Targets, e.listed)
	kinds := make([]kind, len(specs))
	for i := range specs {
		kinds[i] = configured
		if i >= len(e.opts.Targets) {
			kinds[i] = listed
		}
	}
	return specs, kinds
}

// scrapeAll scrapes every configured and listed target concurrently
// (the calls among them wait for one of MaxInFlight), each target once.
func (e *Exporter) scrapeAll(ctx context.Context) []result {
	specs, kinds := e.targets()
	results := make([]result, len(specs))
	var wg sync.WaitGroup
	for i, s := range specs {
		wg.Go(func() { results[i] = e.scrape(ctx, s, kinds[i]) })
	}
	wg.Wait()
	// Two specs may be one target (a region's and its project's): the
	// same series twice would fail the whole scrape.
	seen := make(map[TargetID]bool, len(results))
	return slices.DeleteFunc(results, func(r result) bool {
		dup := seen[r.id]
		seen[r.id] = true
		return dup
	})
}

// Refresh lists the projects of the Account again, for AllProjects:
// every enabled project named after a region (cn-north-4, or
// cn-north-4_dev for a subproject) is a target, the first MaxTargets
// less len(Targets) of them in order of name. On failure the list stays
// as it was. A scrape of /metrics calls it in the background when the
// list is older than ProjectsInterval; call it once before serving.
func (e *Exporter) Refresh(ctx context.Context) error {
	if !e.opts.AllProjects {
		return nil
	}
	var projects []client.Project
	err := e.limit.do(ctx, func() (err error) {
		projects, err = e.opts.Account.Projects(ctx)
		return err
	})
	e.mu.Lock()
	defer e.mu.Unlock()
	e.listedAt, e.listErr = e.opts.Now(), err
	if err != nil {
		e.opts.Logger.Error("listing the projects failed; the last list stays", "err", err)
		return err
	}
	slices.SortFunc(projects, func(a, b client.Project) int { return strings.Compare(a.Name+"\x00"+a.ID, b.Name+"\x00"+b.ID) })
	room := e.opts.MaxTargets - len(e.opts.Targets)
	var specs []Spec
	keep := map[TargetID]bool{}
	for _, p := range projects {
		region, ok := projectRegion(p.Name)
		if !ok || !p.Enabled || CheckProjectID(p.ID) != nil || keep[TargetID{region, p.ID}] {
			continue
		}
		if len(specs) == room {
			e.opts.Logger.Error("more projects than the exporter may remember; the rest are left out",
				"max_targets", e.opts.MaxTargets, "projects", len(projects))
			break
		}
		specs = append(specs, Spec{Region: region, ProjectID: p.ID})
		keep[TargetID{region, p.ID}] = true
	}
	e.listed = specs
	e.table.unlist(keep)
	return nil
}

// Describe implements prometheus.Collector.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) { e.d.describe(ch) }

// Collect implements prometheus.Collector, for a registry of the
// caller's: the configured and listed targets, with no scrape deadline
// but Timeout. Handler's scrapes have one.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	for _, r := range e.scrapeAll(context.Background()) {
		e.d.collect(ch, r)
	}
}

// Close cancels the API calls in flight, and makes every scrape answer
// at once, with scrape_success 0, so that a server shutting down does
// not wait for the API. Give it to http.Server.RegisterOnShutdown.
func (e *Exporter) Close() {
	e.stop()
	e.table.close()
}

// descs describe every target's metrics.
type descs struct {
	instances, transitional, success, duration, last *prometheus.Desc
}

func newDescs() descs {
	target := []string{LabelProjectID, LabelRegion}
	return descs{
		instances: prometheus.NewDesc(MetricInstances,
			"DCS cache instances by engine and status, as the instance status API reports them.",
			append(slices.Clip(target), "engine", "status"), nil),
		transitional: prometheus.NewDesc(MetricTransitional,
			"DCS cache instances by engine in a status they leave by themselves (creating, restarting and the like: every status the spec does not mark settled).",
			append(slices.Clip(target), "engine"), nil),
		success: prometheus.NewDesc(MetricScrapeSuccess,
			"1 if the last call to the DCS instance status API for this target succeeded, else 0.",
			target, nil),
		duration: prometheus.NewDesc(MetricScrapeSeconds,
			"How long the last call to the DCS instance status API for this target took, retries included.",
			target, nil),
		last: prometheus.NewDesc(MetricLastScrape,
			"Unix time of the last successful call to the DCS instance status API for this target.",
			target, nil),
	}
}

func (d descs) describe(ch chan<- *prometheus.Desc) {
	ch <- d.instances
	ch <- d.transitional
	ch <- d.success
	ch <- d.duration
	ch <- d.last
}

// collect sends the metrics of r.
func (d descs) collect(ch chan<- prometheus.Metric, r result) {
	project, region, snap := r.id.ProjectID, r.id.Region, r.snap
	if snap.Counts != nil {
		statuses := dcs.Statuses()
		for _, engine := range dcs.Engines() {
			counters := snap.Counts.Engine(engine)
			for i, s := range statuses {
				ch <- prometheus.MustNewConstMetric(d.instances, prometheus.GaugeValue,
					float64(counters[i]), project, region, engine.Key(), s.Name())
			}
			ch <- prometheus.MustNewConstMetric(d.transitional, prometheus.GaugeValue,
				float64(counters.Transitional()), project, region, engine.Key())
		}
		ch <- prometheus.MustNewConstMetric(d.last, prometheus.GaugeValue,
			float64(snap.GoodAt.UnixNano())/1e9, project, region)
	}
	ch <- prometheus.MustNewConstMetric(d.success, prometheus.GaugeValue, boolValue(snap.OK), project, region)
	ch <- prometheus.MustNewConstMetric(d.duration, prometheus.GaugeValue, snap.Took.Seconds(), project, region)
}

// scraped is one scrape's results, as a Collector.
type scraped struct {
	d       descs
	results []result
}

func (s scraped) Describe(ch chan<- *prometheus.Desc) { s.d.describe(ch) }
func (s scraped) Collect(ch chan<- prometheus.Metric) {
	for _, r := range s.results {
		s.d.collect(ch, r)
	}
}

// ownRegistry holds the metrics of the exporter itself: Go, process, and
// what an operator needs to see its bounds.
func (e *Exporter) ownRegistry() (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	cs := []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "dcskit_exporter_max_targets",
			Help: "How many targets the exporter remembers at most (--max-targets).",
		}, func() float64 { return float64(e.opts.MaxTargets) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "dcskit_exporter_targets_forgotten_total",
			Help: "Targets of /probe forgotten, the least recently asked for first, to remember newer ones within --max-targets.",
		}, func() float64 { return float64(e.table.evicted.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "dcskit_exporter_api_calls_in_flight",
			Help: "Calls to the DCS and IAM APIs in flight.",
		}, func() float64 { return float64(e.limit.inFlight()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "dcskit_exporter_api_calls_waiting",
			Help: "Calls to the DCS and IAM APIs waiting for one of --max-in-flight to end.",
		}, func() float64 { return float64(e.limit.waiting.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "dcskit_exporter_max_api_calls_in_flight",
			Help: "How many calls to the DCS and IAM APIs are in flight at most (--max-in-flight).",
		}, func() float64 { return float64(e.opts.MaxInFlight) }),
	}
	for _, k := range []struct {
		kind kind
		name string
	}{{configured, "configured"}, {listed, "listed"}, {probed, "probed"}} {
		cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "dcskit_exporter_targets",
			Help:        "Targets the exporter remembers: configured (--config, --project-id), listed (--all-projects), probed (asked for on /probe).",
			ConstLabels: prometheus.Labels{"kind": k.name},
		}, func() float64 { return float64(e.table.counts()[k.kind]) }))
	}
	if e.opts.AllProjects {
		cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "dcskit_exporter_project_list_success",
			Help: "1 if the last listing of the account's projects (--all-projects) succeeded, else 0.",
		}, func() float64 {
			e.mu.Lock()
			defer e.mu.Unlock()
			return boolValue(!e.listedAt.IsZero() && e.listErr == nil)
		}))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

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

// Handler serves /metrics, /probe and /healthz. Each scrape is bounded by
// its own deadline.
func (e *Exporter) Handler() (http.Handler, error) {
	opts := promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(e.opts.Logger.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := scrapeContext(r)
		select {
		case e.scrapes <- struct{}{}:
			defer func() { <-e.scrapes }()
		case <-ctx.Done():
			cancel()
			http.Error(w, fmt.Sprintf("%d scrapes of /metrics are served already; try again", maxScrapes), http.StatusServiceUnavailable)
			return
		}
		results := e.scrapeAll(ctx)
		e.noteGaveUp(ctx, results)
		cancel()
		e.serve(w, r, opts, e.own, results)
	})
	mux.HandleFunc("GET /probe", func(w http.ResponseWriter, r *http.Request) {
		e.probe(w, r, opts)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux, nil
}

// serve answers with the metrics of results after those of static.
func (e *Exporter) serve(w http.ResponseWriter, r *http.Request, opts promhttp.HandlerOpts, static prometheus.Gatherer, results []result) {
	// The scrape's own registry holds its results: promhttp has no way
	// to hand a collector the request's deadline.
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(scraped{e.d, results}); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	gatherers := prometheus.Gatherers{reg}
	if static != nil {
		gatherers = prometheus.Gatherers{static, reg}
	}
	promhttp.HandlerFor(gatherers, opts).ServeHTTP(w, r)
}

// noteGaveUp logs that a scrape answered before the API did, for some
// of its targets.
func (e *Exporter) noteGaveUp(ctx context.Context, results []result) {
	if ctx.Err() == nil {
		return
	}
	var late []result
	for _, r := range results {
		if !r.snap.OK {
			late = append(late, r)
		}
	}
	if len(late) > 0 {
		e.opts.Logger.Warn("scrape answered without waiting any longer for the API", "targets", len(late),
			LabelProjectID, late[0].id.ProjectID, LabelRegion, late[0].id.Region, "err", context.Cause(ctx))
	}
}

// probe serves /probe: the metrics of the one target the query names,
// or 400 for a query that names none, 404 for a region IAM has no
// project for, 503 when the exporter may remember no more targets.
func (e *Exporter) probe(w http.ResponseWriter, r *http.Request, opts promhttp.HandlerOpts) {
	spec, err := probeSpec(r.URL.Query())
	if err != nil {
		http.Error(w, "bad /probe query: "+err.Error(), http.StatusBadRequest)
		return
	}
	spec, k := e.probeTarget(spec)
	if spec.Account == nil && spec.Fetch == nil && e.opts.Account == nil {
		http.Error(w, fmt.Sprintf("region %s, project %q is not a target of this exporter", spec.Region, spec.ProjectID), http.StatusNotFound)
		return
	}
	ctx, cancel := scrapeContext(r)
	res := e.scrape(ctx, spec, k)
	e.noteGaveUp(ctx, []result{res})
	cancel()
	if de, ok := errors.AsType[*client.DiscoveryError](res.snap.Err); ok {
		http.Error(w, de.Error(), http.StatusNotFound)
		return
	}
	if errors.Is(res.snap.Err, errFull) {
		http.Error(w, fmt.Sprintf("%v (%d, --max-targets)", errFull, e.opts.MaxTargets), http.StatusServiceUnavailable)
		return
	}
	e.serve(w, r, opts, nil, []result{res})
}

// probeSpec reads /probe's query: region once, project_id at most once,
// nothing else.
func probeSpec(q url.Values) (Spec, error) {
	for k, v := range q {
		switch {
		case k != ParamRegion && k != ParamProjectID:
			return Spec{}, fmt.Errorf("unknown parameter %q: /probe takes %s and %s", clip(k), ParamRegion, ParamProjectID)
		case len(v) > 1:
			return Spec{}, fmt.Errorf("%s given %d times", k, len(v))
		}
	}
	if !q.Has(ParamRegion) {
		return Spec{}, fmt.Errorf("%s is required, as in /probe?%s=cn-north-4", ParamRegion, ParamRegion)
	}
	s := Spec{Region: q.Get(ParamRegion), ProjectID: q.Get(ParamProjectID)}
	if err := CheckRegion(s.Region); err != nil {
		return Spec{}, fmt.Errorf("%s: %w", ParamRegion, err)
	}
	if q.Has(ParamProjectID) {
		if err := CheckProjectID(s.ProjectID); err != nil {
			return Spec{}, fmt.Errorf("%s: %w", ParamProjectID, err)
		}
	}
	return s, nil
}

// probeTarget is the configured or listed target that s names, which
// knows its account; or else s, a probed target of the default account.
func (e *Exporter) probeTarget(s Spec) (Spec, kind) {
	specs, kinds := e.targets()
	for i, c := range specs {
		if c.Region == s.Region && c.ProjectID == s.ProjectID {
			return c, kinds[i]
		}
	}
	return s, probed
}

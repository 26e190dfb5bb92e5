// Package exporter serves DCS instance counts as Prometheus metrics
// (docs/many-projects.md): on /metrics, the exporter's own and those of
// every target of Options.Targets and AllProjects, which Run refreshes in
// the background, so that no scrape calls the API; on /probe, one target,
// fetched while the scrape waits, as blackbox_exporter does. A failed call
// keeps a target's last good counts, its scrape_success 0.
package exporter

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"go.yaml.in/yaml/v3"
	"golang.org/x/sync/semaphore"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/internal/clock"
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
const labelProjectID, labelRegion = "project_id", "region"

const (
	DefaultTimeout = 8 * time.Second // below Prometheus' default scrape timeout (10s), for /probe
	// Statuses change over minutes, and 1,000 targets at 300ms a call take
	// 37.5s at the defaults, which leaves a third for /probe and retries.
	DefaultRefreshInterval  = time.Minute
	DefaultProjectsInterval = 10 * time.Minute
	DefaultMaxTargets       = 1000 // a project or a few in each of some 30 regions
	DefaultMaxInFlight      = 8
	maxScrapes              = 16 // of /metrics at once; then 503
)

// Spec is a target: a region, and a project or, if none, the region's
// project, which the Account finds.
type Spec struct {
	Region, ProjectID string
	Account           *Account // nil: Options.Account
}

// Options configure an Exporter; zero values take the defaults.
type Options struct {
	Targets     []Spec // on /metrics; a region's and its project's once
	AllProjects bool   // on /metrics, every project Account lists; see Discover
	// Account reaches /probe's targets, AllProjects', and Targets without
	// one. nil: /probe serves Targets only.
	Account                           *Account
	RefreshInterval, ProjectsInterval time.Duration // see Run
	MinInterval                       time.Duration // how long /probe reuses an answer
	Timeout                           time.Duration // of one call, retries and the wait for a free call included
	MaxTargets                        int           // of Targets and AllProjects' together, and apart of /probe's
	MaxInFlight                       int           // API calls in flight
	Rate                              float64       // API calls started per second (0: no bound)
	Logger                            *slog.Logger  // of failed calls (nil: none)
}

// Exporter serves the metrics of its targets; see the package doc.
type Exporter struct {
	opts      Options
	ctx       context.Context // the parent of every call; Run's end ends it
	cancel    context.CancelFunc
	slots     chan struct{} // a token per API call in flight
	rate      *rate.Limiter
	flight    singleflight.Group
	ready     chan struct{} // closed once the first pass is over
	readyOnce sync.Once
	reg       *prometheus.Registry

	mu          sync.Mutex
	targets     []*target // Options.Targets, then AllProjects'
	probed      map[targetID]*target
	listedAt    time.Time
	listErr     error
	pausedUntil time.Time // no call starts before
	backoff     time.Duration
	passStart   time.Time     // of Run's pass over targets
	passDone    int           // targets it refreshed
	passLast    time.Duration // of the last full pass
}

// New returns an Exporter, or an error for options that make none.
func New(opts Options) (*Exporter, error) {
	switch {
	case opts.AllProjects && opts.Account == nil:
		return nil, errors.New("exporter: AllProjects needs an Account")
	case min(opts.MinInterval, opts.Timeout, opts.RefreshInterval, opts.ProjectsInterval) < 0,
		opts.MaxTargets < 0, opts.MaxInFlight < 0, opts.Rate < 0:
		return nil, errors.New("exporter: intervals and bounds must not be negative")
	case len(opts.Targets) > cmp.Or(opts.MaxTargets, DefaultMaxTargets):
		return nil, fmt.Errorf("exporter: %d targets, more than the %d of MaxTargets (--max-targets)", len(opts.Targets), cmp.Or(opts.MaxTargets, DefaultMaxTargets))
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
		probed: map[targetID]*target{}}
	for _, s := range opts.Targets {
		s.Account = cmp.Or(s.Account, opts.Account)
		e.targets = append(e.targets, newTarget(s))
	}
	e.reg = e.registry()
	return e, nil
}

// Ready is closed once Run has refreshed every target, well or not.
func (e *Exporter) Ready() <-chan struct{} { return e.ready }

// Handler serves /metrics, /probe and /healthz.
func (e *Exporter) Handler() http.Handler {
	scrapes := semaphore.NewWeighted(maxScrapes)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		if !scrapes.TryAcquire(1) {
			http.Error(w, fmt.Sprintf("%d scrapes of /metrics are served already; try again", maxScrapes), http.StatusServiceUnavailable)
			return
		}
		defer scrapes.Release(1)
		own, err := e.reg.Gather()
		if err != nil {
			e.opts.Logger.Error("gathering the exporter's own metrics", "err", err)
		}
		e.mu.Lock()
		all, seen := make([]*series, 0, len(e.targets)), make(map[targetID]bool, len(e.targets))
		for _, t := range e.targets {
			if !seen[t.id()] { // a region's project, configured by id too
				seen[t.id()] = true
				all = append(all, t.series)
			}
		}
		e.mu.Unlock()
		write(w, r, own, all)
	})
	mux.HandleFunc("GET /probe", e.probe)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

// probe serves the latest result of the one target the query names:
// reused if younger than MinInterval, else that of the call in flight or
// of a new one. A probe that ends first gets the last result, failed, and
// the call goes on for the next.
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
	start, id := time.Now(), s.id()
	e.mu.Lock()
	t := e.probed[id]
	if t == nil {
		if len(e.probed) >= e.opts.MaxTargets {
			clear(e.probed) // a cache: each target costs one more call
		}
		t = newTarget(s)
		e.probed[id] = t
	}
	fresh := !t.fetchedAt.IsZero() && start.Sub(t.fetchedAt) < e.opts.MinInterval
	e.mu.Unlock()
	late := false
	if !fresh {
		select {
		case <-e.flight.DoChan(id.region+"/"+id.projectID, func() (any, error) { e.refresh(t, true); return nil, nil }):
		case <-ctx.Done():
			late = true
		}
	}
	e.mu.Lock()
	got := *t
	e.mu.Unlock()
	if late {
		got.ok, got.took = false, time.Since(start)
		got.series = got.build()
	} else if de, ok := errors.AsType[*client.DiscoveryError](got.err); ok {
		http.Error(w, de.Error(), http.StatusNotFound)
		return
	}
	write(w, r, nil, []*series{got.series})
}

// probeSpec reads /probe's query: region once, project_id at most once.
func probeSpec(q url.Values) (Spec, error) {
	for k, v := range q {
		switch {
		case k != labelRegion && k != labelProjectID:
			return Spec{}, fmt.Errorf("unknown parameter %.80q: /probe takes %s and %s", k, labelRegion, labelProjectID)
		case len(v) > 1:
			return Spec{}, fmt.Errorf("%s given %d times", k, len(v))
		}
	}
	s := Spec{Region: q.Get(labelRegion), ProjectID: q.Get(labelProjectID)}
	switch {
	case !q.Has(labelRegion):
		return Spec{}, fmt.Errorf("%s is required, as in /probe?%s=cn-north-4", labelRegion, labelRegion)
	case q.Has(labelProjectID) && s.ProjectID == "":
		return Spec{}, fmt.Errorf(`%s: "" is not a project id (%s)`, labelProjectID, dcs.ProjectIDRule)
	}
	return s, s.check()
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

// families are the metrics of every target, in the order of a series.
var families = [...]struct{ name, help string }{
	{MetricInstances, "DCS cache instances by engine and status, as the instance status API reports them."},
	{MetricTransitional, "DCS cache instances by engine in a status they leave by themselves (every status the spec does not mark settled)."},
	{MetricScrapeSuccess, "1 if the last call to the DCS instance status API for this target succeeded, else 0 (also before the first)."},
	{MetricScrapeSeconds, "How long the last call to the DCS instance status API for this target took, retries included."},
	{MetricLastScrape, "Unix time of the last successful call for this target, whose counts the gauges hold; 0 if none has succeeded yet."},
}

// series are a target's samples per family, and their text, built when
// its result arrives: a scrape of 1,000 targets joins their text in 3ms,
// where Registry took 70ms to gather them and expfmt 18ms to encode them.
type series struct {
	metrics [len(families)][]*dto.Metric
	text    [len(families)][]byte // # HELP and # TYPE, then the samples
	samples [len(families)]int    // where in text the samples start
}

// newTarget is a target of s, visible as never fetched.
func newTarget(s Spec) *target {
	t := &target{Spec: s}
	t.series = t.build()
	return t
}

// build returns t's series as they stand.
func (t *target) build() *series {
	label := func(name, value string) *dto.LabelPair { return &dto.LabelPair{Name: &name, Value: &value} }
	project, region := label(labelProjectID, t.ProjectID), label(labelRegion, t.Region)
	gauge := func(v float64, labels ...*dto.LabelPair) *dto.Metric {
		return &dto.Metric{Label: labels, Gauge: &dto.Gauge{Value: &v}}
	}
	var s series
	m := &s.metrics
	at := 0.0
	if !t.goodAt.IsZero() { // else no counts, rather than made-up zeros
		at = float64(t.goodAt.UnixNano()) / 1e9
		for _, e := range dcs.Engines() {
			engine, c := label("engine", e.Key()), t.counts.Engine(e)
			for _, st := range dcs.Statuses() {
				m[0] = append(m[0], gauge(float64(c.Get(st)), engine, project, region, label("status", st.Name())))
			}
			m[1] = append(m[1], gauge(float64(c.Transitional()), engine, project, region))
		}
	}
	m[2] = []*dto.Metric{gauge(boolValue(t.ok), project, region)}
	m[3] = []*dto.Metric{gauge(t.took.Seconds(), project, region)}
	m[4] = []*dto.Metric{gauge(at, project, region)}
	for i, mf := range s.families() {
		var b bytes.Buffer
		if _, err := expfmt.MetricFamilyToText(&b, mf); err == nil && len(mf.Metric) > 0 {
			t := b.Bytes()
			help := bytes.IndexByte(t, '\n') + 1
			s.text[i], s.samples[i] = t, help+bytes.IndexByte(t[help:], '\n')+1
		}
	}
	return &s
}

// families are the metrics of s, a family each.
func (s *series) families() (out [len(families)]*dto.MetricFamily) {
	for i, f := range families {
		out[i] = &dto.MetricFamily{Name: &f.name, Help: &f.help, Type: dto.MetricType_GAUGE.Enum(), Metric: s.metrics[i]}
	}
	return out
}

// write answers with own and the families of all, in the format the
// request accepts, as promhttp does, in 64 KiB writes rather than 4.
func write(w http.ResponseWriter, r *http.Request, own []*dto.MetricFamily, all []*series) {
	format := expfmt.NegotiateAccept(r.Header, expfmt.DefaultAcceptedFormats()...)
	text := format.FormatType() == expfmt.TypeTextPlain
	for i, mf := range new(series).families() {
		for _, s := range all {
			mf.Metric = append(mf.Metric, s.metrics[i]...)
		}
		if len(mf.Metric) > 0 && !text { // the text is joined below
			own = append(own, mf)
		}
	}
	w.Header().Set("Content-Type", string(format))
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := expfmt.NewEncoder(bw, format)
	for _, mf := range own {
		if enc.Encode(mf) != nil {
			return // the client has gone
		}
	}
	for i := range families { // text: each family's header once, then every sample
		from := 0
		for _, s := range all {
			if text && s.text[i] != nil {
				_, _ = bw.Write(s.text[i][from:])
				from = s.samples[i] // the same header for every target
			}
		}
	}
	_ = enc.(expfmt.Closer).Close()
	_ = bw.Flush()
}

// registry holds the exporter's own metrics.
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

// An Account reaches the API with one set of credentials (a profile's,
// say); its clients share one client.IAM, which keeps each region's project.
type Account struct {
	opts []client.Option
	iam  *client.IAM
}

// NewAccount returns the Account of opts, the options of client.New but
// each target's region and project id. Its clients pause every call when
// they retry a 429 or 503, unless opts replace the retry policy.
func NewAccount(opts ...client.Option) (*Account, error) {
	opts = append([]client.Option{client.WithRetry(client.RetryPolicy{CheckRetry: checkRetry})}, opts...)
	iam, err := client.NewIAM(opts...)
	if err != nil {
		return nil, err
	}
	return &Account{opts: slices.Clip(opts), iam: iam}, nil
}

// Credentials returns an error if the account has no usable credentials
// now (a *client.CredentialsError), so that a program can refuse to serve.
func (a *Account) Credentials(ctx context.Context) error {
	c, err := client.New(append(a.opts, client.WithIAM(a.iam))...)
	if err == nil {
		_, err = c.Credentials(ctx)
	}
	return err
}

type configTarget struct {
	Region    string `yaml:"region"`
	ProjectID string `yaml:"project_id"`
	Profile   string `yaml:"profile"`
}

const maxConfigSize = 1 << 20 // DefaultMaxTargets targets take some 150 KB

// ReadConfig reads the targets of `dcskit exporter --config FILE`
// (docs/many-projects.md): each with account, or the Account that profile
// makes of its profile file, relative to FILE, once per file. Every error
// names the file and the target at fault.
func ReadConfig(path string, account *Account, profile func(file string) (*Account, error)) (_ []Spec, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("configuration %s: %w", path, err)
		}
	}()
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.Unwrap(err) // the *PathError repeats the path
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, err
	}
	var c struct {
		Targets []configTarget `yaml:"targets"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	switch err := dec.Decode(&c); {
	case len(data) > maxConfigSize:
		return nil, fmt.Errorf("larger than %d KiB", maxConfigSize>>10)
	case errors.Is(err, io.EOF):
		return nil, errors.New("empty: want targets, a list of {region, project_id, profile}")
	case err != nil:
		return nil, fmt.Errorf("not a configuration (targets, a list of {region, project_id, profile}): %s", yamlError(err))
	case !errors.Is(dec.Decode(new(any)), io.EOF):
		return nil, errors.New("more than one YAML document")
	case len(c.Targets) == 0: // and too many for MaxTargets, New says
		return nil, errors.New("no targets")
	}
	accounts := map[string]*Account{"": account}
	seen := map[configTarget]int{}
	specs := make([]Spec, len(c.Targets))
	for i, t := range c.Targets {
		at := fmt.Sprintf("targets[%d]", i)
		if t.Region == "" {
			return nil, fmt.Errorf("%s: region is required", at)
		}
		if err := (Spec{Region: t.Region, ProjectID: t.ProjectID}).check(); err != nil {
			return nil, fmt.Errorf("%s.%w", at, err)
		}
		if j, dup := seen[t]; dup {
			return nil, fmt.Errorf("%s: the same target as targets[%d]", at, j)
		}
		seen[t] = i
		if t.Profile != "" && !filepath.IsAbs(t.Profile) {
			t.Profile = filepath.Join(filepath.Dir(path), t.Profile)
		}
		a, ok := accounts[t.Profile]
		if !ok {
			if a, err = profile(t.Profile); err != nil {
				return nil, fmt.Errorf("%s.profile: %w", at, err)
			}
			accounts[t.Profile] = a
		}
		specs[i] = Spec{Region: t.Region, ProjectID: t.ProjectID, Account: a}
	}
	return specs, nil
}

// goType is how yaml names Go types, which mean nothing to a file's author.
var goType = regexp.MustCompile(` (in type|into) [\w.\[\]*{}" :]+`)

// yamlError is err, one line per mistake, in the file's terms.
func yamlError(err error) string {
	if te, ok := errors.AsType[*yaml.TypeError](err); ok {
		return goType.ReplaceAllString(strings.Join(te.Errors, "; "), "")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

var regionID = regexp.MustCompile(dcs.RegionPattern)

// check says what is wrong with s's region or project id, as the spec
// has them, repeating at most 80 characters of them.
func (s Spec) check() error {
	if len(s.Region) > 64 || !regionID.MatchString(s.Region) {
		return fmt.Errorf("%s: %.80q is not a region id (%s)", labelRegion, s.Region, dcs.RegionRule)
	}
	if s.ProjectID != "" && !dcs.ValidProjectID(s.ProjectID) {
		return fmt.Errorf("%s: %.80q is not a project id (%s)", labelProjectID, s.ProjectID, dcs.ProjectIDRule)
	}
	return nil
}

type pauseKey struct{} // holds Exporter.pause in the context of a call

// checkRetry is client.DefaultCheckRetry that, before the client retries
// a 429 or 503, pauses every call for its Retry-After (0: a backoff). The
// last attempt, which it never sees, pauses them through its APIError.
func checkRetry(ctx context.Context, resp *http.Response, err error) bool {
	if pause, ok := ctx.Value(pauseKey{}).(func(time.Duration)); ok && resp != nil && slowDown(resp.StatusCode) {
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		pause(time.Duration(max(secs, 0)) * time.Second)
	}
	return client.DefaultCheckRetry(ctx, resp, err)
}

func slowDown(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
}

type targetID struct{ region, projectID string }

func (s Spec) id() targetID { return targetID{s.Region, s.ProjectID} }

// target is one target and its latest results, in constant memory.
type target struct { // guarded by Exporter.mu
	Spec
	due       time.Time // of Run's next refresh
	busy      bool      // Run's refresh is under way
	counts    dcs.Counts
	goodAt    time.Time // when counts arrived; zero before any success
	ok        bool      // the last call succeeded
	err       error     // why not
	took      time.Duration
	fetchedAt time.Time // when the last call ended
	series    *series   // of the above
}

// Run refreshes the configured and listed targets, and for AllProjects
// lists the projects every ProjectsInterval, until ctx ends; then it
// cancels every call in flight, /probe's too. The first pass calls every
// target as fast as MaxInFlight and Rate allow; then each falls due
// RefreshInterval, less up to a tenth, after its last call ended, so that
// calls made together drift apart over the interval.
func (e *Exporter) Run(ctx context.Context) {
	context.AfterFunc(ctx, e.cancel)
	if e.opts.AllProjects {
		go func() {
			for clock.Sleep(e.ctx, e.opts.ProjectsInterval) == nil {
				ctx, cancel := context.WithTimeout(e.ctx, e.opts.Timeout)
				_ = e.Discover(ctx) // logged; the last good list stays
				cancel()
			}
		}()
	}
	e.mu.Lock()
	e.passStart = time.Now()
	e.endPass()
	e.mu.Unlock()
	for {
		release, err := e.admit(e.ctx)
		if err != nil {
			return
		}
		e.mu.Lock()
		var next *target // the most overdue
		for _, t := range e.targets {
			if !t.busy && (next == nil || t.due.Before(next.due)) {
				next = t
			}
		}
		wait := e.opts.RefreshInterval * 9 / 10 // all busy: none falls due sooner
		if next != nil {
			wait = time.Until(next.due)
			next.busy = wait <= 0
		}
		e.mu.Unlock()
		if wait > 0 {
			release()
			_ = clock.Sleep(e.ctx, wait) // a new listed target waits too, visible as never fetched
			continue
		}
		go func() {
			defer release()
			e.refresh(next, false)
		}()
	}
}

// refresh calls the API for t, its project found first if it has none,
// and records the outcome. Run admitted its calls already (admit false),
// and counts them in its passes.
func (e *Exporter) refresh(t *target, admit bool) {
	ctx, cancel := context.WithTimeout(e.ctx, e.opts.Timeout)
	defer cancel()
	start := time.Now()
	e.mu.Lock()
	s := t.Spec
	e.mu.Unlock()
	var st client.Status
	err := e.call(ctx, admit, func(ctx context.Context) (err error) {
		if s.ProjectID == "" {
			if s.ProjectID, err = s.Account.iam.ProjectID(ctx, s.Region); err != nil {
				return fmt.Errorf("finding the project of region %s: %w", s.Region, err)
			}
		}
		// A project id of the environment or a profile cannot be every region's.
		c, err := client.New(append(s.Account.opts, client.WithIAM(s.Account.iam), client.WithRegion(s.Region), client.WithProjectID(s.ProjectID))...)
		if err == nil {
			// Failed creations count, as in every command of dcskit but status.
			st, err = c.InstanceStatus(ctx, client.IncludeFailure())
		}
		return err
	})
	end := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	t.ProjectID, t.busy, t.ok, t.err, t.took, t.fetchedAt = s.ProjectID, false, err == nil, err, end.Sub(start), end
	t.due = end.Add(e.opts.RefreshInterval - rand.N(e.opts.RefreshInterval/10+1))
	if err != nil {
		// The client's errors carry no secrets; see client.APIError.
		e.opts.Logger.Error("DCS instance status scrape failed", labelProjectID, s.ProjectID, labelRegion, s.Region, "err", err)
	} else if t.counts, t.goodAt = st.Counts, end; !end.Before(e.pausedUntil) {
		e.backoff = 0
	}
	t.series = t.build()
	if !admit {
		e.endPass()
	}
}

// endPass counts the targets refreshed since the pass began (a probe's are
// others), and starts the next once each has been; e.mu is held.
func (e *Exporter) endPass() {
	e.passDone = 0
	for _, t := range e.targets {
		if t.fetchedAt.After(e.passStart) {
			e.passDone++
		}
	}
	if e.passDone < len(e.targets) || e.opts.AllProjects && e.listedAt.IsZero() {
		return
	}
	now := time.Now()
	e.passDone, e.passStart, e.passLast = 0, now, now.Sub(e.passStart)
	e.readyOnce.Do(func() { close(e.ready) })
}

// call runs f, admitted first if admit, with a context through which the
// account's client pauses every call (checkRetry), as a 429 or 503 does.
func (e *Exporter) call(ctx context.Context, admit bool, f func(context.Context) error) error {
	if admit {
		release, err := e.admit(ctx)
		if err != nil {
			return err
		}
		defer release()
	}
	err := f(context.WithValue(ctx, pauseKey{}, e.pause))
	if ae, ok := errors.AsType[*client.APIError](err); ok && slowDown(ae.StatusCode) {
		e.pause(0)
	}
	return err
}

// admit waits, within ctx, until no pause holds, Rate allows one more
// call, and one of MaxInFlight is free; release frees that one.
func (e *Exporter) admit(ctx context.Context) (release func(), err error) {
	e.mu.Lock()
	paused := time.Until(e.pausedUntil)
	e.mu.Unlock()
	if err := clock.Sleep(ctx, paused); err != nil {
		return nil, fmt.Errorf("the API asked to slow down: %w", err)
	}
	if err := e.rate.Wait(ctx); err != nil {
		return nil, fmt.Errorf("--rate: %w", err)
	}
	select {
	case e.slots <- struct{}{}:
		return func() { <-e.slots }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for one of the %d calls in flight to end: %w", cap(e.slots), context.Cause(ctx))
	}
}

// pause stops every call from starting after a 429 or 503: for after,
// its Retry-After, or else a backoff that doubles from 1s while the API
// keeps asking; a minute at most, as the client's retries wait. A success
// after the pause resets the backoff.
func (e *Exporter) pause(after time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	if now.Before(e.pausedUntil) {
		return // calls in flight together slow down once, and a pause never grows
	}
	e.backoff = min(max(2*e.backoff, time.Second), time.Minute)
	d := min(cmp.Or(after, e.backoff), time.Minute)
	e.pausedUntil = now.Add(d)
	e.opts.Logger.Warn("the API asks to slow down: no call starts for a while", "for", d)
}

// Discover lists the projects of the Account, for AllProjects: every
// enabled project named after a region (cn-north-4, or cn-north-4_dev
// for a subproject) is a target, the first MaxTargets less len(Targets)
// of them by name. One no longer listed is dropped, a new one refreshed
// first; on failure the list stays. Call it before Run, which waits for a
// list, to check the credentials.
func (e *Exporter) Discover(ctx context.Context) error {
	if !e.opts.AllProjects {
		return nil
	}
	var projects []client.Project
	err := e.call(ctx, true, func(ctx context.Context) (err error) {
		projects, err = e.opts.Account.iam.Projects(ctx)
		return err
	})
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.listedAt, e.listErr = time.Now(), err; err != nil {
		e.opts.Logger.Error("listing the projects failed; the last list stays", "err", err)
		return err
	}
	slices.SortFunc(projects, func(a, b client.Project) int { return strings.Compare(a.Name+"\x00"+a.ID, b.Name+"\x00"+b.ID) })
	n := len(e.opts.Targets)
	held := map[targetID]*target{}
	for _, t := range e.targets[n:] {
		held[t.id()] = t
	}
	e.targets = e.targets[:n:n]
	for _, p := range projects {
		region, _, _ := strings.Cut(p.Name, "_") // IAM's MOS, of no region, has none
		if (Spec{Region: region, ProjectID: p.ID}).check() != nil || p.ID == "" || !p.Enabled {
			continue
		}
		if len(e.targets) == e.opts.MaxTargets {
			e.opts.Logger.Error("more projects than --max-targets; the rest are left out", "max_targets", e.opts.MaxTargets)
			break
		}
		t := held[targetID{region, p.ID}]
		if t == nil {
			t = newTarget(Spec{Region: region, ProjectID: p.ID, Account: e.opts.Account})
		}
		e.targets = append(e.targets, t)
	}
	e.endPass()
	return nil
}

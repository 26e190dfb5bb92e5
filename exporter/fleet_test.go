package exporter_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/exporter"
	"github.com/dcskit/dcskit/internal/promtest"
)

// account is an exporter.Account in memory: its projects, and the counts
// of each (the running Redis instances are the target's number).
type account struct {
	mu       sync.Mutex
	projects []client.Project
	failing  map[string]error // by project id
	// hold, if set, makes each fetch wait for a value, or for its
	// context to end; started hears of each fetch that waits.
	hold    chan struct{}
	started chan string
	// running, if set, is every target's running Redis instances.
	running int32

	fetches, lookups atomic.Int32
}

var _ exporter.Account = (*account)(nil)

func newAccount(projects ...client.Project) *account {
	for i := range projects {
		projects[i].Enabled = true
	}
	return &account{projects: projects, failing: map[string]error{}}
}

func (a *account) setFailing(project string, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failing[project] = err
}

func (a *account) ProjectID(_ context.Context, region string) (string, error) {
	a.lookups.Add(1)
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range a.projects {
		if p.Name == region {
			return p.ID, nil
		}
	}
	return "", &client.DiscoveryError{Region: region, Endpoint: "https://iam.test", Visible: a.projects}
}

func (a *account) Projects(context.Context) ([]client.Project, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]client.Project(nil), a.projects...), nil
}

func (a *account) Fetch(_, projectID string) (exporter.Fetch, error) {
	return func(ctx context.Context) (dcs.Counts, error) {
		a.fetches.Add(1)
		if a.hold != nil {
			a.started <- projectID
			select {
			case <-a.hold:
			case <-ctx.Done():
				return dcs.Counts{}, ctx.Err()
			}
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		if err := a.failing[projectID]; err != nil {
			return dcs.Counts{}, err
		}
		return counts(cmp.Or(a.running, int32(len(projectID))), 0), nil
	}, nil
}

// serveExporter serves an Exporter of opts.
func serveExporter(t *testing.T, opts exporter.Options) (*exporter.Exporter, string) {
	t.Helper()
	e, err := exporter.New(opts)
	require.NoError(t, err)
	t.Cleanup(e.Close)
	h, err := e.Handler()
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return e, srv.URL
}

// probe GETs /probe with query, and returns the status and body.
func probe(t *testing.T, base, query string) (int, string) {
	t.Helper()
	resp, err := http.Get(base + "/probe?" + query)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// probed scrapes /probe with query, which must succeed.
func probed(t *testing.T, base, query string) map[string]*dto.MetricFamily {
	t.Helper()
	return promtest.Scrape(t, base+"/probe?"+query)
}

// target are the labels of one target.
func target(project, region string) map[string]string {
	return map[string]string{"project_id": project, "region": region}
}

// running is the target's running Redis instances.
func running(project, region string) map[string]string {
	l := target(project, region)
	l["engine"], l["status"] = "redis", "running"
	return l
}

// targets lists the (project, region) pairs that scrape_success has.
func targets(fams map[string]*dto.MetricFamily) []string {
	var out []string
	for _, m := range fams[exporter.MetricScrapeSuccess].GetMetric() {
		l := map[string]string{}
		for _, p := range m.GetLabel() {
			l[p.GetName()] = p.GetValue()
		}
		out = append(out, l["region"]+"/"+l["project_id"])
	}
	return out
}

var (
	north = client.Project{ID: "p-north", Name: "cn-north-4"}
	south = client.Project{ID: "p-southeast", Name: "ap-southeast-1"}
)

func TestProbeServesOneTarget(t *testing.T) {
	t.Parallel()
	a := newAccount(north, south)
	_, base := serveExporter(t, exporter.Options{Account: a})

	fams := probed(t, base, "region=cn-north-4")
	assert.Equal(t, []string{"cn-north-4/p-north"}, targets(fams), "the project is found through the account")
	assert.Equal(t, float64(len("p-north")), gauge(t, fams, exporter.MetricInstances, running("p-north", "cn-north-4")))
	assert.Len(t, fams[exporter.MetricInstances].GetMetric(), len(dcs.Engines())*len(dcs.Statuses()))
	assert.Equal(t, 1.0, gauge(t, fams, exporter.MetricScrapeSuccess, target("p-north", "cn-north-4")))
	assert.Contains(t, fams, exporter.MetricScrapeSeconds)
	assert.NotContains(t, fams, "go_goroutines", "/probe serves the target only")

	fams = probed(t, base, "region=ap-southeast-1&project_id=p-other")
	assert.Equal(t, []string{"ap-southeast-1/p-other"}, targets(fams), "a project id given is not looked up")
	assert.Equal(t, int32(1), a.lookups.Load())
}

// A query /probe cannot serve is answered with what is wrong, never with
// made-up metrics.
func TestProbeRefusesBadQueries(t *testing.T) {
	t.Parallel()
	a := newAccount(north)
	_, base := serveExporter(t, exporter.Options{Account: a})
	for _, tt := range []struct {
		query  string
		status int
		want   string
	}{
		{"", 400, "region is required"},
		{"project_id=p-north", 400, "region is required"},
		{"region=", 400, `"" is not a region id`},
		{"region=CN-NORTH-4", 400, "is not a region id"},
		{"region=cn-north-4&region=cn-north-1", 400, "region given 2 times"},
		{"region=cn-north-4&target=x", 400, `unknown parameter "target"`},
		{"region=cn-north-4&project_id=", 400, "is not a project id"},
		{"region=cn-north-4&project_id=" + url.QueryEscape("a/b"), 400, "is not a project id"},
		{"region=" + strings.Repeat("a-", 40) + "1", 400, "is not a region id"},
		{"region=eu-nowhere-9", 404, `IAM at https://iam.test has no project named "eu-nowhere-9"; the credentials can access cn-north-4 (p-north)`},
	} {
		status, body := probe(t, base, tt.query)
		assert.Equal(t, tt.status, status, tt.query)
		assert.Contains(t, body, tt.want, tt.query)
	}
	assert.Zero(t, a.fetches.Load())
}

// Without an Account, /probe serves the configured targets only.
func TestProbeWithoutAccount(t *testing.T) {
	t.Parallel()
	src := &source{}
	src.set(counts(4, 0), nil)
	_, base := serveExporter(t, exporter.Options{Targets: []exporter.Spec{{Region: "cn-north-4", ProjectID: "p1", Fetch: src.fetch}}})
	fams := probed(t, base, "region=cn-north-4&project_id=p1")
	assert.Equal(t, 4.0, gauge(t, fams, exporter.MetricInstances, running("p1", "cn-north-4")))
	status, body := probe(t, base, "region=cn-north-4&project_id=p2")
	assert.Equal(t, http.StatusNotFound, status)
	assert.Contains(t, body, `region cn-north-4, project "p2" is not a target of this exporter`)
}

// The exporter remembers at most MaxTargets targets: /probe's least
// recently asked for is forgotten first, configured ones never.
func TestProbeTargetsAreBounded(t *testing.T) {
	t.Parallel()
	a := newAccount()
	e, base := serveExporter(t, exporter.Options{
		Account: a, MinInterval: time.Hour, MaxTargets: 3,
		Targets: []exporter.Spec{{Region: "cn-north-4", ProjectID: "configured"}},
	})
	for _, p := range []string{"p1", "p2", "p1", "p3"} {
		probed(t, base, "region=cn-north-4&project_id="+p)
	}
	assert.Equal(t, int32(3), a.fetches.Load(), "p1 asked twice within MinInterval: one call")
	own := promtest.Scrape(t, base+"/metrics")
	assert.Equal(t, 1.0, gauge(t, own, "dcskit_exporter_targets", map[string]string{"kind": "configured"}))
	assert.Equal(t, 2.0, gauge(t, own, "dcskit_exporter_targets", map[string]string{"kind": "probed"}))
	assert.Equal(t, 1.0, own["dcskit_exporter_targets_forgotten_total"].GetMetric()[0].GetCounter().GetValue(), "p2, the least recently asked for")
	assert.Equal(t, 3.0, gauge(t, own, "dcskit_exporter_max_targets", nil))
	require.Equal(t, int32(4), a.fetches.Load(), "the scrape of /metrics fetched the configured target")

	probed(t, base, "region=cn-north-4&project_id=p1")
	assert.Equal(t, int32(4), a.fetches.Load(), "p1 is remembered")
	probed(t, base, "region=cn-north-4&project_id=p2")
	assert.Equal(t, int32(5), a.fetches.Load(), "p2 was forgotten: a new call")
	assert.True(t, exporter.Find(e, exporter.TargetID{Region: "cn-north-4", ProjectID: "configured"}), "configured targets are never forgotten")
}

// When every target the exporter may remember is configured, /probe of
// another says so.
func TestProbeWhenFull(t *testing.T) {
	t.Parallel()
	a := newAccount()
	_, base := serveExporter(t, exporter.Options{
		Account: a, MaxTargets: 1, Targets: []exporter.Spec{{Region: "cn-north-4", ProjectID: "configured"}},
	})
	promtest.Scrape(t, base+"/metrics")
	status, body := probe(t, base, "region=cn-north-4&project_id=other")
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.Contains(t, body, "all are configured (1, --max-targets)")
	fams := probed(t, base, "region=cn-north-4&project_id=configured")
	assert.Equal(t, 1.0, gauge(t, fams, exporter.MetricScrapeSuccess, target("configured", "cn-north-4")))
}

// /metrics serves every configured target; one failing hides no other.
func TestMetricsServesEveryTarget(t *testing.T) {
	t.Parallel()
	a := newAccount(north, south)
	_, base := serveExporter(t, exporter.Options{Account: a, Targets: []exporter.Spec{
		{Region: "cn-north-4"},
		{Region: "ap-southeast-1"},
		{Region: "ap-southeast-1", ProjectID: "p-southeast"}, // the same target as the one before
		{Region: "eu-nowhere-9"},
	}})
	fams := promtest.Scrape(t, base+"/metrics")
	assert.ElementsMatch(t, []string{"cn-north-4/p-north", "ap-southeast-1/p-southeast", "eu-nowhere-9/"}, targets(fams))
	assert.Equal(t, 1.0, gauge(t, fams, exporter.MetricScrapeSuccess, target("p-north", "cn-north-4")))
	assert.Equal(t, 0.0, gauge(t, fams, exporter.MetricScrapeSuccess, target("", "eu-nowhere-9")), "no project in that region")
	assert.Contains(t, fams, "go_goroutines")

	a.setFailing("p-north", errors.New("HTTP 500"))
	fams = promtest.Scrape(t, base+"/metrics")
	assert.Equal(t, 0.0, gauge(t, fams, exporter.MetricScrapeSuccess, target("p-north", "cn-north-4")))
	assert.Equal(t, float64(len("p-north")), gauge(t, fams, exporter.MetricInstances, running("p-north", "cn-north-4")), "the last good values")
	assert.Equal(t, 1.0, gauge(t, fams, exporter.MetricScrapeSuccess, target("p-southeast", "ap-southeast-1")))
	assert.Equal(t, float64(len("p-southeast")), gauge(t, fams, exporter.MetricInstances, running("p-southeast", "ap-southeast-1")))
}

// However many targets, at most MaxInFlight calls are in flight; the
// others wait, and the exporter's own metrics show it.
func TestCallsInFlightAreBounded(t *testing.T) {
	t.Parallel()
	const targetCount, maxInFlight = 5, 2
	a := newAccount()
	a.hold, a.started = make(chan struct{}), make(chan string, targetCount)
	var specs []exporter.Spec
	for i := range targetCount {
		specs = append(specs, exporter.Spec{Region: "cn-north-4", ProjectID: fmt.Sprintf("p%d", i)})
	}
	_, base := serveExporter(t, exporter.Options{Account: a, Targets: specs, MaxInFlight: maxInFlight, Timeout: time.Hour})

	done := make(chan map[string]*dto.MetricFamily, 1)
	go func() {
		fams, err := promtest.Get(base+"/metrics", 0)
		assert.NoError(t, err)
		done <- fams
	}()
	for range maxInFlight {
		wait(t, a.started, "call")
	}
	require.Eventually(t, func() bool {
		fams := ownMetrics(t, base)
		return gauge(t, fams, "dcskit_exporter_api_calls_waiting", nil) == targetCount-maxInFlight
	}, time.Minute, time.Millisecond)
	fams := ownMetrics(t, base)
	assert.Equal(t, float64(maxInFlight), gauge(t, fams, "dcskit_exporter_api_calls_in_flight", nil))
	assert.Equal(t, float64(maxInFlight), gauge(t, fams, "dcskit_exporter_max_api_calls_in_flight", nil))
	assert.Len(t, a.started, 0, "no third call started")

	close(a.hold)
	got := wait(t, done, "scrape")
	assert.Len(t, targets(got), targetCount)
	for _, s := range specs {
		assert.Equal(t, 1.0, gauge(t, got, exporter.MetricScrapeSuccess, target(s.ProjectID, s.Region)))
	}
}

// ownMetrics are the exporter's own metrics, scraped with a deadline so
// short that no target is waited for.
func ownMetrics(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := promtest.Get(base+"/metrics", time.Millisecond)
	require.NoError(t, err)
	return fams
}

// AllProjects serves every project named after a region, subprojects
// included; a list that changes lets go of the projects it lost.
func TestAllProjects(t *testing.T) {
	t.Parallel()
	a := newAccount(north, south,
		client.Project{ID: "p-dev", Name: "cn-north-4_dev"},
		client.Project{ID: "p-mos", Name: "MOS"}, // IAM's project of no region
	)
	a.projects = append(a.projects, client.Project{ID: "p-off", Name: "cn-east-3"}) // disabled
	e, base := serveExporter(t, exporter.Options{Account: a, AllProjects: true})
	require.NoError(t, e.Refresh(t.Context()))

	fams := promtest.Scrape(t, base+"/metrics")
	assert.ElementsMatch(t, []string{"cn-north-4/p-north", "ap-southeast-1/p-southeast", "cn-north-4/p-dev"}, targets(fams))
	assert.Equal(t, 3.0, gauge(t, fams, "dcskit_exporter_targets", map[string]string{"kind": "listed"}))
	assert.Equal(t, 1.0, gauge(t, fams, "dcskit_exporter_project_list_success", nil))

	a.mu.Lock()
	a.projects = []client.Project{north}
	a.projects[0].Enabled = true
	a.mu.Unlock()
	require.NoError(t, e.Refresh(t.Context()))
	fams = promtest.Scrape(t, base+"/metrics")
	assert.Equal(t, []string{"cn-north-4/p-north"}, targets(fams))
	assert.Equal(t, 1.0, gauge(t, fams, "dcskit_exporter_targets", map[string]string{"kind": "listed"}))
	assert.Equal(t, 2.0, gauge(t, fams, "dcskit_exporter_targets", map[string]string{"kind": "probed"}), "to be forgotten first")
}

// AllProjects serves at most MaxTargets projects, less the configured
// targets.
func TestAllProjectsAreBounded(t *testing.T) {
	t.Parallel()
	var projects []client.Project
	for i := range 5 {
		projects = append(projects, client.Project{ID: fmt.Sprintf("p%d", i), Name: fmt.Sprintf("xx-region-%d", i)})
	}
	a := newAccount(projects...)
	e, base := serveExporter(t, exporter.Options{
		Account: a, AllProjects: true, MaxTargets: 3,
		Targets: []exporter.Spec{{Region: "cn-north-4", ProjectID: "configured"}},
	})
	require.NoError(t, e.Refresh(t.Context()))
	fams := promtest.Scrape(t, base+"/metrics")
	assert.ElementsMatch(t, []string{"cn-north-4/configured", "xx-region-0/p0", "xx-region-1/p1"}, targets(fams))
}

// A scrape of /metrics lists the projects again once the list is older
// than ProjectsInterval, in the background.
func TestAllProjectsListedAgain(t *testing.T) {
	t.Parallel()
	a := newAccount(north)
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	e, base := serveExporter(t, exporter.Options{Account: a, AllProjects: true, ProjectsInterval: time.Minute, Now: clk.Now})
	require.NoError(t, e.Refresh(t.Context()))
	a.mu.Lock()
	a.projects = append(a.projects, client.Project{ID: "p-southeast", Name: "ap-southeast-1", Enabled: true})
	a.mu.Unlock()
	assert.Len(t, targets(promtest.Scrape(t, base+"/metrics")), 1, "the list is fresh")
	clk.advance(time.Minute)
	require.Eventually(t, func() bool {
		return len(targets(promtest.Scrape(t, base+"/metrics"))) == 2
	}, time.Minute, time.Millisecond)
}

// At most 16 scrapes of /metrics are served at once, each fanning out to
// every target; another waits for one to end, within its deadline.
func TestScrapesOfMetricsAreBounded(t *testing.T) {
	t.Parallel()
	a := newAccount()
	a.hold, a.started = make(chan struct{}), make(chan string, 1)
	e, base := serveExporter(t, exporter.Options{Account: a, Timeout: time.Hour,
		Targets: []exporter.Spec{{Region: "cn-north-4", ProjectID: "p1"}}})
	const served = 16
	var wg sync.WaitGroup
	for range served {
		wg.Go(func() {
			fams, err := promtest.Get(base+"/metrics", 0)
			if assert.NoError(t, err) && assert.Equal(t, []string{"cn-north-4/p1"}, targets(fams)) {
				assert.Equal(t, 1.0, fams[exporter.MetricScrapeSuccess].GetMetric()[0].GetGauge().GetValue())
			}
		})
	}
	wait(t, a.started, "call")
	require.Eventually(t, func() bool { return exporter.Scrapes(e) == served }, time.Minute, time.Millisecond)
	_, err := promtest.Get(base+"/metrics", time.Millisecond)
	assert.EqualError(t, err, "HTTP 503")

	close(a.hold)
	wg.Wait()
	assert.Equal(t, int32(1), a.fetches.Load(), "the scrapes shared one call")
	promtest.Scrape(t, base+"/metrics")
}

// A target /probe reached first through the default account is reached
// through its own once the configuration names it.
func TestConfiguredAccountWinsOverProbe(t *testing.T) {
	t.Parallel()
	def, own := newAccount(north), newAccount(north)
	own.running = 42
	_, base := serveExporter(t, exporter.Options{Account: def, MinInterval: time.Hour,
		Targets: []exporter.Spec{{Region: "cn-north-4", Account: own}}})
	fams := probed(t, base, "region=cn-north-4&project_id=p-north")
	assert.Equal(t, float64(len("p-north")), gauge(t, fams, exporter.MetricInstances, running("p-north", "cn-north-4")), "the default account's")
	fams = promtest.Scrape(t, base+"/metrics")
	assert.Equal(t, 42.0, gauge(t, fams, exporter.MetricInstances, running("p-north", "cn-north-4")), "its own account's")
	fams = probed(t, base, "region=cn-north-4&project_id=p-north")
	assert.Equal(t, 42.0, gauge(t, fams, exporter.MetricInstances, running("p-north", "cn-north-4")), "remembered as configured")
	assert.Equal(t, int32(1), def.fetches.Load())
	assert.Equal(t, int32(1), own.fetches.Load())
}

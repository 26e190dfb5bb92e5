package exporter

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/internal/promtest"
	"github.com/dcskit/dcskit/internal/syncbuf"
	"github.com/dcskit/dcskit/server"
	"github.com/dcskit/dcskit/servertest"
)

// fleet is a fake of n projects named cn-north-4_p000 and on, project i
// with i running Redis instances, and an Account of it.
func fleet(t *testing.T, n int) (*server.Server, *Account) {
	t.Helper()
	var projects []server.Project
	var insts []server.Instance
	for i := range n {
		id := fmt.Sprintf("p%03d", i)
		projects = append(projects, server.Project{ID: id, Name: "cn-north-4_" + id})
		for range i {
			insts = append(insts, server.Instance{ProjectID: id, Engine: dcs.Redis, Status: dcs.Running})
		}
	}
	fake := servertest.New(t, server.Options{AccessKey: "AK", SecretKey: "SK", Projects: projects})
	_, err := fake.Add(insts...)
	require.NoError(t, err)
	return fake, account(t, fake.URL(), "SK")
}

// account is an Account of the fake at url with secret key sk.
func account(t *testing.T, url, sk string) *Account {
	t.Helper()
	a, err := NewAccount(client.WithCredentials("AK", sk), client.WithIAMEndpoint(url), client.WithEndpointTemplate(url))
	require.NoError(t, err)
	return a
}

// start makes the Exporter of opts, lists its projects, runs it until
// the test ends and serves it; logs gets its log.
func start(t *testing.T, opts Options) (e *Exporter, base string, logs *syncbuf.Buffer) {
	t.Helper()
	logs = &syncbuf.Buffer{}
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	e, err := New(opts)
	require.NoError(t, err)
	require.NoError(t, e.Discover(t.Context()))
	go e.Run(t.Context())
	srv := httptest.NewServer(e.Handler())
	t.Cleanup(srv.Close)
	return e, srv.URL, logs
}

// await waits for ch, or fails the test after a minute: a hang guard.
func await[T any](t *testing.T, ch <-chan T) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(time.Minute):
		t.Fatal("nothing came")
	}
}

// values are the samples of family name by their labels' values, joined
// by "/" in the order of the labels' names (engine, kind, project_id,
// region, status).
func values(fams map[string]*dto.MetricFamily, name string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range fams[name].GetMetric() {
		var key []string
		for _, l := range m.GetLabel() {
			key = append(key, l.GetValue())
		}
		out[strings.Join(key, "/")] = m.GetGauge().GetValue()
	}
	return out
}

// forEach is f of every target of a fleet of n.
func forEach(n int, f func(i int, target string) float64) map[string]float64 {
	out := map[string]float64{}
	for i := range n {
		out[fmt.Sprintf("p%03d/cn-north-4", i)] = f(i, fmt.Sprintf("p%03d/cn-north-4", i))
	}
	return out
}

func running(project string) string { return "redis/" + project + "/cn-north-4/running" }

// Many projects behind a slow API: the first pass refreshes every one,
// within MaxInFlight, and /metrics serves every engine and status of
// each, zeros included, and how the refresh went.
func TestEveryTargetConverges(t *testing.T) {
	t.Parallel()
	const n = 40
	fake, a := fleet(t, n)
	_, err := fake.Add(servertest.OneOfEach("p000")...)
	require.NoError(t, err)
	fake.InjectFault(server.Fault{Delay: 5 * time.Millisecond, Times: 10 * n})
	e, base, _ := start(t, Options{Account: a, AllProjects: true, MaxInFlight: 4, RefreshInterval: time.Hour})
	await(t, e.Ready())

	fams := promtest.Scrape(t, base+"/metrics")
	assert.Equal(t, forEach(n, func(int, string) float64 { return 1 }), values(fams, MetricScrapeSuccess))
	assert.Len(t, fams[MetricInstances].GetMetric(), n*len(dcs.Engines())*len(dcs.Statuses()))
	got := values(fams, MetricInstances)
	for i := 1; i < n; i++ {
		p := fmt.Sprintf("p%03d", i)
		assert.Equal(t, float64(i), got[running(p)], p)
		assert.Zero(t, got["memcached/"+p+"/cn-north-4/creating"], p)
	}
	assert.Equal(t, 1.0, got["memcached/p000/cn-north-4/createfailed"], "failed creations count")
	transitional := 0
	for _, s := range dcs.Statuses() {
		if s.Transitional() {
			transitional++
		}
	}
	require.Positive(t, transitional)
	assert.Equal(t, float64(transitional), values(fams, MetricTransitional)["memcached/p000/cn-north-4"])
	for target, took := range values(fams, MetricScrapeSeconds) {
		assert.GreaterOrEqual(t, took, 0.005, "%s: the delay is part of the call", target)
		assert.InDelta(t, float64(time.Now().Unix()), values(fams, MetricLastScrape)[target], 60, target)
	}
	assert.Equal(t, map[string]float64{"configured": 0, "listed": n, "probed": 0}, values(fams, "dcskit_exporter_targets"))
	assert.Positive(t, values(fams, "dcskit_exporter_refresh_pass_duration_seconds")[""])
	assert.Equal(t, 0.0, values(fams, "dcskit_exporter_refresh_pass_targets")[""], "the next pass has just begun")
	assert.Equal(t, 1.0, values(fams, "dcskit_exporter_project_list_success")[""])
	assert.Contains(t, fams, "go_goroutines")

	// The format is negotiated as promhttp does it.
	req, err := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	require.NoError(t, err)
	format := expfmt.NewFormat(expfmt.TypeProtoDelim)
	req.Header.Set("Accept", string(format))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, format, expfmt.ResponseFormat(resp.Header))
	dec, decoded := expfmt.NewDecoder(resp.Body, format), map[string]int{}
	for mf := new(dto.MetricFamily); dec.Decode(mf) == nil; mf = new(dto.MetricFamily) {
		decoded[mf.GetName()] = len(mf.GetMetric())
	}
	for _, name := range []string{MetricInstances, MetricLastScrape, "dcskit_exporter_targets"} {
		assert.Equal(t, len(fams[name].GetMetric()), decoded[name], name)
	}
}

// A scrape during a pass answers at once, with the last results, their
// time saying how old they are; the calls it did not wait for go on.
func TestScrapeDuringAPassAnswersAtOnce(t *testing.T) {
	t.Parallel()
	const n = 10
	fake, a := fleet(t, n)
	e, base, _ := start(t, Options{Account: a, AllProjects: true, MaxInFlight: 4, RefreshInterval: 50 * time.Millisecond})
	await(t, e.Ready())
	fake.InjectFault(server.Fault{Delay: time.Second, Times: n})
	before := time.Now()
	_, err := fake.Add(server.Instance{ProjectID: "p001", Engine: dcs.Redis, Status: dcs.Running})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return values(promtest.Scrape(t, base+"/metrics"), "dcskit_exporter_api_calls_in_flight")[""] == 4
	}, time.Minute, time.Millisecond, "the second pass waits for the API")

	fams := promtest.Scrape(t, base+"/metrics")
	assert.Equal(t, forEach(n, func(int, string) float64 { return 1 }), values(fams, MetricScrapeSuccess))
	assert.Equal(t, 1.0, values(fams, MetricInstances)[running("p001")], "the old count")
	for target, at := range values(fams, MetricLastScrape) {
		assert.Less(t, at, float64(before.Add(time.Second).UnixNano())/1e9, "%s: of before the API hung", target)
	}
	require.Eventually(t, func() bool {
		return values(promtest.Scrape(t, base+"/metrics"), MetricInstances)[running("p001")] == 2
	}, time.Minute, time.Millisecond, "the calls went on")
}

// A project that fails keeps its last good counts, with scrape_success
// 0; one that never succeeded has no counts and a last success of 0; the
// others stay fresh.
func TestOneFailingProjectLeavesTheOthersFresh(t *testing.T) {
	t.Parallel()
	const n = 6
	fake, a := fleet(t, n)
	fake.InjectFault(server.Fault{ProjectID: "p001", Status: http.StatusForbidden, Times: 1000})
	e, base, logs := start(t, Options{Account: a, AllProjects: true, RefreshInterval: 10 * time.Millisecond})
	await(t, e.Ready())
	fake.InjectFault(server.Fault{ProjectID: "p002", Status: http.StatusForbidden, Times: 1000})
	var failed, fams map[string]*dto.MetricFamily
	require.Eventually(t, func() bool {
		failed = promtest.Scrape(t, base+"/metrics")
		return values(failed, MetricScrapeSuccess)["p002/cn-north-4"] == 0
	}, time.Minute, time.Millisecond)
	require.Eventually(t, func() bool {
		fams = promtest.Scrape(t, base+"/metrics")
		return values(fams, MetricLastScrape)["p000/cn-north-4"] > values(failed, MetricLastScrape)["p000/cn-north-4"]
	}, time.Minute, time.Millisecond, "the others are refreshed")

	want := forEach(n, func(i int, _ string) float64 { return map[bool]float64{true: 1}[i != 1 && i != 2] })
	assert.Equal(t, want, values(fams, MetricScrapeSuccess))
	assert.NotContains(t, values(fams, MetricInstances), running("p001"), "no made-up zeros")
	assert.Equal(t, 0.0, values(fams, MetricLastScrape)["p001/cn-north-4"], "never")
	assert.Equal(t, 2.0, values(fams, MetricInstances)[running("p002")], "the last good count")
	assert.Equal(t, values(failed, MetricLastScrape)["p002/cn-north-4"], values(fams, MetricLastScrape)["p002/cn-north-4"], "of the last success")
	assert.Contains(t, logs.String(), `msg="DCS instance status scrape failed" project_id=p001 region=cn-north-4 err="HTTP 403 Forbidden`)
}

// Discovery on its own schedule: a project added to IAM's table is
// refreshed, one removed is dropped, one of no region or a subproject's
// is taken for what it is; a failure to list keeps the last list.
func TestDiscoveryFollowsTheProjects(t *testing.T) {
	t.Parallel()
	fake, _ := fleet(t, 2)
	var failing sync.Map
	iam := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := failing.Load(r.URL.Path); ok {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		fake.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(iam.Close)
	_, base, _ := start(t, Options{Account: account(t, iam.URL, "SK"), AllProjects: true,
		RefreshInterval: 10 * time.Millisecond, ProjectsInterval: 10 * time.Millisecond})
	require.NoError(t, fake.SetProjects(server.Project{ID: "p001", Name: "cn-north-4_p001"},
		server.Project{ID: "p-new", Name: "ap-southeast-1"}, server.Project{ID: "p-mos", Name: "MOS"}))
	want := map[string]float64{"p001/cn-north-4": 1, "p-new/ap-southeast-1": 1}
	require.Eventually(t, func() bool {
		fams := promtest.Scrape(t, base+"/metrics")
		return assert.ObjectsAreEqual(want, values(fams, MetricScrapeSuccess)) &&
			values(fams, "dcskit_exporter_targets")["listed"] == 2
	}, time.Minute, time.Millisecond)

	failing.Store("/v3/auth/projects", true)
	require.NoError(t, fake.SetProjects())
	require.Eventually(t, func() bool {
		return values(promtest.Scrape(t, base+"/metrics"), "dcskit_exporter_project_list_success")[""] == 0
	}, time.Minute, time.Millisecond)
	assert.Equal(t, want, values(promtest.Scrape(t, base+"/metrics"), MetricScrapeSuccess), "the last good list")
}

// A 429 or 503 pauses every call: for its Retry-After when the client
// retries it, for a backoff that doubles while the API keeps asking, a
// minute at most.
func TestSlowDownPausesEveryCall(t *testing.T) {
	t.Parallel()
	fake, a := fleet(t, 1)
	fake.InjectFault(server.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second})
	before := time.Now()
	e, _, logs := start(t, Options{Account: a, Targets: []Spec{{Region: "cn-north-4", ProjectID: "p000"}}})
	await(t, e.Ready())
	e.mu.Lock()
	assert.WithinRange(t, e.pausedUntil, before.Add(time.Second), time.Now().Add(time.Second), "its Retry-After")
	e.mu.Unlock()
	assert.Contains(t, logs.String(), "the API asks to slow down")

	ctx, cancel := context.WithTimeout(t.Context(), time.Millisecond)
	defer cancel()
	e.pause(0)
	_, err := e.admit(ctx)
	assert.ErrorContains(t, err, "the API asked to slow down")
	for _, want := range []time.Duration{2 * time.Second, 4 * time.Second} {
		e.mu.Lock()
		e.pausedUntil = time.Time{} // as if the pause were over
		e.mu.Unlock()
		e.pause(0)
		e.pause(0) // in the same pause: no more
		e.mu.Lock()
		assert.WithinDuration(t, time.Now().Add(want), e.pausedUntil, time.Second/2)
		e.pausedUntil = time.Time{}
		e.mu.Unlock()
	}
	e.pause(time.Hour)
	e.mu.Lock()
	assert.WithinDuration(t, time.Now().Add(time.Minute), e.pausedUntil, time.Second/2, "a minute at most")
	e.mu.Unlock()
}

// MaxInFlight and Rate bound the calls; a Run that ends cancels its
// calls at once, and every probe too.
func TestCallsAreBoundedAndRunStopsAtOnce(t *testing.T) {
	t.Parallel()
	fake, a := fleet(t, 5)
	fake.InjectFault(server.Fault{Delay: server.MaxFaultDelay, Times: 100})
	e, err := New(Options{Account: a, AllProjects: true, MaxInFlight: 2, Rate: 1000})
	require.NoError(t, err)
	require.NoError(t, e.Discover(t.Context()))
	ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
	stopped := make(chan struct{})
	go func() {
		e.Run(ctx)
		close(stopped)
	}()
	require.Eventually(t, func() bool { return len(e.slots) == 2 }, time.Minute, time.Millisecond)
	cancel()
	await(t, stopped)
	require.Eventually(t, func() bool { return len(e.slots) == 0 }, time.Minute, time.Millisecond, "the calls ended")

	slow, err := New(Options{Account: a, Rate: 1})
	require.NoError(t, err)
	ctx, cancel = context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	release, err := slow.admit(ctx)
	require.NoError(t, err)
	release()
	_, err = slow.admit(ctx)
	assert.ErrorContains(t, err, "--rate")
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	a := &Account{}
	target := []Spec{{Region: "cn-north-4", ProjectID: "p"}}
	for _, tt := range []struct {
		opts Options
		want string
	}{
		{Options{AllProjects: true}, "AllProjects needs an Account"},
		{Options{Targets: target}, "a target has no Account"},
		{Options{Account: a, MinInterval: -1}, "must not be negative"},
		{Options{Account: a, RefreshInterval: -1}, "must not be negative"},
		{Options{Account: a, MaxInFlight: -1}, "must not be negative"},
		{Options{Account: a, Rate: -1}, "must not be negative"},
		{Options{Account: a, Targets: append(target, target...), MaxTargets: 1}, "2 targets, more than the 1 of MaxTargets"},
	} {
		_, err := New(tt.opts)
		assert.ErrorContains(t, err, tt.want)
	}
}

// A scrape of /metrics with 1,000 targets, each with counts: what
// Prometheus waits for (issue 18 wants it under 100ms).
func BenchmarkMetrics1000(b *testing.B) {
	e, err := New(Options{Account: &Account{}})
	require.NoError(b, err)
	for i := range 1000 {
		t := &target{Spec: Spec{Region: "cn-north-4", ProjectID: fmt.Sprintf("p%04d", i)}, ok: true, goodAt: time.Now()}
		t.counts.Add(dcs.Redis, dcs.Running, int32(i))
		t.series = t.build()
		e.targets = append(e.targets, t)
	}
	h, w := e.Handler(), &httptest.ResponseRecorder{} // no Body: it throws the answer away
	for b.Loop() {
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	}
}

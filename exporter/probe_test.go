package exporter

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/internal/promtest"
	"github.com/dcskit/dcskit/server"
	"github.com/dcskit/dcskit/servertest"
)

// regions is a fake of a project in each of two regions, p-north with a
// running Redis instance, p-south with two.
func regions(t *testing.T) *server.Server {
	t.Helper()
	fake := servertest.New(t, server.Options{AccessKey: "AK", SecretKey: "SK", Projects: []server.Project{
		{ID: "p-north", Name: "cn-north-4"}, {ID: "p-south", Name: "ap-southeast-1"},
	}})
	_, err := fake.Add(server.Instance{ProjectID: "p-north", Engine: dcs.Redis, Status: dcs.Running},
		server.Instance{ProjectID: "p-south", Engine: dcs.Redis, Status: dcs.Running},
		server.Instance{ProjectID: "p-south", Engine: dcs.Redis, Status: dcs.Running})
	require.NoError(t, err)
	return fake
}

// get is the status and body of a GET of url.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// calls counts the fake's requests whose path starts with prefix.
func calls(fake *server.Server, prefix string) int {
	n := 0
	for _, r := range fake.Requests() {
		if strings.HasPrefix(r.Path, prefix) {
			n++
		}
	}
	return n
}

// /probe serves one target, its project found through IAM unless given,
// and nothing of the exporter's own; a query it cannot serve gets what is
// wrong, never made-up metrics.
func TestProbeServesOneTarget(t *testing.T) {
	t.Parallel()
	fake := regions(t)
	_, base, _ := start(t, Options{Account: account(t, fake.URL(), "SK")})
	fams := promtest.Scrape(t, base+"/probe?region=cn-north-4")
	assert.Equal(t, map[string]float64{"p-north/cn-north-4": 1}, values(fams, MetricScrapeSuccess))
	assert.Equal(t, 1.0, values(fams, MetricInstances)["redis/p-north/cn-north-4/running"])
	assert.Len(t, fams[MetricInstances].GetMetric(), len(dcs.Engines())*len(dcs.Statuses()))
	assert.NotContains(t, fams, "go_goroutines")
	fams = promtest.Scrape(t, base+"/probe?region=ap-southeast-1&project_id=p-other")
	assert.Equal(t, map[string]float64{"p-other/ap-southeast-1": 1}, values(fams, MetricScrapeSuccess))
	assert.Equal(t, 1, calls(fake, "/v3/projects"), "a project id given is not looked up")

	for _, tt := range []struct {
		query  string
		status int
		want   string
	}{
		{"", 400, "region is required"},
		{"project_id=p-north", 400, "region is required"},
		{"region=", 400, `"" is not a region id`},
		{"region=CN-NORTH-4", 400, "is not a region id"},
		{"region=" + strings.Repeat("a-", 40) + "1", 400, "is not a region id"},
		{"region=cn-north-4&region=cn-north-1", 400, "region given 2 times"},
		{"region=cn-north-4&target=x", 400, `unknown parameter "target"`},
		{"region=cn-north-4&project_id=", 400, "is not a project id"},
		{"region=cn-north-4&project_id=" + url.QueryEscape("a/b"), 400, "is not a project id"},
		{"region=eu-nowhere-9", 404, `has no project named "eu-nowhere-9"; the credentials can access cn-north-4 (p-north), ap-southeast-1 (p-south)`},
	} {
		status, body := get(t, base+"/probe?"+tt.query)
		assert.Equal(t, tt.status, status, tt.query)
		assert.Contains(t, body, tt.want, tt.query)
	}
	assert.Equal(t, 2, calls(fake, "/v2/"), "only the two good probes called DCS")
}

// An answer is reused for MinInterval; concurrent probes share one call;
// a probe answers by its deadline, and the call it left goes on, for the
// next probe; at most MaxTargets targets are remembered.
func TestProbeCachesAndSharesCalls(t *testing.T) {
	t.Parallel()
	fake := regions(t)
	const path = "/v2/p-north/instances/status"
	fake.InjectFault(server.Fault{Delay: time.Second})
	e, base, _ := start(t, Options{Account: account(t, fake.URL(), "SK"), MinInterval: time.Hour, MaxTargets: 2})
	query := base + "/probe?region=cn-north-4&project_id=p-north"
	hasty, err := promtest.Get(query, 600*time.Millisecond)
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"p-north/cn-north-4": 0}, values(hasty, MetricScrapeSuccess), "answered before the API")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			fams, err := promtest.Get(query, 0)
			if assert.NoError(t, err) {
				assert.Equal(t, 1.0, values(fams, MetricInstances)["redis/p-north/cn-north-4/running"])
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 1, calls(fake, path), "one call, which the hasty probe left, for all")
	_, err = fake.Add(server.Instance{ProjectID: "p-north", Engine: dcs.Redis, Status: dcs.Running})
	require.NoError(t, err)
	assert.Equal(t, 1.0, values(promtest.Scrape(t, query), MetricInstances)["redis/p-north/cn-north-4/running"], "reused")
	assert.Equal(t, 1, calls(fake, path))

	promtest.Scrape(t, base+"/probe?region=ap-southeast-1")
	promtest.Scrape(t, base+"/probe?region=ap-southeast-1&project_id=p-3")
	assert.Equal(t, 1.0, values(promtest.Scrape(t, base+"/metrics"), "dcskit_exporter_targets")["probed"], "forgotten to make room")
	promtest.Scrape(t, query)
	assert.Equal(t, 2, calls(fake, path), "forgotten: a new call")

	_, base, _ = start(t, Options{Account: e.opts.Account})
	promtest.Scrape(t, base+"/probe?region=cn-north-4&project_id=p-north")
	promtest.Scrape(t, base+"/probe?region=cn-north-4&project_id=p-north")
	assert.Equal(t, 4, calls(fake, path), "no MinInterval: a call each")
}

// /probe reaches a configured target through its own Account, any other
// through the default one; without one, only configured targets. A
// region's project, configured by id too, is on /metrics once.
func TestProbeAccounts(t *testing.T) {
	t.Parallel()
	fake := regions(t)
	good, bad := account(t, fake.URL(), "SK"), account(t, fake.URL(), "wrong")
	e, base, _ := start(t, Options{Account: bad, Targets: []Spec{{Region: "cn-north-4", Account: good}, {Region: "cn-north-4", ProjectID: "p-north"}}})
	await(t, e.Ready())
	fams := promtest.Scrape(t, base+"/metrics")
	assert.Equal(t, map[string]float64{"p-north/cn-north-4": 1}, values(fams, MetricScrapeSuccess), "once, as first configured")
	fams = promtest.Scrape(t, base+"/probe?region=cn-north-4")
	assert.Equal(t, map[string]float64{"p-north/cn-north-4": 1}, values(fams, MetricScrapeSuccess), "its own Account")
	fams = promtest.Scrape(t, base+"/probe?region=ap-southeast-1")
	assert.Equal(t, map[string]float64{"/ap-southeast-1": 0}, values(fams, MetricScrapeSuccess), "the default Account, refused")

	_, base, _ = start(t, Options{Targets: []Spec{{Region: "cn-north-4", ProjectID: "p-north", Account: good}}})
	fams = promtest.Scrape(t, base+"/probe?region=cn-north-4&project_id=p-north")
	assert.Equal(t, map[string]float64{"p-north/cn-north-4": 1}, values(fams, MetricScrapeSuccess))
	status, body := get(t, base+"/probe?region=cn-north-4&project_id=p2")
	assert.Equal(t, http.StatusNotFound, status)
	assert.Contains(t, body, `region cn-north-4, project "p2" is not a target of this exporter`)
}

package exporter_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/exporter"
)

var (
	metricName  = regexp.MustCompile(`\bhuaweicloud_dcs_[a-z_]+`)
	statusMatch = regexp.MustCompile(`status=~?"([^"]*)"`)
	engineMatch = regexp.MustCompile(`engine=~?"([^"]*)"`)
)

// checkExpr fails if expr names a metric the exporter does not serve, or a
// status or engine label value it never sets.
func checkExpr(t *testing.T, where, expr string) {
	t.Helper()
	known := map[string]bool{
		exporter.MetricInstances: true, exporter.MetricTransitional: true, exporter.MetricScrapeSuccess: true,
		exporter.MetricScrapeSeconds: true, exporter.MetricLastScrape: true,
	}
	names := metricName.FindAllString(expr, -1)
	assert.NotEmpty(t, names, "%s: %q names no dcskit metric", where, expr)
	for _, n := range names {
		assert.True(t, known[n], "%s: unknown metric %s", where, n)
	}
	statuses := map[string]bool{}
	for _, s := range dcs.Statuses() {
		statuses[s.Name()] = true
	}
	for _, m := range statusMatch.FindAllStringSubmatch(expr, -1) {
		values := strings.Split(m[1], "|")
		// A list of statuses is where a status added to the spec would be
		// missed: name one status, or use a metric that sums them.
		assert.Len(t, values, 1, "%s: lists statuses one by one: %q", where, m[1])
		for _, v := range values {
			assert.True(t, statuses[v], "%s: unknown status label %q", where, v)
		}
	}
	for _, m := range engineMatch.FindAllStringSubmatch(expr, -1) {
		assert.Contains(t, []string{dcs.Redis.Key(), dcs.Memcached.Key()}, m[1], where)
	}
}

func TestGrafanaDashboardNamesOnlyExportedMetrics(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../deploy/grafana-dashboard.json")
	require.NoError(t, err)
	var dash struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(data, &dash))
	assert.NotEmpty(t, dash.Title)
	assert.NotEmpty(t, dash.UID)
	require.NotEmpty(t, dash.Panels)

	used := map[string]bool{}
	for _, p := range dash.Panels {
		require.NotEmpty(t, p.Targets, p.Title)
		for _, tg := range p.Targets {
			checkExpr(t, "dashboard panel "+p.Title, tg.Expr)
			for _, n := range metricName.FindAllString(tg.Expr, -1) {
				used[n] = true
			}
		}
	}
	for _, m := range []string{exporter.MetricInstances, exporter.MetricTransitional, exporter.MetricScrapeSuccess, exporter.MetricScrapeSeconds, exporter.MetricLastScrape} {
		assert.True(t, used[m], "the dashboard shows %s", m)
	}
}

func TestAlertRulesNameOnlyExportedMetrics(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../deploy/prometheus-rules.yaml")
	require.NoError(t, err)
	var file struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&file))
	require.NotEmpty(t, file.Groups)

	alerts := map[string]bool{}
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			require.NotEmpty(t, r.Alert)
			alerts[r.Alert] = true
			checkExpr(t, "alert "+r.Alert, r.Expr)
			assert.NotEmpty(t, r.Labels["severity"], r.Alert)
			assert.NotEmpty(t, r.Annotations["summary"], r.Alert)
		}
	}
	for _, a := range []string{"DCSInstancesInError", "DCSCreateFailedRising", "DCSScrapeFailing"} {
		assert.True(t, alerts[a], "rule %s", a)
	}
}

package exporter

import (
	"cmp"
	"encoding/json"
	"maps"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/internal/promtest"
)

var (
	metricName  = regexp.MustCompile(`\bhuaweicloud_dcs_[a-z_]+`)
	selector    = regexp.MustCompile(`\bhuaweicloud_dcs_[a-z_]+(\{[^}]*\})?`)
	aggregation = regexp.MustCompile(`\b(sum|max|min|avg|count)\s*(by\s*\(([^)]*)\))?\s*\(`)
	statusMatch = regexp.MustCompile(`status=~?"([^"]*)"`)
	engineMatch = regexp.MustCompile(`engine=~?"([^"]*)"`)
)

// checkExpr fails if expr names a metric the exporter does not serve, or a
// status or engine label value it never sets.
func checkExpr(t *testing.T, where, expr string) {
	t.Helper()
	known := map[string]bool{
		MetricInstances: true, MetricTransitional: true, MetricScrapeSuccess: true,
		MetricScrapeSeconds: true, MetricLastScrape: true,
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
		Title      string `json:"title"`
		UID        string `json:"uid"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Query string `json:"query"`
			} `json:"list"`
		} `json:"templating"`
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

	// A variable per target label, whose values come from an exported
	// metric; every panel filters by both.
	vars := map[string]string{}
	for _, v := range dash.Templating.List {
		vars[v.Name] = v.Query
	}
	for _, label := range []string{labelRegion, labelProjectID} {
		require.Contains(t, vars, label)
		assert.Regexp(t, `^label_values\(huaweicloud_dcs_scrape_success(\{[^}]*\})?, `+label+`\)$`, vars[label])
		checkExpr(t, "variable "+label, vars[label])
	}
	used := map[string]bool{}
	for _, p := range dash.Panels {
		require.NotEmpty(t, p.Targets, p.Title)
		for _, tg := range p.Targets {
			checkExpr(t, "dashboard panel "+p.Title, tg.Expr)
			for _, sel := range selector.FindAllStringSubmatch(tg.Expr, -1) {
				for _, label := range []string{labelRegion, labelProjectID} {
					assert.Contains(t, sel[1], label+`=~"$`+label+`"`, "panel %s filters by the variable %s", p.Title, label)
				}
			}
			for _, n := range metricName.FindAllString(tg.Expr, -1) {
				used[n] = true
			}
		}
	}
	for _, m := range []string{MetricInstances, MetricTransitional, MetricScrapeSuccess, MetricScrapeSeconds, MetricLastScrape} {
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

	alerts := map[string]string{}
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			require.NotEmpty(t, r.Alert)
			alerts[r.Alert] = r.Expr
			checkExpr(t, "alert "+r.Alert, r.Expr)
			assert.NotEmpty(t, r.Labels["severity"], r.Alert)
			assert.NotEmpty(t, r.Annotations["summary"], r.Alert)
			// Per target: an aggregation keeps both labels, and the
			// summary names them.
			for _, m := range aggregation.FindAllStringSubmatch(r.Expr, -1) {
				labels := strings.FieldsFunc(m[3], func(r rune) bool { return r == ',' || r == ' ' })
				assert.Subset(t, labels, []string{labelProjectID, labelRegion}, "alert %s: %s", r.Alert, m[0])
			}
			for _, label := range []string{labelProjectID, labelRegion} {
				assert.Contains(t, r.Annotations["summary"], "$labels."+label, r.Alert)
			}
		}
	}
	for a, metric := range map[string]string{"DCSInstancesInError": MetricInstances, "DCSCreateFailedRising": MetricInstances,
		"DCSScrapeFailing": MetricScrapeSuccess, "DCSExporterStale": MetricLastScrape} {
		assert.Contains(t, alerts[a], metric, "rule %s", a)
	}
}

// scrapeFile is deploy/prometheus-scrape.yaml, as much of Prometheus'
// configuration as it may use: a field the test does not know fails it.
type scrapeFile struct {
	ScrapeConfigs []struct {
		JobName        string              `yaml:"job_name"`
		MetricsPath    string              `yaml:"metrics_path"`
		Params         map[string][]string `yaml:"params"`
		ScrapeInterval string              `yaml:"scrape_interval"`
		ScrapeTimeout  string              `yaml:"scrape_timeout"`
		StaticConfigs  []struct {
			Targets []string          `yaml:"targets"`
			Labels  map[string]string `yaml:"labels"`
		} `yaml:"static_configs"`
		RelabelConfigs []relabelConfig `yaml:"relabel_configs"`
	} `yaml:"scrape_configs"`
}

// relabelConfig is a rule of relabel_configs, action replace (the
// default) only.
type relabelConfig struct {
	SourceLabels []string `yaml:"source_labels"`
	Separator    *string  `yaml:"separator"`
	Regex        *string  `yaml:"regex"`
	TargetLabel  string   `yaml:"target_label"`
	Replacement  *string  `yaml:"replacement"`
	Action       string   `yaml:"action"`
}

// apply is Prometheus' replace action: the source labels' values joined
// by the separator (";") must match the regex ("(.*)"), anchored at both
// ends; the target label becomes the replacement ("$1") expanded, or is
// removed if that is empty.
func (r relabelConfig) apply(t *testing.T, labels map[string]string) {
	t.Helper()
	require.Contains(t, []string{"", "replace"}, r.Action, "the test knows the replace action only")
	sep, regex, repl := ";", "(.*)", "$1"
	if r.Separator != nil {
		sep = *r.Separator
	}
	if r.Regex != nil {
		regex = *r.Regex
	}
	if r.Replacement != nil {
		repl = *r.Replacement
	}
	var values []string
	for _, l := range r.SourceLabels {
		values = append(values, labels[l])
	}
	value := strings.Join(values, sep)
	re := regexp.MustCompile("^(?:" + regex + ")$")
	m := re.FindStringSubmatchIndex(value)
	if m == nil {
		return
	}
	out := string(re.ExpandString(nil, repl, value, m))
	if out == "" {
		delete(labels, r.TargetLabel)
		return
	}
	labels[r.TargetLabel] = out
}

// The scrape configuration, relabelled as Prometheus does, asks the
// exporter for each target with a query /probe answers, and each answer
// is that target's; the exporter's own job scrapes /metrics.
func TestScrapeConfigProbesEveryTarget(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../deploy/prometheus-scrape.yaml")
	require.NoError(t, err)
	var file scrapeFile
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&file))

	_, base, _ := start(t, Options{Account: account(t, regions(t).URL(), "SK")})
	exporterURL, err := url.Parse(base)
	require.NoError(t, err)

	probes, instances := 0, map[string]bool{}
	for _, job := range file.ScrapeConfigs {
		require.NotEmpty(t, job.StaticConfigs, job.JobName)
		if job.ScrapeTimeout != "" {
			timeout, err := time.ParseDuration(job.ScrapeTimeout)
			require.NoError(t, err)
			assert.Greater(t, timeout, DefaultTimeout+500*time.Millisecond, "job %s: the exporter's calls end within the scrape", job.JobName)
		}
		for _, group := range job.StaticConfigs {
			for _, tg := range group.Targets {
				labels := map[string]string{"__address__": tg, "__scheme__": "http", "__metrics_path__": cmp.Or(job.MetricsPath, "/metrics"), "job": job.JobName}
				for k, v := range job.Params {
					labels["__param_"+k] = v[0]
				}
				maps.Copy(labels, group.Labels)
				for _, r := range job.RelabelConfigs {
					r.apply(t, labels)
				}
				instance := cmp.Or(labels["instance"], labels["__address__"])
				assert.False(t, instances[job.JobName+"/"+instance], "job %s: two targets are instance %s", job.JobName, instance)
				instances[job.JobName+"/"+instance] = true

				// The exporter the configuration names is the test's.
				host, _, err := net.SplitHostPort(labels["__address__"])
				require.NoError(t, err, "job %s: __address__ %q is the exporter's host:port", job.JobName, labels["__address__"])
				assert.Equal(t, "127.0.0.1", host)
				query := url.Values{}
				for k, v := range labels {
					if name, ok := strings.CutPrefix(k, "__param_"); ok {
						query.Set(name, v)
					}
				}
				u := url.URL{Scheme: labels["__scheme__"], Host: exporterURL.Host, Path: labels["__metrics_path__"], RawQuery: query.Encode()}
				fams := promtest.Scrape(t, u.String())
				if labels["__metrics_path__"] != "/probe" {
					assert.Contains(t, fams, "dcskit_exporter_targets", "job %s scrapes the exporter's own metrics", job.JobName)
					continue
				}
				probes++
				require.Equal(t, tg, query.Get(labelRegion), "job %s: the target is the region", job.JobName)
				served := values(fams, MetricScrapeSuccess)
				require.Len(t, served, 1, u.String())
				for target, ok := range served {
					assert.True(t, strings.HasSuffix(target, "/"+tg), "%s serves region %s: %s", u.String(), tg, target)
					if p := query.Get(labelProjectID); p != "" {
						assert.Equal(t, p+"/"+tg, target)
					}
					assert.Equal(t, 1.0, ok, u.String())
				}
			}
		}
	}
	assert.Equal(t, 3, probes, "every target of the dcs job")
}

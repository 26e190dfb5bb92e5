package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/exporter"
	"github.com/dcskit/dcskit/internal/promtest"
)

// The exporter at fleet scale, end to end: one fake holds two projects
// in two regions (regionsFixture) and stands for IAM and both regions'
// endpoints; the exporter has AK/SK and no project id.

// fleetEnv is such an exporter's environment: keys (unless noKeys), IAM
// at f, and each region's endpoint at f unless a flag says otherwise.
func fleetEnv(f *fakeDCS, endpoints bool) map[string]string {
	env := credsEnv(client.EnvIAMEndpoint, f.url)
	if endpoints {
		env[client.EnvEndpointPrefix+"CN_NORTH_4"] = f.url
		env[client.EnvEndpointPrefix+"AP_SOUTHEAST_1"] = f.url
	}
	return env
}

// targetCounts are the instance gauges of one target as dcs.Counts,
// requiring every engine and status once.
func targetCounts(t *testing.T, fams map[string]*dto.MetricFamily, project, region string) dcs.Counts {
	t.Helper()
	var got dcs.Counts
	n := 0
	for _, m := range fams[exporter.MetricInstances].GetMetric() {
		l := labelsOf(m)
		if l["project_id"] != project || l["region"] != region {
			continue
		}
		n++
		engine, ok := dcs.LookupEngine(l["engine"])
		require.True(t, ok, l)
		status, ok := dcs.LookupStatus(l["status"])
		require.True(t, ok, l)
		got.Add(engine, status, int32(m.GetGauge().GetValue()))
	}
	require.Equal(t, len(dcs.Engines())*len(dcs.Statuses()), n, "series of %s in %s", project, region)
	return got
}

func labelsOf(m *dto.Metric) map[string]string {
	l := map[string]string{}
	for _, p := range m.GetLabel() {
		l[p.GetName()] = p.GetValue()
	}
	return l
}

// success is each target's scrape_success, by region/project.
func success(fams map[string]*dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for _, m := range fams[exporter.MetricScrapeSuccess].GetMetric() {
		l := labelsOf(m)
		out[l["region"]+"/"+l["project_id"]] = m.GetGauge().GetValue()
	}
	return out
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

// /probe serves one target, its project found through the fake's IAM, its
// endpoint from the region's variable or from --endpoint-template; with
// --all-projects, /metrics serves every project, each in its region
// (exporter_test.go has a project's failure).
func TestExporterFleet(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		endpoints bool
		args      []string
	}{
		{"all projects, endpoint variables", true, []string{"--all-projects"}},
		{"endpoint template", false, []string{"--endpoint-template", "{fake}"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := startFake(t, regionsFixture)
			args := []string{"exporter", "--listen", "127.0.0.1:0"}
			for _, a := range tt.args {
				args = append(args, strings.ReplaceAll(a, "{fake}", f.url))
			}
			x := start(t, f.env(fleetEnv(f, tt.endpoints)), args...)
			base := strings.TrimSuffix(x.url, "/metrics")
			if tt.endpoints {
				fams := promtest.Scrape(t, base+"/metrics")
				assert.Equal(t, map[string]float64{"cn-north-4/p-north": 1, "ap-southeast-1/p-south": 1}, success(fams))
				assert.Equal(t, f.Counts("p-north", true), targetCounts(t, fams, "p-north", "cn-north-4"))
				assert.Equal(t, f.Counts("p-south", true), targetCounts(t, fams, "p-south", "ap-southeast-1"))
				assert.Contains(t, fams, "go_goroutines", "the exporter's own metrics")
				assert.Equal(t, 1.0, promGauge(t, fams, "dcskit_exporter_project_list_success", nil))
				assert.Equal(t, 2.0, promGauge(t, fams, "dcskit_exporter_targets", map[string]string{"kind": "listed"}))
			}

			fams := promtest.Scrape(t, base+"/probe?region=cn-north-4")
			assert.Equal(t, map[string]float64{"cn-north-4/p-north": 1}, success(fams))
			want := f.Counts("p-north", true)
			require.Equal(t, int32(2), want.Redis.Get(dcs.Running))
			assert.Equal(t, want, targetCounts(t, fams, "p-north", "cn-north-4"))

			fams = promtest.Scrape(t, base+"/probe?region=ap-southeast-1")
			assert.Equal(t, map[string]float64{"ap-southeast-1/p-south": 1}, success(fams))
			assert.Equal(t, f.Counts("p-south", true), targetCounts(t, fams, "p-south", "ap-southeast-1"))

			status, body := get(t, base+"/probe?region=eu-west-0")
			assert.Equal(t, http.StatusNotFound, status)
			assert.Contains(t, body, `IAM at `+f.url+` has no project named "eu-west-0"; the credentials can access cn-north-4 (p-north), ap-southeast-1 (p-south)`)

			r := x.stop()
			assert.Equal(t, 0, r.code, r.stderr)
			assert.NotContains(t, r.stderr, testSK)
		})
	}
}

// promGauge is the value of the series of name with labels.
func promGauge(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	for _, m := range fams[name].GetMetric() {
		l := labelsOf(m)
		match := true
		for k, v := range labels {
			match = match && l[k] == v
		}
		if match {
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no %s%v", name, labels)
	return 0
}

// writeFiles writes name: content files into a new directory, and
// returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}
	return dir
}

// --config serves its targets, each with its own credentials profile:
// here the environment has no keys at all.
func TestExporterConfig(t *testing.T) {
	t.Parallel()
	f := startFake(t, regionsFixture)
	dir := writeFiles(t, map[string]string{
		"targets.yaml": "targets:\n  - region: cn-north-4\n    profile: team.ini\n  - region: ap-southeast-1\n    project_id: p-south\n    profile: team.ini\n",
		"team.ini":     "[basic]\nak = " + testAK + "\nsk = " + testSK + "\n",
	})
	environ := fleetEnv(f, true)
	delete(environ, client.EnvAccessKey)
	delete(environ, client.EnvSecretKey)
	x := start(t, f.env(environ), "exporter", "--listen", "127.0.0.1:0", "--config", filepath.Join(dir, "targets.yaml"))
	base := strings.TrimSuffix(x.url, "/metrics")

	fams := promtest.Scrape(t, base+"/metrics")
	assert.Equal(t, map[string]float64{"cn-north-4/p-north": 1, "ap-southeast-1/p-south": 1}, success(fams))
	assert.Equal(t, f.Counts("p-south", true), targetCounts(t, fams, "p-south", "ap-southeast-1"))
	assert.Equal(t, 2.0, promGauge(t, fams, "dcskit_exporter_targets", map[string]string{"kind": "configured"}))

	// /probe reaches a configured target with its profile; the default
	// credentials, which are none, cannot reach any other.
	fams = promtest.Scrape(t, base+"/probe?region=cn-north-4")
	assert.Equal(t, map[string]float64{"cn-north-4/p-north": 1}, success(fams))
	fams = promtest.Scrape(t, base+"/probe?region=cn-north-4&project_id=p-other")
	assert.Equal(t, map[string]float64{"cn-north-4/p-other": 0}, success(fams))
	assert.Contains(t, x.stderr.String(), "no credentials")
	assert.Equal(t, 0, x.stop().code)
}

// A configuration that cannot work is refused before the exporter
// serves anything: exit status 2, and what is wrong.
func TestExporterConfigErrors(t *testing.T) {
	t.Parallel()
	f := startFake(t, regionsFixture)
	dir := writeFiles(t, map[string]string{
		"good.yaml":       "targets:\n  - region: cn-north-4\n",
		"unknown.yaml":    "targets:\n  - region: cn-north-4\n    project: p\n",
		"region.yaml":     "targets:\n  - region: cn-north-4\n  - region: Beijing\n",
		"noprofile.yaml":  "targets:\n  - region: cn-north-4\n    profile: none.ini\n",
		"badprofile.yaml": "targets:\n  - region: cn-north-4\n    profile: half.ini\n",
		"half.ini":        "[basic]\nak = " + testAK + "\n",
	})
	at := func(name string) string { return filepath.Join(dir, name) }
	noKeys := fleetEnv(f, true)
	delete(noKeys, client.EnvAccessKey)
	delete(noKeys, client.EnvSecretKey)
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no file", nil, []string{"--config", at("none.yaml")}, "configuration " + at("none.yaml") + ": no such file or directory"},
		{"unknown field", nil, []string{"--config", at("unknown.yaml")}, "field project not found"},
		{"bad region", nil, []string{"--config", at("region.yaml")}, `targets[1].region: "Beijing" is not a region id`},
		{"no profile file", nil, []string{"--config", at("noprofile.yaml")}, "targets[0].profile: no credentials: profile file " + at("none.ini") + " (from the configuration): no such file"},
		{"half a key pair", nil, []string{"--config", at("badprofile.yaml")}, "[basic] has ak but no sk"},
		{"no default keys", noKeys, []string{"--config", at("good.yaml")}, "targets[0] has no profile, and the default credentials fail"},
		{"project and config", nil, []string{"--config", at("good.yaml"), "--project-id", "p-north"}, "--project-id names the one target of an exporter without --config or --all-projects"},
		{"region and all projects", nil, []string{"--all-projects", "--region", "cn-north-4"}, "--region names the one target"},
		{"config and all projects", nil, []string{"--config", at("good.yaml"), "--all-projects"}, "--config and --all-projects exclude each other"},
		{"no targets at all", nil, []string{"--max-targets", "0"}, "--max-targets and --max-in-flight must be at least 1"},
		{"all projects, no keys", noKeys, []string{"--all-projects"}, "no credentials"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			environ := tt.env
			if environ == nil {
				environ = fleetEnv(f, true)
			}
			r := runEnv(t, nil, f.env(environ), append([]string{"exporter", "--listen", "127.0.0.1:0"}, tt.args...)...)
			assert.Equal(t, 2, r.code, r.stderr)
			assert.Contains(t, r.stderr, tt.want)
			assert.Empty(t, r.stdout, "nothing served")
			assert.NotContains(t, r.stderr, testSK)
		})
	}
}

package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen/iam"
	"github.com/dcskit/dcskit/openapi"
	"github.com/dcskit/dcskit/server"
	"github.com/dcskit/dcskit/signer"
)

// twoRegions is a table of two region projects.
var twoRegions = []server.Project{{ID: "p-north", Name: "cn-north-4"}, {ID: "p-south", Name: "ap-southeast-1"}}

// listProjects asks the fake's IAM for the projects named name ("" for
// all) and returns their ids and names.
func (f *fake) listProjects(t *testing.T, name string) []server.Project {
	t.Helper()
	path := "/v3/projects"
	if name != "" {
		path += "?name=" + url.QueryEscape(name)
	}
	r := f.call(t, http.MethodGet, path, "")
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var out iam.ProjectList
	require.NoError(t, json.Unmarshal(r.body, &out))
	return projectsOf(out.Projects)
}

func projectsOf(ps []iam.Project) []server.Project {
	out := []server.Project{}
	for _, p := range ps {
		out = append(out, server.Project{ID: p.Id, Name: p.Name})
	}
	return out
}

func TestIAMListsProjectsByName(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			f := m.start(t, server.Options{Projects: twoRegions})
			assert.Equal(t, twoRegions[:1], f.listProjects(t, "cn-north-4"))
			assert.Equal(t, twoRegions[1:], f.listProjects(t, "ap-southeast-1"))
			assert.Empty(t, f.listProjects(t, "eu-west-0"))
			assert.Equal(t, twoRegions, f.listProjects(t, ""))

			r := f.call(t, http.MethodGet, "/v3/auth/projects", "")
			require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
			var auth iam.AuthProjectList
			require.NoError(t, json.Unmarshal(r.body, &auth))
			assert.Equal(t, twoRegions, projectsOf(auth.Projects))
		})
	}
}

// IAM's answers carry the fields the official SDK's models read, links
// included, and "projects" is an empty list, never null.
func TestIAMAnswerShape(t *testing.T) {
	t.Parallel()
	f := startListener(t, server.Options{Projects: twoRegions})
	r := f.call(t, http.MethodGet, "/v3/projects?name=cn-north-4", "")
	require.Equal(t, http.StatusOK, r.status)
	var got map[string]any
	require.NoError(t, json.Unmarshal(r.body, &got))
	assert.Equal(t, f.base+"/v3/projects?name=cn-north-4", got["links"].(map[string]any)["self"])
	assert.Contains(t, got["links"], "next")
	p := got["projects"].([]any)[0].(map[string]any)
	for _, k := range []string{"id", "name", "domain_id", "parent_id", "is_domain", "enabled", "description", "links"} {
		assert.Contains(t, p, k)
	}
	assert.Equal(t, true, p["enabled"])
	assert.Equal(t, p["domain_id"], p["parent_id"], "a region's project belongs to the account")
	assert.Equal(t, f.base+"/v3/projects/p-north", p["links"].(map[string]any)["self"])

	r = f.call(t, http.MethodGet, "/v3/projects?name=nowhere", "")
	assert.JSONEq(t, `[]`, string(mustField(t, r.body, "projects")))
}

func mustField(t *testing.T, body []byte, name string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &m))
	require.Contains(t, m, name)
	return m[name]
}

// A project with instances but no entry in the table is listed under the
// default region of dcs.yaml's servers.
func TestIAMListsProjectsWithInstancesUnderTheDefaultRegion(t *testing.T) {
	t.Parallel()
	docs, err := openapi.Load()
	require.NoError(t, err)
	defaultRegion := docs.DCS.Servers[0].Variables["region"].Default
	require.NotEmpty(t, defaultRegion)

	f := startHandler(t, server.Options{Projects: twoRegions[1:]})
	_, err = f.Add(
		server.Instance{ProjectID: "zeta", Engine: dcs.Redis, Status: dcs.Running},
		server.Instance{ProjectID: "alpha", Engine: dcs.Memcached, Status: dcs.Error},
		server.Instance{ProjectID: "p-south", Engine: dcs.Redis, Status: dcs.Running},
	)
	require.NoError(t, err)
	want := []server.Project{twoRegions[1], {ID: "alpha", Name: defaultRegion}, {ID: "zeta", Name: defaultRegion}}
	assert.Equal(t, want, f.Projects())
	assert.Equal(t, want, f.listProjects(t, ""))
	assert.Equal(t, want[1:], f.listProjects(t, defaultRegion), "two projects for one region: discovery must refuse it")

	insts := f.Instances("alpha")
	require.Len(t, insts, 1)
	require.NoError(t, f.Remove(insts[0].ID))
	assert.Equal(t, []server.Project{want[0], want[2]}, f.Projects(), "a project without instances is gone")
}

func TestIAMTableFromFixtureAndAdmin(t *testing.T) {
	t.Parallel()
	f := startListener(t, server.Options{Projects: twoRegions})

	// A fixture's table replaces the table; one without leaves it.
	require.NoError(t, f.LoadFixture("fx", strings.NewReader(`{"instances": [], "projects": [{"id": "p9", "name": "eu-west-0"}]}`)))
	assert.Equal(t, []server.Project{{ID: "p9", Name: "eu-west-0"}}, f.Projects())
	require.NoError(t, f.LoadFixture("fx", strings.NewReader(`{"instances": []}`)))
	assert.Equal(t, []server.Project{{ID: "p9", Name: "eu-west-0"}}, f.Projects())

	// Adding a fixture's instances merges its table by id.
	r := f.call(t, http.MethodPost, "/_fake/instances", `{"instances": [], "projects": [{"id": "p9", "name": "cn-east-3"}, {"id": "p8", "name": "cn-north-4"}]}`)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, []server.Project{{ID: "p9", Name: "cn-east-3"}, {ID: "p8", Name: "cn-north-4"}}, f.Projects())

	r = f.call(t, http.MethodPut, "/_fake/projects", `{"projects": [{"id": "p1", "name": "cn-north-4"}]}`)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.JSONEq(t, `{"projects": [{"id": "p1", "name": "cn-north-4"}]}`, string(r.body))
	r = f.call(t, http.MethodGet, "/_fake/projects", "")
	require.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{"projects": [{"id": "p1", "name": "cn-north-4"}]}`, string(r.body))
	assert.Equal(t, []server.Project{{ID: "p1", Name: "cn-north-4"}}, f.listProjects(t, "cn-north-4"))

	f.Reset()
	assert.Equal(t, twoRegions, f.Projects(), "Reset puts back Options.Projects")
}

func TestIAMTableRejectsBadInput(t *testing.T) {
	t.Parallel()
	f := startListener(t, server.Options{Projects: twoRegions})
	tests := []struct {
		name, method, path, body string
		want                     string
	}{
		{"duplicate id", http.MethodPut, "/_fake/projects", `{"projects": [{"id": "a", "name": "x"}, {"id": "a", "name": "y"}]}`, `projects[1].id: "a" is in the table twice`},
		{"bad id", http.MethodPut, "/_fake/projects", `{"projects": [{"id": "a/b", "name": "x"}]}`, "id"},
		{"missing name", http.MethodPut, "/_fake/projects", `{"projects": [{"id": "a"}]}`, "name"},
		{"unknown field", http.MethodPut, "/_fake/projects", `{"projects": [{"id": "a", "name": "x", "region": "y"}]}`, "region"},
		{"fixture with a bad table", http.MethodPut, "/_fake/instances", `{"instances": [{"project_id": "q", "engine": "Redis", "status": "RUNNING"}], "projects": [{"id": "a", "name": "x"}, {"id": "a", "name": "x"}]}`, "twice"},
		{"added fixture with a bad table", http.MethodPost, "/_fake/instances", `{"instances": [{"project_id": "q", "engine": "Redis", "status": "RUNNING"}], "projects": [{"id": "", "name": "x"}]}`, "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.call(t, tt.method, tt.path, tt.body)
			assert.Equal(t, http.StatusBadRequest, r.status)
			assert.Contains(t, r.error(t).Msg, tt.want)
			assert.Equal(t, twoRegions, f.Projects(), "nothing changed")
			assert.Empty(t, f.Instances(""), "nothing changed")
		})
	}

	_, err := server.New(server.Options{Projects: []server.Project{{ID: "a", Name: ""}}})
	assert.ErrorContains(t, err, "Projects[0].name")
	err = f.SetProjects(make([]server.Project, server.MaxProjects+1)...)
	assert.ErrorContains(t, err, "more than")
}

// IAM requests pass the same checks as the DCS API's, and IAM's errors
// have IAM codes; a failed authentication is the gateway's.
func TestIAMChecksRequests(t *testing.T) {
	t.Parallel()
	now := time.Now()
	f := startListener(t, server.Options{AccessKey: "AKEXAMPLE", SecretKey: "sk-right", Projects: twoRegions})
	sign := func(t *testing.T, r *http.Request, sk string) *http.Request {
		require.NoError(t, signer.Sign(r, nil, signer.Credentials{AccessKey: "AKEXAMPLE", SecretKey: sk}, now))
		return r
	}

	r := f.send(t, sign(t, f.request(t, http.MethodGet, "/v3/projects?name=cn-north-4", ""), "sk-right"))
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)

	tests := []struct {
		name   string
		req    *http.Request
		status int
		code   string
	}{
		{"unsigned", f.request(t, http.MethodGet, "/v3/projects", ""), 401, "APIGW.0301"},
		{"wrong SK", sign(t, f.request(t, http.MethodGet, "/v3/auth/projects", ""), "sk-wrong"), 401, "APIGW.0301"},
		{"name too long", sign(t, f.request(t, http.MethodGet, "/v3/projects?name="+strings.Repeat("x", 65), ""), "sk-right"), 400, "IAM.0400"},
		{"wrong method", sign(t, f.request(t, http.MethodPost, "/v3/projects", ""), "sk-right"), 405, "IAM.0405"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.send(t, tt.req)
			assert.Equal(t, tt.status, r.status, "body: %s", r.body)
			assert.Equal(t, tt.code, r.error(t).Code)
		})
	}
}

// Faults are for the DCS API: a client's project discovery does not use
// them up.
func TestIAMTakesNoFaults(t *testing.T) {
	t.Parallel()
	f := startListener(t, server.Options{Projects: twoRegions})
	f.InjectFault(server.Fault{Status: 503})
	assert.Equal(t, twoRegions[:1], f.listProjects(t, "cn-north-4"))
	r := f.call(t, http.MethodGet, statusPath("p-north"), "")
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
}

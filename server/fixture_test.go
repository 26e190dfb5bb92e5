package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/server"
)

func TestLoadFixture(t *testing.T) {
	t.Parallel()
	s, err := server.New(server.Options{})
	require.NoError(t, err)
	for range 2 { // loading again replaces, it does not add
		loadFixture(t, s)
		assert.Equal(t, fixtureCounts(true), s.Counts(fixtureProject, true))
		assert.Len(t, s.Instances(""), 8+8+22+22+1+3)
		assert.Len(t, s.Instances("other_project"), 3)
	}
	named := s.Instances(fixtureProject)[8+8+22+22]
	assert.Equal(t, server.Instance{
		ProjectID: fixtureProject, ID: "6f1a3c2e-8d4b-4e5f-9a7c-1b2d3e4f5a6b", Name: "orders-cache",
		Engine: dcs.Redis, Status: dcs.Restarting,
	}, named)

	require.NoError(t, s.LoadFixture("f", strings.NewReader(
		`{"instances":[{"project_id":"p","engine":"Memcached","status":"ERROR","name":"web","count":3}]}`)))
	var got []string
	for _, in := range s.Instances("p") {
		got = append(got, in.Name)
	}
	assert.Equal(t, []string{"web-1", "web-2", "web-3"}, got, "a count numbers its names")

	assert.ErrorContains(t, s.LoadFixtureFile("testdata/nope.json"), "nope.json")

}

func TestBadFixtures(t *testing.T) {
	t.Parallel()
	const entry = `{"project_id":"p","engine":"Redis","status":"RUNNING"}`
	// with builds a fixture whose second entry is bad.
	with := func(bad string) string { return `{"instances":[` + entry + `,` + bad + `]}` }
	// becomes is an entry of count 2 with a schedule.
	becomes := func(t string) string {
		return `{"project_id":"p","engine":"Redis","status":"CREATING","count":2,"becomes":` + t + `}`
	}
	tests := []struct {
		name  string
		body  string
		index int
		field string
		want  []string // in the message, beside the file name
	}{
		{"not JSON", `{"instances":`, -1, "", []string{"not JSON"}},
		{"not an object", `[]`, -1, "", []string{"value must be an object"}},
		{"trailing data", `{"instances":[]} {}`, -1, "", []string{"after the JSON object"}},
		{"unknown top-level field", `{"instances":[],"extra":1}`, -1, "extra", []string{"extra: unknown field", "valid: instances"}},
		{"no instances", `{}`, -1, "instances", []string{"missing"}},
		{"instances not an array", `{"instances":{}}`, -1, "instances", []string{"value must be an array"}},
		{"entry not an object", with(`7`), 1, "", []string{"instances[1]: 7: value must be an object"}},
		{"missing project_id", with(`{"engine":"Redis","status":"RUNNING"}`), 1, "project_id", []string{"instances[1].project_id", `"project_id" is missing`}},
		{"bad project_id", with(`{"project_id":"a/b","engine":"Redis","status":"RUNNING"}`), 1, "project_id", []string{`instances[1].project_id: "a/b" is not 1 to 64 letters, digits`}},
		{"unknown engine", with(`{"project_id":"p","engine":"redis","status":"RUNNING"}`), 1, "engine", []string{"instances[1].engine", `unknown value "redis"`, "valid: Redis, Memcached"}},
		{"unknown status", with(`{"project_id":"p","engine":"Redis","status":"DELETED"}`), 1, "status", []string{"instances[1].status", `unknown value "DELETED"`, "valid: PAYING, FREEZING", "RESTARTING"}},
		{"unknown field", with(`{"project_id":"p","engine":"Redis","status":"RUNNING","colour":"red"}`), 1, "colour", []string{"instances[1].colour: unknown field", "valid: becomes, count, engine, id, name, project_id, status"}},
		{"count 0", with(`{"project_id":"p","engine":"Redis","status":"RUNNING","count":0}`), 1, "count", []string{"instances[1].count: 0: number must be at least 1"}},
		{"count too big", with(`{"project_id":"p","engine":"Redis","status":"RUNNING","count":1000001}`), 1, "count", []string{"at most"}},
		{"count a string", with(`{"project_id":"p","engine":"Redis","status":"RUNNING","count":"3"}`), 1, "count", []string{`instances[1].count: "3": value must be an integer`}},
		{"count a fraction", with(`{"project_id":"p","engine":"Redis","status":"RUNNING","count":1.5}`), 1, "count", []string{"instances[1].count"}},
		{"id with a count", with(`{"project_id":"p","engine":"Redis","status":"RUNNING","id":"x","count":2}`), 1, "id", []string{"instances[1].id", "count 1"}},
		{"becomes not an object", with(becomes(`"RUNNING"`)), 1, "becomes", []string{`instances[1].becomes: "RUNNING": value must be an object`}},
		{"becomes null", with(becomes(`null`)), 1, "becomes", []string{"not nullable"}},
		{"becomes unknown status", with(becomes(`{"status":"DONE","after":"3s"}`)), 1, "becomes.status", []string{"instances[1].becomes.status", `unknown value "DONE"`, "valid: PAYING", "RESTARTING"}},
		{"becomes status not a string", with(becomes(`{"status":1,"after":"3s"}`)), 1, "becomes.status", []string{"unknown value 1"}},
		{"becomes without status", with(becomes(`{"after":"3s"}`)), 1, "becomes.status", []string{`"status" is missing`}},
		{"becomes without after", with(becomes(`{"status":"RUNNING"}`)), 1, "becomes.after", []string{"instances[1].becomes.after", `"after" is missing`}},
		{"after a number", with(becomes(`{"status":"RUNNING","after":3}`)), 1, "becomes.after", []string{"3: value must be a string"}},
		{"after without unit", with(becomes(`{"status":"RUNNING","after":"3"}`)), 1, "becomes.after", []string{`"3" is not a Go duration such as "3s"`}},
		{"after negative", with(becomes(`{"status":"RUNNING","after":"-3s"}`)), 1, "becomes.after", []string{`"-3s" is not a Go duration`}},
		{"becomes unknown field", with(becomes(`{"status":"RUNNING","after":"3s","at":"noon"}`)), 1, "becomes.at", []string{"unknown field", "valid: after, status, then"}},
		{"bad then", with(becomes(`{"status":"RUNNING","after":"3s","then":{"status":"RUNNING","after":"soon"}}`)), 1, "becomes.then.after", []string{"instances[1].becomes.then.after", `"soon"`}},
		{"duplicate id", `{"instances":[{"project_id":"p","engine":"Redis","status":"RUNNING","id":"x"},{"project_id":"p","engine":"Redis","status":"RUNNING","id":"x"}]}`, 1, "id", []string{"instances[1].id", `"x"`}},
	}
	s, err := server.New(server.Options{})
	require.NoError(t, err)
	loadFixture(t, s)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := s.Instances("")
			err := s.LoadFixture("bad.json", strings.NewReader(tt.body))
			var fe *server.FixtureError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, "bad.json", fe.File)
			assert.Equal(t, tt.index, fe.Index)
			assert.Equal(t, tt.field, fe.Field)
			assert.Contains(t, err.Error(), "fixture bad.json: ")
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Equal(t, before, s.Instances(""), "nothing from a bad fixture")
		})
	}
}

func TestAdminRejectsBadFixture(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		for _, validation := range []bool{true, false} {
			f := m.start(t, server.Options{DisableValidation: !validation})
			loadFixture(t, f.Server)
			for _, method := range []string{http.MethodPut, http.MethodPost} {
				r := f.call(t, method, "/_fake/instances", `{"instances":[{"project_id":"p","engine":"redis","status":"RUNNING"}]}`)
				assert.Equal(t, http.StatusBadRequest, r.status)
				e := r.error(t)
				assert.Equal(t, "111400063", e.Code)
				assert.Contains(t, e.Msg, "Redis")
			}
			assert.Equal(t, fixtureCounts(true), f.counts(t, fixtureProject, "?include_failure=true"))
		}
	}
}

func TestCountsFixture(t *testing.T) {
	t.Parallel()
	want := fixtureCounts(true)
	fx, err := server.CountsFixture(fixtureProject, want)
	require.NoError(t, err)
	assert.Len(t, fx.Instances, 5, "one entry per engine and status with instances")

	f := startHandler(t, server.Options{})
	assert.Equal(t, 200, f.call(t, "PUT", "/_fake/instances", jsonBody(t, fx)).status, "the admin API takes it as it is")
	assert.Equal(t, want, f.Counts(fixtureProject, true))

	var ie *server.InvalidError
	_, err = server.CountsFixture("p", counts(map[dcs.Engine]map[dcs.Status]int32{dcs.Memcached: {dcs.Running: 1_000_001}}))
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, "memcached.running_count", ie.Field)
	_, err = server.CountsFixture("no/slash", counts(map[dcs.Engine]map[dcs.Status]int32{dcs.Redis: {dcs.Running: 1}}))
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, "project_id", ie.Field)
	fx, err = server.CountsFixture("no/slash", dcs.Counts{})
	require.NoError(t, err, "nothing to hold")
	assert.Empty(t, fx.Instances)
}

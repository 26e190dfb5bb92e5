package server_test

import (
	"encoding/json"
	"net/http"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen/admin"
	"github.com/dcskit/dcskit/server"
)

func (r reply) instances(t *testing.T) []admin.Instance {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var l admin.InstanceList
	require.NoError(t, json.Unmarshal(r.body, &l))
	return l.Instances
}

// added decodes the answer to an add or a replace.
func (r reply) added(t *testing.T) admin.AddResult {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var res admin.AddResult
	require.NoError(t, json.Unmarshal(r.body, &res))
	return res
}

func TestAdminAPI(t *testing.T) {
	t.Parallel()
	fixture, err := os.ReadFile(fixtureFile)
	require.NoError(t, err)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			f := m.start(t, server.Options{})

			r := f.call(t, http.MethodGet, "/_fake/healthz", "")
			assert.Equal(t, http.StatusOK, r.status)
			assert.JSONEq(t, `{"status":"ok"}`, string(r.body))

			replaced := f.call(t, http.MethodPut, "/_fake/instances", string(fixture)).added(t)
			assert.Equal(t, 64, replaced.Added)
			assert.Len(t, replaced.Instances, 6, "one item per entry")
			assert.Equal(t, fixtureCounts(), f.Counts(fixtureProject, true))
			assert.Len(t, f.call(t, http.MethodGet, "/_fake/instances?project_id=other_project", "").instances(t), 3)
			assert.Len(t, f.call(t, http.MethodGet, "/_fake/instances", "").instances(t), 64)

			added := f.call(t, http.MethodPost, "/_fake/instances",
				`{"instances":[{"project_id":"p","engine":"Redis","status":"CREATING","id":"new-one"}]}`).added(t)
			assert.Equal(t, admin.AddResult{Added: 1, Instances: []admin.AddedEntry{
				{ProjectId: "p", Id: "new-one", Name: "dcs-new-one", Engine: dcs.Redis, Status: dcs.Creating, Count: 1},
			}}, added)
			assert.Len(t, f.Instances(""), 65, "POST adds")

			r = f.call(t, http.MethodPost, "/_fake/instances",
				`{"instances":[{"project_id":"p","engine":"Redis","status":"CREATING","id":"new-one"}]}`)
			assert.Equal(t, http.StatusConflict, r.status)
			assert.Equal(t, "111409001", r.error(t).Code)

			r = f.call(t, http.MethodPatch, "/_fake/instances/new-one", `{"status":"RUNNING"}`)
			require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
			assert.Equal(t, int32(1), f.Counts("p", false).Redis[dcs.Running.Index()])

			r = f.call(t, http.MethodPatch, "/_fake/instances/nobody", `{"status":"RUNNING"}`)
			assert.Equal(t, http.StatusNotFound, r.status)
			assert.Equal(t, "111404002", r.error(t).Code)

			r = f.call(t, http.MethodPatch, "/_fake/instances/new-one", `{"status":"running"}`)
			assert.Equal(t, http.StatusBadRequest, r.status)
			assert.Equal(t, "111400063", r.error(t).Code)

			r = f.call(t, http.MethodPatch, "/_fake/instances/new-one", `not json`)
			assert.Equal(t, http.StatusBadRequest, r.status)
			assert.Equal(t, "111400063", r.error(t).Code)

			assert.Equal(t, http.StatusNoContent, f.call(t, http.MethodDelete, "/_fake/instances/new-one", "").status)
			assert.Equal(t, http.StatusNotFound, f.call(t, http.MethodDelete, "/_fake/instances/new-one", "").status)

			assert.Equal(t, http.StatusNoContent, f.call(t, http.MethodPost, "/_fake/faults", `{"status":503,"times":2}`).status)
			assert.Equal(t, http.StatusServiceUnavailable, f.call(t, http.MethodGet, statusPath("p"), "").status)
			assert.Equal(t, http.StatusNoContent, f.call(t, http.MethodDelete, "/_fake/faults", "").status)
			assert.NotEqual(t, http.StatusServiceUnavailable, f.call(t, http.MethodGet, statusPath("p"), "").status)

			r = f.call(t, http.MethodPost, "/_fake/faults", `{"status":200}`)
			assert.Equal(t, http.StatusBadRequest, r.status)
			assert.Equal(t, "111400063", r.error(t).Code)

			assert.Equal(t, http.StatusNoContent, f.call(t, http.MethodPost, "/_fake/reset", "").status)
			assert.Empty(t, f.Instances(""))
		})
	}
}

func TestAdminWithoutValidationStillRejects(t *testing.T) {
	t.Parallel()
	f := startListener(t, server.Options{DisableValidation: true})
	_, err := f.Add(server.Instance{ProjectID: "p", ID: "x", Engine: dcs.Redis, Status: dcs.Running})
	require.NoError(t, err)
	for _, tt := range []struct{ method, path, body string }{
		{http.MethodPatch, "/_fake/instances/x", `{"status":"running"}`},
		{http.MethodPost, "/_fake/faults", `{"status":200}`},
		{http.MethodPost, "/_fake/faults", `{"times":-1}`},
		{http.MethodPut, "/_fake/instances", `{"instances":[{"project_id":"p","engine":"Redis","status":"RUNNING","count":0}]}`},
	} {
		r := f.call(t, tt.method, tt.path, tt.body)
		assert.Equal(t, http.StatusBadRequest, r.status, "%s %s %s: %s", tt.method, tt.path, tt.body, r.body)
	}
}

package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen/admin"
	"github.com/dcskit/dcskit/openapi"
	"github.com/dcskit/dcskit/server"
)

// The admin API takes JSON however curl sends it: with -d (as a form),
// with no Content-Type, or as JSON; it refuses other types with 415 and
// a body that is not JSON with a 400 that says so, in JSON.
func TestAdminTakesWhatCurlSends(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, contentType, body string
		status                  int
		code, msg               string
	}{
		{"curl -d", "application/x-www-form-urlencoded", `{"status": 503, "times": 2}`, http.StatusNoContent, "", ""},
		{"no Content-Type", "", `{"status": 503, "times": 2}`, http.StatusNoContent, "", ""},
		{"JSON", "application/json", `{"status": 503, "times": 2}`, http.StatusNoContent, "", ""},
		{"JSON with a charset", "application/json; charset=utf-8", `{"status": 503, "times": 2}`, http.StatusNoContent, "", ""},
		{"a form that is a form", "application/x-www-form-urlencoded", `status=503&times=2`, http.StatusBadRequest, "111400063",
			"invalid parameter in the request: the request body is not JSON: invalid character 's' looking for beginning of value"},
		{"truncated JSON", "", `{"status": 503`, http.StatusBadRequest, "111400063", "the request body is not JSON: unexpected end of JSON input"},
		{"text", "text/plain", `{"status": 503}`, http.StatusUnsupportedMediaType, "111415001", `Content-Type "text/plain": send JSON, as application/json`},
		{"a bad Content-Type", "json;;", `{"status": 503}`, http.StatusUnsupportedMediaType, "111415001", `Content-Type "json;;"`},
	}
	for _, m := range modes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				f := m.start(t, server.Options{})
				req := f.request(t, http.MethodPost, "/_fake/faults", tt.body)
				req.Header.Set("Content-Type", tt.contentType)
				if tt.contentType == "" {
					req.Header.Del("Content-Type")
				}
				r := f.send(t, req)
				require.Equal(t, tt.status, r.status, "body: %s", r.body)
				if tt.status == http.StatusNoContent {
					// The fault is queued: the next two queries fail.
					for range 2 {
						assert.Equal(t, http.StatusServiceUnavailable, f.call(t, http.MethodGet, statusPath("p"), "").status)
					}
					assert.Equal(t, http.StatusOK, f.call(t, http.MethodGet, statusPath("p"), "").status)
					return
				}
				e := r.error(t)
				assert.Equal(t, tt.code, e.Code)
				assert.Contains(t, e.Msg, tt.msg)
				assert.Equal(t, http.StatusOK, f.call(t, http.MethodGet, statusPath("p"), "").status, "nothing was queued")
			})
		}
	}
}

// One call changes every instance that the filters match, and no other.
func TestAdminUpdatesEveryMatchingInstance(t *testing.T) {
	t.Parallel()
	const fixture = `{"instances": [
		{"project_id": "p1", "engine": "Redis", "status": "CREATING", "count": 3},
		{"project_id": "p1", "engine": "Memcached", "status": "CREATING", "count": 2},
		{"project_id": "p1", "engine": "Redis", "status": "RUNNING", "count": 1},
		{"project_id": "p2", "engine": "Redis", "status": "CREATING", "count": 4}]}`
	tests := []struct {
		name  string
		query string
		body  string
		n     int
		want  map[string]dcs.Counts // by project, after the change
	}{
		{"project, engine and status", "?project_id=p1&engine=Redis&status=CREATING", `{"status": "ERROR"}`, 3, map[string]dcs.Counts{
			"p1": counts(map[dcs.Engine]map[dcs.Status]int32{dcs.Redis: {dcs.Error: 3, dcs.Running: 1}, dcs.Memcached: {dcs.Creating: 2}}),
			"p2": counts(map[dcs.Engine]map[dcs.Status]int32{dcs.Redis: {dcs.Creating: 4}}),
		}},
		{"a status everywhere", "?status=CREATING", `{"status": "RUNNING"}`, 9, map[string]dcs.Counts{
			"p1": counts(map[dcs.Engine]map[dcs.Status]int32{dcs.Redis: {dcs.Running: 4}, dcs.Memcached: {dcs.Running: 2}}),
			"p2": counts(map[dcs.Engine]map[dcs.Status]int32{dcs.Redis: {dcs.Running: 4}}),
		}},
		{"no filter", "", `{"status": "FROZEN"}`, 10, map[string]dcs.Counts{
			"p1": counts(map[dcs.Engine]map[dcs.Status]int32{dcs.Redis: {dcs.Frozen: 4}, dcs.Memcached: {dcs.Frozen: 2}}),
			"p2": counts(map[dcs.Engine]map[dcs.Status]int32{dcs.Redis: {dcs.Frozen: 4}}),
		}},
		{"nothing matches", "?project_id=p3", `{"status": "ERROR"}`, 0, map[string]dcs.Counts{
			"p1": counts(map[dcs.Engine]map[dcs.Status]int32{dcs.Redis: {dcs.Creating: 3, dcs.Running: 1}, dcs.Memcached: {dcs.Creating: 2}}),
		}},
	}
	for _, m := range modes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				f := m.start(t, server.Options{})
				require.NoError(t, f.LoadFixture("fixture", strings.NewReader(fixture)))
				r := f.call(t, http.MethodPatch, "/_fake/instances"+tt.query, tt.body)
				require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
				var res admin.UpdateResult
				require.NoError(t, json.Unmarshal(r.body, &res))
				assert.Equal(t, tt.n, res.Changed)
				for p, want := range tt.want {
					assert.Equal(t, want, f.Counts(p, true), p)
				}
			})
		}
	}
}

// counts builds dcs.Counts from counts per engine and status.
func counts(m map[dcs.Engine]map[dcs.Status]int32) dcs.Counts {
	var c dcs.Counts
	for e, byStatus := range m {
		var counters dcs.Counters
		for s, n := range byStatus {
			counters[s.Index()] = n
		}
		c.SetEngine(e, counters)
	}
	c.Total = c.EngineSum()
	return c
}

// A later change shared by every matching instance: one chain, counted
// once, made on the fake's clock; a change already due is made before
// the filter looks.
func TestUpdateMatchingSchedulesOneChain(t *testing.T) {
	t.Parallel()
	clock := server.NewManualClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	s, err := server.New(server.Options{Clock: clock})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	require.NoError(t, s.LoadFixture("fixture", strings.NewReader(`{"instances": [
		{"project_id": "p", "engine": "Redis", "status": "CREATING", "count": 5},
		{"project_id": "p", "engine": "Memcached", "status": "RESTARTING", "becomes": {"status": "CREATING", "after": "1s"}}]}`)))
	clock.Advance(time.Second) // the Memcached instance is CREATING now, as the filter will see

	creating := dcs.Creating
	n, err := s.UpdateMatching(server.Filter{Status: dcs.Creating}, nil, &server.Transition{Status: dcs.Running, After: time.Minute})
	require.NoError(t, err)
	assert.Equal(t, 6, n)
	assert.EqualValues(t, 6, s.Counts("p", true).Total.Get(creating), "nothing changed yet")
	for _, in := range s.Instances("p") {
		require.NotNil(t, in.Becomes)
		assert.Equal(t, time.Minute, in.Becomes.After)
	}
	clock.Advance(time.Minute)
	assert.EqualValues(t, 6, s.Counts("p", true).Total.Get(dcs.Running))

	_, err = s.UpdateMatching(server.Filter{Engine: "redis"}, &creating, nil)
	var ie *server.InvalidError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, "engine", ie.Field)
	_, err = s.UpdateMatching(server.Filter{ProjectID: "a b"}, &creating, nil)
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, "project_id", ie.Field)
}

// The fake serves its documents: dcs.yaml and iam.yaml as written,
// admin.yaml as loaded, with the statuses and engines of dcs.yaml.
func TestAdminServesItsDocuments(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			f := m.start(t, server.Options{})
			get := func(name string) []byte {
				r := f.call(t, http.MethodGet, "/_fake/openapi/"+name, "")
				require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
				assert.Equal(t, "application/yaml", r.header.Get("Content-Type"))
				return r.body
			}
			assert.Equal(t, openapi.DCS, get("dcs.yaml"))
			assert.Equal(t, openapi.IAM, get("iam.yaml"))

			served := get("admin.yaml")
			doc, err := openapi3.NewLoader().LoadFromData(served)
			require.NoError(t, err)
			require.NoError(t, doc.Validate(t.Context()), "a document any OpenAPI tool can load")
			var statuses, engines []any
			for _, s := range dcs.Statuses() {
				statuses = append(statuses, string(s))
			}
			for _, e := range dcs.Engines() {
				engines = append(engines, string(e))
			}
			assert.Equal(t, statuses, doc.Components.Schemas["Status"].Value.Enum)
			assert.Equal(t, engines, doc.Components.Schemas["Engine"].Value.Enum)
			loaded, err := openapi.LoadAdmin(t.Context())
			require.NoError(t, err)
			assert.ElementsMatch(t, slices.Collect(mapsKeys(loaded.Paths.Map())), slices.Collect(mapsKeys(doc.Paths.Map())))
			var raw map[string]any
			require.NoError(t, yaml.Unmarshal(served, &raw))
			assert.Contains(t, raw, "servers")

			r := f.call(t, http.MethodGet, "/_fake/openapi/other.yaml", "")
			assert.Equal(t, http.StatusBadRequest, r.status)
		})
	}
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Every error code the admin API answers is in admin.yaml: in its table
// of errors, and, for an operation, as an example of the response of its
// status.
func TestAdminErrorCodesAreInTheSpec(t *testing.T) {
	t.Parallel()
	doc, err := openapi.LoadAdmin(t.Context())
	require.NoError(t, err)
	const remote = "203.0.113.9:40000"
	tests := []struct {
		name                string
		method, path, body  string
		contentType, remote string
		op                  string // the operation, "" for a request that is none
		status              int
		code                string
	}{
		{"a bad body", http.MethodPatch, "/_fake/instances/i-1", `{"status": "NOPE"}`, "", "", "UpdateInstance", 400, "111400063"},
		{"not JSON", http.MethodPost, "/_fake/faults", `status=503`, "", "", "InjectFault", 400, "111400063"},
		{"a bad query", http.MethodGet, "/_fake/instances?limit=0", "", "", "", "ListInstances", 400, "111400063"},
		{"another host", http.MethodPost, "/_fake/reset", "", "", remote, "Reset", 403, "111403003"},
		{"no such URL", http.MethodGet, "/_fake/nope", "", "", "", "", 404, "111404001"},
		{"no such instance", http.MethodDelete, "/_fake/instances/i-nope", "", "", "", "DeleteInstance", 404, "111404002"},
		{"no such method", http.MethodDelete, "/_fake/reset", "", "", "", "", 405, "111405001"},
		{"an id in use", http.MethodPost, "/_fake/instances", `{"instances": [{"project_id": "p", "engine": "Redis", "status": "RUNNING", "id": "i-1"}]}`, "", "", "AddInstances", 409, "111409001"},
		{"a body too large", http.MethodPost, "/_fake/faults", `{"status": 503, "x": "` + strings.Repeat("x", server.MaxAdminBody) + `"}`, "", "", "InjectFault", 413, "111413001"},
		{"a Content-Type", http.MethodPut, "/_fake/projects", `{"projects": []}`, "text/plain", "", "ReplaceProjects", 415, "111415001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := startHandler(t, server.Options{AccessKey: "AK", SecretKey: "SK"})
			_, err := f.Add(server.Instance{ProjectID: "p", ID: "i-1", Engine: dcs.Redis, Status: dcs.Running})
			require.NoError(t, err)
			req := f.request(t, tt.method, tt.path, tt.body)
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			if tt.remote != "" {
				req.RemoteAddr = tt.remote
			}
			r := f.send(t, req)
			require.Equal(t, tt.status, r.status, "body: %s", r.body)
			assert.Equal(t, tt.code, r.error(t).Code)
			assert.Contains(t, doc.Info.Description, fmt.Sprintf("| %d | %s |", tt.status, tt.code), "the table of errors")
			if tt.op == "" {
				return
			}
			var op *openapi3.Operation
			for _, item := range doc.Paths.Map() {
				for _, o := range item.Operations() {
					if o.OperationID == tt.op {
						op = o
					}
				}
			}
			require.NotNil(t, op, tt.op)
			resp := op.Responses.Status(tt.status)
			require.NotNil(t, resp, "%s declares %d", tt.op, tt.status)
			var codes []string
			for _, ex := range resp.Value.Content.Get("application/json").Examples {
				codes = append(codes, ex.Value.Value.(map[string]any)["error_code"].(string))
			}
			assert.Contains(t, codes, tt.code, "%s's %d has an example with this code", tt.op, tt.status)
		})
	}
}

// Every request body of the admin API has an example, which the
// document's own validation holds to its schema.
func TestAdminRequestBodiesHaveExamples(t *testing.T) {
	t.Parallel()
	doc, err := openapi.LoadAdmin(t.Context())
	require.NoError(t, err)
	n := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody == nil {
				continue
			}
			n++
			mt := op.RequestBody.Value.Content.Get("application/json")
			require.NotNil(t, mt, "%s %s", method, path)
			assert.True(t, mt.Example != nil || len(mt.Examples) > 0, "%s %s has an example", method, path)
			body, err := json.Marshal(mt.Example)
			require.NoError(t, err)
			assert.NoError(t, mt.Schema.Value.VisitJSON(mustAny(t, body)), "%s %s", method, path)
		}
	}
	assert.Positive(t, n)
}

func mustAny(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(b, &v))
	return v
}

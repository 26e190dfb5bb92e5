package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen/admin"
	"github.com/dcskit/dcskit/openapi"
	"github.com/dcskit/dcskit/server"
	"github.com/dcskit/dcskit/signer"
)

func TestAdminAPI(t *testing.T) {
	t.Parallel()
	fixture, err := os.ReadFile(fixtureFile)
	require.NoError(t, err)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			f := m.start(t, server.Options{})
			assert.JSONEq(t, `{"status":"ok"}`, string(f.call(t, http.MethodGet, "/_fake/healthz", "").body))

			replaced := decode[admin.AddResult](t, f.call(t, http.MethodPut, "/_fake/instances", string(fixture)))
			assert.Equal(t, 64, replaced.Added)
			assert.Len(t, replaced.Instances, 6, "one item per entry")
			assert.Equal(t, fixtureCounts(true), f.Counts(fixtureProject, true))
			assert.Len(t, decode[admin.InstanceList](t, f.call(t, http.MethodGet, "/_fake/instances?project_id=other_project", "")).Instances, 3)

			added := decode[admin.AddResult](t, f.call(t, http.MethodPost, "/_fake/instances",
				`{"instances":[{"project_id":"p","engine":"Redis","status":"CREATING","id":"new-one"}]}`))
			assert.Equal(t, admin.AddResult{Added: 1, Instances: []admin.AddedEntry{
				{ProjectId: "p", Id: "new-one", Name: "dcs-new-one", Engine: "Redis", Status: "CREATING", Count: 1},
			}}, added)
			assert.Len(t, f.Instances(""), 65, "POST adds")

			for _, tt := range []struct {
				method, path, body string
				status             int
				code               string
			}{
				{http.MethodPost, "/_fake/instances", `{"instances":[{"project_id":"p","engine":"Redis","status":"CREATING","id":"new-one"}]}`, 409, "111409001"},
				{http.MethodPatch, "/_fake/instances/new-one", `{"status":"RUNNING"}`, 200, ""},
				{http.MethodPatch, "/_fake/instances/nobody", `{"status":"RUNNING"}`, 404, "111404002"},
				{http.MethodPatch, "/_fake/instances/new-one", `{"status":"running"}`, 400, "111400063"},
				{http.MethodPatch, "/_fake/instances/new-one", `not json`, 400, "111400063"},
				{http.MethodDelete, "/_fake/instances/new-one", "", 204, ""},
				{http.MethodDelete, "/_fake/instances/new-one", "", 404, "111404002"},
				{http.MethodPost, "/_fake/faults", `{"status":200}`, 400, "111400063"},
			} {
				r := f.call(t, tt.method, tt.path, tt.body)
				require.Equal(t, tt.status, r.status, "%s %s %s: %s", tt.method, tt.path, tt.body, r.body)
				if tt.code != "" {
					assert.Equal(t, tt.code, r.error(t).Code)
				}
				if tt.method == http.MethodPatch && tt.status == 200 {
					assert.EqualValues(t, 1, f.Counts("p", false).Redis.Get(dcs.Running))
				}
			}

			assert.Equal(t, http.StatusNoContent, f.call(t, http.MethodPost, "/_fake/faults", `{"status":503,"times":2}`).status)
			assert.Equal(t, http.StatusServiceUnavailable, f.call(t, http.MethodGet, statusPath("p"), "").status)
			assert.Equal(t, http.StatusNoContent, f.call(t, http.MethodDelete, "/_fake/faults", "").status)
			assert.Equal(t, http.StatusOK, f.call(t, http.MethodGet, statusPath("p"), "").status)

			assert.Equal(t, http.StatusNoContent, f.call(t, http.MethodPost, "/_fake/reset", "").status)
			assert.Empty(t, f.Instances(""))
		})
	}
}

// With validation off the fake still refuses what it cannot hold.
func TestAdminWithoutValidationStillRejects(t *testing.T) {
	t.Parallel()
	f := startListener(t, server.Options{DisableValidation: true})
	_, err := f.Add(server.Instance{ProjectID: "p", ID: "x", Engine: dcs.Redis, Status: dcs.Running})
	require.NoError(t, err)
	for _, tt := range []struct{ method, path, body, want string }{
		{http.MethodPatch, "/_fake/instances/x", `{"status":"running"}`, "valid: PAYING"},
		{http.MethodPost, "/_fake/faults", `{"status":200}`, "400 to 599"},
		{http.MethodPost, "/_fake/faults", `{"times":-1}`, "times"},
		{http.MethodPut, "/_fake/instances", `{"instances":[{"project_id":"p","engine":"Redis","status":"RUNNING","count":0}]}`, "instances[0].count"},
		{http.MethodPut, "/_fake/instances", `{"instances":[{"project_id":"p","engine":"redis","status":"RUNNING"}]}`, "valid: Redis, Memcached"},
		{http.MethodGet, "/_fake/instances?limit=0", "", "MaxPageSize"},
		{http.MethodGet, "/_fake/instances?limit=1001", "", "MaxPageSize"},
		{http.MethodGet, "/_fake/instances?cursor=x", "", "cursor"},
		{http.MethodGet, "/_fake/openapi/other.yaml", "", "valid: admin.yaml, dcs.yaml, iam.yaml, vocabulary.gen.yaml"},
	} {
		r := f.call(t, tt.method, tt.path, tt.body)
		assert.Equal(t, http.StatusBadRequest, r.status, "%s %s %s: %s", tt.method, tt.path, tt.body, r.body)
		e := r.error(t)
		assert.Equal(t, "111400063", e.Code)
		assert.Contains(t, e.Msg, tt.want)
	}
	assert.Len(t, f.Instances(""), 1)
}

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
				req.Header.Del("Content-Type")
				if tt.contentType != "" {
					req.Header.Set("Content-Type", tt.contentType)
				}
				r := f.send(t, req)
				require.Equal(t, tt.status, r.status, "body: %s", r.body)
				if tt.status == http.StatusNoContent {
					assert.Equal(t, []server.Fault{{Status: 503, Times: 2}}, f.Faults())
					return
				}
				e := r.error(t)
				assert.Equal(t, tt.code, e.Code)
				assert.Contains(t, e.Msg, tt.msg)
				assert.Empty(t, f.Faults(), "nothing was queued")
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
	type byEngine = map[dcs.Engine]map[dcs.Status]int32
	tests := []struct {
		name, query, body string
		n                 int
		want              map[string]byEngine // by project, after the change
	}{
		{"project, engine and status", "?project_id=p1&engine=Redis&status=CREATING", `{"status": "ERROR"}`, 3, map[string]byEngine{
			"p1": {dcs.Redis: {dcs.Error: 3, dcs.Running: 1}, dcs.Memcached: {dcs.Creating: 2}},
			"p2": {dcs.Redis: {dcs.Creating: 4}},
		}},
		{"a status everywhere", "?status=CREATING", `{"status": "RUNNING"}`, 9, map[string]byEngine{
			"p1": {dcs.Redis: {dcs.Running: 4}, dcs.Memcached: {dcs.Running: 2}},
			"p2": {dcs.Redis: {dcs.Running: 4}},
		}},
		{"no filter", "", `{"status": "FROZEN"}`, 10, map[string]byEngine{
			"p1": {dcs.Redis: {dcs.Frozen: 4}, dcs.Memcached: {dcs.Frozen: 2}},
			"p2": {dcs.Redis: {dcs.Frozen: 4}},
		}},
		{"nothing matches", "?project_id=p3", `{"status": "ERROR"}`, 0, map[string]byEngine{
			"p1": {dcs.Redis: {dcs.Creating: 3, dcs.Running: 1}, dcs.Memcached: {dcs.Creating: 2}},
		}},
	}
	for _, m := range modes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				f := m.start(t, server.Options{})
				require.NoError(t, f.LoadFixture("fixture", strings.NewReader(fixture)))
				res := decode[admin.UpdateResult](t, f.call(t, http.MethodPatch, "/_fake/instances"+tt.query, tt.body))
				assert.Equal(t, tt.n, res.Changed)
				for p, want := range tt.want {
					assert.Equal(t, counts(want), f.Counts(p, true), p)
				}
			})
		}
	}
}

// A later change shared by every matching instance is made on the fake's
// clock; a change already due is made before the filter looks.
func TestUpdateMatchingSchedulesOneChain(t *testing.T) {
	t.Parallel()
	f, clock := clocked(t)
	require.NoError(t, f.LoadFixture("fixture", strings.NewReader(`{"instances": [
		{"project_id": "p", "engine": "Redis", "status": "CREATING", "count": 5},
		{"project_id": "p", "engine": "Memcached", "status": "RESTARTING", "becomes": {"status": "CREATING", "after": "1s"}}]}`)))
	clock.Advance(time.Second) // the Memcached instance is CREATING now, as the filter will see

	creating := dcs.Creating
	n, err := f.UpdateMatching(server.Filter{Status: dcs.Creating}, nil, &server.Transition{Status: dcs.Running, After: time.Minute})
	require.NoError(t, err)
	assert.Equal(t, 6, n)
	assert.Equal(t, int32(6), f.count(dcs.Creating), "nothing changed yet")
	for _, in := range f.Instances("p") {
		assert.Equal(t, &server.Transition{Status: dcs.Running, After: time.Minute}, in.Becomes)
	}
	clock.Advance(time.Minute)
	assert.Equal(t, int32(6), f.count(dcs.Running))

	var ie *server.InvalidError
	for field, filter := range map[string]server.Filter{"engine": {Engine: "redis"}, "project_id": {ProjectID: "a b"}, "status": {Status: "x"}} {
		_, err = f.UpdateMatching(filter, &creating, nil)
		require.ErrorAs(t, err, &ie)
		assert.Equal(t, field, ie.Field)
	}
}

// The fake serves its documents as they are written: a loader that
// follows admin.yaml's references to the fake finds the others there,
// and with them every status and engine.
func TestAdminServesItsDocuments(t *testing.T) {
	t.Parallel()
	f := startListener(t, server.Options{})
	for _, name := range []string{"dcs.yaml", "admin.yaml", "iam.yaml", "vocabulary.gen.yaml"} {
		r := f.call(t, http.MethodGet, "/_fake/openapi/"+name, "")
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		assert.Equal(t, "application/yaml", r.header.Get("Content-Type"))
		want, err := openapi.Files.ReadFile(name)
		require.NoError(t, err)
		assert.Equal(t, want, r.body)
	}
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = true
	u, err := url.Parse(f.URL() + "/_fake/openapi/admin.yaml")
	require.NoError(t, err)
	doc, err := loader.LoadFromURI(u)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(t.Context()), "a document any OpenAPI tool can load")
	assert.Equal(t, names(dcs.Statuses()), doc.Components.Schemas["Status"].Value.Enum)
	assert.Equal(t, names(dcs.Engines()), doc.Components.Schemas["Engine"].Value.Enum)

	r := f.call(t, http.MethodGet, "/_fake/openapi/other.yaml", "")
	assert.Equal(t, http.StatusBadRequest, r.status)
}

func names[T ~string](vs []T) []any {
	var out []any
	for _, v := range vs {
		out = append(out, string(v))
	}
	return out
}

// Every error code the admin API answers is in admin.yaml: in its table
// of errors, and, for an operation, as an example of the response of its
// status.
func TestAdminErrorCodesAreInTheSpec(t *testing.T) {
	t.Parallel()
	docs, err := openapi.Load()
	require.NoError(t, err)
	doc := docs.Admin
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
	f := startHandler(t, server.Options{AccessKey: "AK", SecretKey: "SK"})
	_, err = f.Add(server.Instance{ProjectID: "p", ID: "i-1", Engine: dcs.Redis, Status: dcs.Running})
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := f.request(t, tt.method, tt.path, tt.body)
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			req.RemoteAddr = tt.remote
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

	// Every request body has an example, which the document's schema takes.
	n := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody == nil {
				continue
			}
			n++
			mt := op.RequestBody.Value.Content.Get("application/json")
			require.NotNil(t, mt, "%s %s", method, path)
			require.NotNil(t, mt.Example, "%s %s has an example", method, path)
			body, err := json.Marshal(mt.Example)
			require.NoError(t, err)
			var v any
			require.NoError(t, json.Unmarshal(body, &v))
			assert.NoError(t, mt.Schema.Value.VisitJSON(v), "%s %s", method, path)
		}
	}
	assert.Positive(t, n)
}

// A fake with credentials answers admin requests from another host only
// with them (an AK/SK signature over the body, or the token); requests
// from loopback, and healthz, need none. A fake without credentials asks
// for none.
func TestAdminDemandsTheFakesCredentials(t *testing.T) {
	t.Parallel()
	const ak, sk, token = "ADMINAK", "admin-sk", "admin-token"
	const remote = "203.0.113.9:40000"
	body := `{"instances":[{"project_id":"p","engine":"Redis","status":"RUNNING"}]}`
	f := startHandler(t, server.Options{AccessKey: ak, SecretKey: sk, Token: token})
	from := func(addr, method, path, body string) *http.Request {
		req := f.request(t, method, path, body)
		req.RemoteAddr = addr
		return req
	}
	for _, tt := range []struct{ method, path, body string }{
		{http.MethodPost, "/_fake/instances", body},
		{http.MethodPut, "/_fake/instances", body},
		{http.MethodGet, "/_fake/instances?limit=x", ""},
		{http.MethodPost, "/_fake/reset", ""},
		{http.MethodPost, "/_fake/faults", `{"status":503}`},
		{http.MethodDelete, "/_fake/instances/x", ""},
		{http.MethodGet, "/_fake/requests", ""},
	} {
		r := f.send(t, from(remote, tt.method, tt.path, tt.body))
		assert.Equal(t, http.StatusForbidden, r.status, "%s %s: %s", tt.method, tt.path, r.body)
		assert.Equal(t, "111403003", r.error(t).Code)
		assert.NotContains(t, string(r.body), sk)
		assert.NotContains(t, string(r.body), token)

		req := from(remote, tt.method, tt.path, tt.body)
		req.Header.Set("X-Auth-Token", "wrong")
		assert.Equal(t, http.StatusForbidden, f.send(t, req).status)
	}
	assert.Empty(t, f.Instances(""))
	assert.Equal(t, http.StatusOK, f.send(t, from(remote, http.MethodGet, "/_fake/healthz", "")).status)

	req := from(remote, http.MethodPost, "/_fake/instances", body)
	require.NoError(t, signer.Sign(req, []byte(body), signer.Credentials{AccessKey: ak, SecretKey: sk}, time.Now()))
	assert.Equal(t, 1, decode[admin.AddResult](t, f.send(t, req)).Added, "signed, body included")

	req = from(remote, http.MethodPost, "/_fake/instances", body)
	require.NoError(t, signer.Sign(req, []byte(`{}`), signer.Credentials{AccessKey: ak, SecretKey: sk}, time.Now()))
	assert.Equal(t, http.StatusForbidden, f.send(t, req).status, "signed over another body")

	req = from(remote, http.MethodPost, "/_fake/reset", "")
	req.Header.Set("X-Auth-Token", token)
	assert.Equal(t, http.StatusNoContent, f.send(t, req).status)
	assert.Empty(t, f.Instances(""))

	// From this machine, the admin API needs nothing: over IPv4 and IPv6
	// loopback, and handed to the Handler.
	for _, addr := range []string{"127.0.0.1:50000", "[::1]:50000", ""} {
		assert.Equal(t, http.StatusOK, f.send(t, from(addr, http.MethodPost, "/_fake/instances", body)).status, addr)
	}
	l := startListener(t, server.Options{AccessKey: ak, SecretKey: sk})
	assert.Equal(t, http.StatusNoContent, l.call(t, http.MethodPost, "/_fake/reset", "").status, "loopback")
	open := startHandler(t, server.Options{})
	assert.Equal(t, http.StatusNoContent, open.send(t, from(remote, http.MethodPost, "/_fake/reset", "")).status)
}

package openapi_test

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/gen"
	"github.com/dcskit/dcskit/openapi"
)

func load(t *testing.T) *openapi.Docs {
	t.Helper()
	docs, err := openapi.Load()
	require.NoError(t, err)
	return docs
}

func schema(t *testing.T, doc *openapi3.T, name string) *openapi3.Schema {
	t.Helper()
	ref := doc.Components.Schemas[name]
	require.NotNil(t, ref, "schema %s", name)
	require.NotNil(t, ref.Value, "schema %s", name)
	return ref.Value
}

func operation(t *testing.T, doc *openapi3.T) *openapi3.Operation {
	t.Helper()
	item := doc.Paths.Value("/v2/{project_id}/instances/status")
	require.NotNil(t, item)
	require.NotNil(t, item.Get)
	return item.Get
}

func responseSchema(t *testing.T, op *openapi3.Operation, status string) *openapi3.Schema {
	t.Helper()
	resp := op.Responses.Value(status)
	require.NotNil(t, resp, "response %s", status)
	mt := resp.Value.Content.Get("application/json")
	require.NotNil(t, mt, "response %s has no application/json content", status)
	return mt.Schema.Value
}

// counters are the counters of StatusStatistic, the one list of statuses,
// in the order of the document.
func counters(t *testing.T) []string {
	t.Helper()
	var raw struct {
		Components struct {
			Schemas struct {
				StatusStatistic struct {
					Properties yamlKeys `yaml:"properties"`
				} `yaml:"StatusStatistic"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	data, err := openapi.Files.ReadFile("dcs.yaml")
	require.NoError(t, err)
	require.NoError(t, yamlUnmarshal(data, &raw))
	require.NotEmpty(t, raw.Components.Schemas.StatusStatistic.Properties)
	return raw.Components.Schemas.StatusStatistic.Properties
}

func jsonValue(t *testing.T, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	var out any
	require.NoError(t, json.Unmarshal(data, &out))
	return out
}

func TestDocuments(t *testing.T) {
	t.Parallel()
	docs := load(t)
	assert.Same(t, docs, load(t), "parsed once per process")

	op := operation(t, docs.DCS)
	assert.Equal(t, "ListNumberOfInstancesInDifferentStatus", op.OperationID)
	assert.Len(t, op.Parameters, 2)
	pid := op.Parameters.GetByInAndName("path", "project_id")
	require.NotNil(t, pid)
	assert.True(t, pid.Required)
	assert.Same(t, schema(t, docs.DCS, "ProjectId"), pid.Schema.Value, "the one project id rule")
	inc := op.Parameters.GetByInAndName("query", "include_failure")
	require.NotNil(t, inc)
	assert.False(t, inc.Required)
	assert.True(t, inc.Schema.Value.Type.Is("string"))
	assert.Empty(t, inc.Schema.Value.Enum, `any string is allowed: only "true" counts`)

	require.Len(t, docs.DCS.Servers, 1)
	assert.Equal(t, "https://dcs.{region}.myhuaweicloud.com", docs.DCS.Servers[0].URL)
	assert.Equal(t, "cn-north-4", docs.DCS.Servers[0].Variables["region"].Default)
	schemes := docs.DCS.Components.SecuritySchemes
	assert.Equal(t, "Authorization", schemes["AKSK"].Value.Name)
	assert.Equal(t, "X-Auth-Token", schemes["IAMToken"].Value.Name)
	assert.Len(t, docs.DCS.Security, 2)

	assert.Empty(t, docs.Admin.Security, "the admin API takes no credentials of its own")
	for path := range docs.Admin.Paths.Map() {
		assert.True(t, strings.HasPrefix(path, "/_fake/"), path)
	}
	for path, id := range map[string]string{"/v3/projects": "KeystoneListProjects", "/v3/auth/projects": "KeystoneListAuthProjects"} {
		require.NotNil(t, docs.IAM.Paths.Value(path), path)
		assert.Equal(t, id, docs.IAM.Paths.Value(path).Get.OperationID)
	}
	for _, name := range []string{"dcs.yaml", "admin.yaml", "iam.yaml", "vocabulary.gen.yaml"} {
		_, err := openapi.Files.ReadFile(name)
		assert.NoError(t, err, name)
	}
}

func TestCounterSchemas(t *testing.T) {
	t.Parallel()
	doc := load(t).DCS
	top := responseSchema(t, operation(t, doc), "200")
	assert.Same(t, schema(t, doc, "InstanceStatusCounts"), top)
	stat := schema(t, doc, "StatusStatistic")
	// The counters are listed once, in StatusStatistic; the top level
	// takes them with allOf and adds the engines.
	require.Len(t, top.AllOf, 2)
	assert.Equal(t, "#/components/schemas/StatusStatistic", top.AllOf[0].Ref)
	assert.Empty(t, top.Properties, "no counter restated at the top level")
	engines := top.AllOf[1].Value

	names := counters(t)
	assert.Len(t, stat.Properties, len(names))
	for _, c := range names {
		v := stat.Properties[c].Value
		assert.True(t, strings.HasSuffix(c, "_count"), c)
		assert.True(t, v.Type.Is("integer"), c)
		assert.Equal(t, "int32", v.Format, c)
		require.NotNil(t, v.Min, c)
		assert.Zero(t, *v.Min, c)
		assert.Equal(t, true, v.Extensions["x-go-type-skip-optional-pointer"], c)
		assert.Equal(t, false, v.Extensions["x-omitempty"], c)
		if v.Extensions["x-dcskit-failure"] == true {
			assert.Equal(t, true, v.Extensions["x-dcskit-settled"], "%s: a failure is settled", c)
		}
	}
	// Where instances settle, and which of those are failures, as the API
	// page's statuses mean them.
	for c, want := range map[string][2]any{
		"running_count": {true, nil}, "error_count": {true, true},
		"frozen_count": {true, nil}, "createfailed_count": {true, true},
		"creating_count": {nil, nil}, "restarting_count": {nil, nil},
	} {
		ext := stat.Properties[c].Value.Extensions
		assert.Equal(t, want[0], ext["x-dcskit-settled"], c)
		assert.Equal(t, want[1], ext["x-dcskit-failure"], c)
	}
	for name, s := range map[string]*openapi3.Schema{"InstanceStatusCounts": top, "StatusStatistic": stat} {
		assert.Empty(t, s.Required, "%s: counters stay optional, the page's own example omits one", name)
		assert.Nil(t, s.AdditionalProperties.Has, "%s: other API versions' counters are accepted", name)
	}
	for engine, spelled := range map[string]string{"redis": "Redis", "memcached": "Memcached"} {
		p := engines.Properties[engine]
		require.NotNil(t, p, engine)
		require.Len(t, p.Value.AllOf, 1, engine)
		assert.Equal(t, "#/components/schemas/StatusStatistic", p.Value.AllOf[0].Ref, engine)
		assert.Equal(t, spelled, p.Value.Extensions["x-dcskit-engine"], engine)
	}
	assert.Len(t, engines.Properties, 2)
}

// admin.yaml names no status, engine, id rule or error body of its own:
// it refers to dcs.yaml, and to vocabulary.gen.yaml, which is generated
// from it, and iam.yaml takes its error bodies from dcs.yaml too.
func TestOneStatementOfEachRule(t *testing.T) {
	t.Parallel()
	docs := load(t)
	var statuses []any
	for _, c := range counters(t) {
		statuses = append(statuses, strings.ToUpper(strings.TrimSuffix(c, "_count")))
	}
	assert.Equal(t, statuses, schema(t, docs.Admin, "Status").Enum)
	assert.Equal(t, []any{"Redis", "Memcached"}, schema(t, docs.Admin, "Engine").Enum)
	for _, doc := range []*openapi3.T{docs.Admin, docs.IAM} {
		assert.Equal(t, jsonValue(t, schema(t, docs.DCS, "ErrorResponse")), jsonValue(t, schema(t, doc, "ErrorResponse")), doc.Info.Title)
	}
	assert.Equal(t, jsonValue(t, schema(t, docs.DCS, "GatewayErrorResponse")), jsonValue(t, schema(t, docs.IAM, "GatewayErrorResponse")))
	for _, name := range []string{"admin.yaml", "iam.yaml"} {
		raw, err := openapi.Files.ReadFile(name)
		require.NoError(t, err)
		assert.False(t, strings.Contains(string(raw), "RESTARTING"), "%s names no status", name)
		assert.False(t, strings.Contains(string(raw), "^[A-Za-z0-9_-]{1,64}$"), "%s states no project id rule", name)
	}
	pid := schema(t, docs.Admin, "FixtureEntry").Properties["project_id"].Value
	assert.Equal(t, jsonValue(t, schema(t, docs.DCS, "ProjectId")), jsonValue(t, pid))
}

func TestSeedExample(t *testing.T) {
	t.Parallel()
	doc := load(t).DCS
	data, err := os.ReadFile("testdata/seed_example_200.json")
	require.NoError(t, err)
	var seed map[string]any
	require.NoError(t, json.Unmarshal(data, &seed))
	mt := operation(t, doc).Responses.Value("200").Value.Content.Get("application/json")
	assert.Equal(t, seed, jsonValue(t, mt.Example), "the spec's 200 example is the API page's")
	assert.NoError(t, mt.Schema.Value.VisitJSON(seed))

	// Through the generated types, the only difference is that counters
	// the page left out come back as explicit zeros.
	var counts gen.InstanceStatusCounts
	require.NoError(t, json.Unmarshal(data, &counts))
	for _, m := range []any{seed, seed["redis"], seed["memcached"]} {
		for _, c := range counters(t) {
			if _, ok := m.(map[string]any)[c]; !ok {
				m.(map[string]any)[c] = float64(0)
			}
		}
	}
	assert.Equal(t, seed, jsonValue(t, counts))
	assert.Equal(t, int32(16), counts.RunningCount)
	assert.Equal(t, int32(22), counts.Memcached.CreateFailedCount)
}

func TestGeneratedCountersArePlainInt32(t *testing.T) {
	t.Parallel()
	for _, typ := range []reflect.Type{reflect.TypeFor[gen.InstanceStatusCounts](), reflect.TypeFor[gen.StatusStatistic]()} {
		n := 0
		for f := range typ.Fields() {
			tag := f.Tag.Get("json")
			if !strings.HasSuffix(strings.Split(tag, ",")[0], "_count") {
				continue
			}
			n++
			assert.Equal(t, reflect.Int32, f.Type.Kind(), "%s.%s", typ.Name(), f.Name)
			assert.NotContains(t, tag, "omitempty", "%s.%s", typ.Name(), f.Name)
		}
		assert.Equal(t, len(counters(t)), n, typ.Name())
	}
	data, err := json.Marshal(gen.InstanceStatusCounts{})
	require.NoError(t, err)
	for _, c := range counters(t) {
		assert.Contains(t, string(data), `"`+c+`":0`, "a zero value still serialises every counter")
	}
}

func TestValidationBites(t *testing.T) {
	t.Parallel()
	doc := load(t).DCS
	counts, errResp := schema(t, doc, "InstanceStatusCounts"), schema(t, doc, "ErrorResponse")
	gw, pid, region := schema(t, doc, "GatewayErrorResponse"), schema(t, doc, "ProjectId"), schema(t, doc, "Region")
	for _, tt := range []struct {
		name   string
		schema *openapi3.Schema
		body   string
		ok     bool
	}{
		{"error_code of 9 characters", errResp, `{"error_code":"111400063","error_msg":"bad","error_ext_msg":null}`, true},
		{"error_code of 10 characters", errResp, `{"error_code":"APIGW.0301","error_msg":"bad"}`, false},
		{"error_msg over 1024", errResp, `{"error_msg":"` + strings.Repeat("x", 1025) + `"}`, false},
		{"error_ext_msg over 1024", errResp, `{"error_ext_msg":"` + strings.Repeat("x", 1025) + `"}`, false},
		{"gateway body", gw, `{"error_code":"APIGW.0301","error_msg":"verify aksk signature fail","request_id":"01ab"}`, true},
		{"a DCS body is not the gateway's", gw, `{"error_code":"111401001","error_msg":"token invalid"}`, false},
		{"nor a DCS code", gw, `{"error_code":"111401001","error_msg":"token invalid","request_id":"01ab"}`, false},
		{"negative counter", counts, `{"running_count":-1}`, false},
		{"negative nested counter", counts, `{"redis":{"error_count":-1}}`, false},
		{"counter as a string", counts, `{"running_count":"16"}`, false},
		{"fractional counter", counts, `{"running_count":1.5}`, false},
		{"counter over int32", counts, `{"running_count":2147483648}`, false},
		{"engine that is not an object", counts, `{"redis":3}`, false},
		{"unknown counter from another API version", counts, `{"running_count":1,"deleting_count":2,"redis":{"closed_count":1}}`, true},
		{"empty object", counts, `{}`, true},
		{"project id", pid, `"0605767e2c00d5552f8fc01a6f4d3b3a"`, true},
		{"project id with a slash", pid, `"a/b"`, false},
		{"project id too long", pid, `"` + strings.Repeat("a", 65) + `"`, false},
		{"region", region, `"ap-southeast-1"`, true},
		{"region in capitals", region, `"CN-NORTH-4"`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var v any
			require.NoError(t, json.Unmarshal([]byte(tt.body), &v))
			if err := tt.schema.VisitJSON(v); tt.ok {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
}

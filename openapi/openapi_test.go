package openapi_test

import (
	"context"
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

const statusPath = "/v2/{project_id}/instances/status"

// counters are the 13 counters of the API page's table 3, in its order.
var counters = []string{
	"paying_count", "freezing_count", "migrating_count", "flushing_count",
	"upgrading_count", "restoring_count", "extending_count", "creating_count",
	"running_count", "error_count", "frozen_count", "createfailed_count",
	"restarting_count",
}

func loadDoc(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi.LoadDCS(context.Background())
	require.NoError(t, err)
	return doc
}

func operation(t *testing.T, doc *openapi3.T) *openapi3.Operation {
	t.Helper()
	item := doc.Paths.Value(statusPath)
	require.NotNil(t, item, "path %s", statusPath)
	require.NotNil(t, item.Get, "GET %s", statusPath)
	return item.Get
}

func schema(t *testing.T, doc *openapi3.T, name string) *openapi3.Schema {
	t.Helper()
	ref := doc.Components.Schemas[name]
	require.NotNil(t, ref, "schema %s", name)
	require.NotNil(t, ref.Value, "schema %s", name)
	return ref.Value
}

func responseSchema(t *testing.T, op *openapi3.Operation, status string) *openapi3.Schema {
	t.Helper()
	resp := op.Responses.Value(status)
	require.NotNil(t, resp, "response %s", status)
	mt := resp.Value.Content.Get("application/json")
	require.NotNil(t, mt, "response %s has no application/json content", status)
	require.NotNil(t, mt.Schema.Value)
	return mt.Schema.Value
}

func readSeedExample(t *testing.T) any {
	t.Helper()
	data, err := os.ReadFile("testdata/seed_example_200.json")
	require.NoError(t, err)
	var v any
	require.NoError(t, json.Unmarshal(data, &v))
	return v
}

// jsonValue normalises v (YAML-decoded or a Go value) to what
// encoding/json decodes into an any.
func jsonValue(t *testing.T, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	var out any
	require.NoError(t, json.Unmarshal(data, &out))
	return out
}

func TestLoadDCSValidates(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	assert.Equal(t, "3.0.3", doc.OpenAPI)
	// Each call returns its own document.
	other := loadDoc(t)
	other.Servers = nil
	assert.Len(t, doc.Servers, 1)
}

func TestOperationAndParameters(t *testing.T) {
	t.Parallel()
	op := operation(t, loadDoc(t))
	assert.Equal(t, "ListNumberOfInstancesInDifferentStatus", op.OperationID)

	pid := op.Parameters.GetByInAndName("path", "project_id")
	require.NotNil(t, pid, "project_id")
	assert.True(t, pid.Required)
	assert.True(t, pid.Schema.Value.Type.Is("string"))

	inc := op.Parameters.GetByInAndName("query", "include_failure")
	require.NotNil(t, inc, "include_failure")
	assert.False(t, inc.Required)
	assert.True(t, inc.Schema.Value.Type.Is("string"))
	assert.Empty(t, inc.Schema.Value.Enum, "any string is allowed: only \"true\" counts")
	assert.Contains(t, inc.Description, `"true"`)
	assert.Contains(t, inc.Description, `"false" or any`)
	assert.Len(t, op.Parameters, 2)
}

func TestCounterSchemas(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	top := responseSchema(t, operation(t, doc), "200")
	assert.Same(t, schema(t, doc, "InstanceStatusCounts"), top)
	stat := schema(t, doc, "StatusStatistic")

	// The counters are listed once, in StatusStatistic; the top level
	// takes them with allOf and adds the engines.
	require.Len(t, top.AllOf, 2)
	assert.Equal(t, "#/components/schemas/StatusStatistic", top.AllOf[0].Ref)
	assert.Empty(t, top.Properties, "no counter restated at the top level")
	engines := top.AllOf[1].Value
	assert.Len(t, engines.Properties, 2)

	assert.Len(t, stat.Properties, len(counters))
	for _, c := range counters {
		p := stat.Properties[c]
		if !assert.NotNil(t, p, "StatusStatistic.%s", c) {
			continue
		}
		v := p.Value
		assert.True(t, v.Type.Is("integer"), "%s type", c)
		assert.Equal(t, "int32", v.Format, "%s format", c)
		if assert.NotNil(t, v.Min, "%s minimum", c) {
			assert.Zero(t, *v.Min, "%s minimum", c)
		}
		assert.Equal(t, true, v.Extensions["x-go-type-skip-optional-pointer"], c)
		assert.Equal(t, false, v.Extensions["x-omitempty"], c)
	}
	// Where instances settle, and which of those are failures, as the
	// API page's statuses mean them.
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
		// Counters stay optional: the page's own example omits one.
		assert.Empty(t, s.Required, name)
		// Unknown counters from other API versions must be accepted.
		assert.NotEqual(t, false, derefBool(s.AdditionalProperties.Has), name)
	}
	assert.Contains(t, stat.Description, "restarting_count")

	for engine, spelled := range map[string]string{"redis": "Redis", "memcached": "Memcached"} {
		p := engines.Properties[engine]
		require.NotNil(t, p, engine)
		require.Len(t, p.Value.AllOf, 1, engine)
		assert.Equal(t, "#/components/schemas/StatusStatistic", p.Value.AllOf[0].Ref, engine)
		assert.Equal(t, spelled, p.Value.Extensions["x-dcskit-engine"], engine)
		assert.Equal(t, true, p.Value.Extensions["x-go-type-skip-optional-pointer"], engine)
		assert.Equal(t, false, p.Value.Extensions["x-omitempty"], engine)
	}
}

func derefBool(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

func TestErrorSchemas(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	op := operation(t, doc)
	errResp := schema(t, doc, "ErrorResponse")
	assert.Same(t, errResp, responseSchema(t, op, "400"))
	assert.Same(t, errResp, responseSchema(t, op, "500"))
	assert.Same(t, errResp, responseSchema(t, op, "default"))
	assert.Same(t, schema(t, doc, "GatewayErrorResponse"), responseSchema(t, op, "401"))

	limits := map[string]uint64{"error_msg": 1024, "error_code": 9, "error_ext_msg": 1024}
	for field, max := range limits {
		p := errResp.Properties[field]
		require.NotNil(t, p, field)
		assert.True(t, p.Value.Type.Is("string"), field)
		if assert.NotNil(t, p.Value.MaxLength, field) {
			assert.Equal(t, max, *p.Value.MaxLength, field)
		}
	}
	assert.True(t, errResp.Properties["error_ext_msg"].Value.Nullable)

	gw := schema(t, doc, "GatewayErrorResponse")
	for _, field := range []string{"error_code", "error_msg", "request_id"} {
		p := gw.Properties[field]
		if assert.NotNil(t, p, field) {
			assert.True(t, p.Value.Type.Is("string"), field)
		}
	}
	assert.NoError(t, gw.VisitJSON(map[string]any{
		"error_code": "APIGW.0301",
		"error_msg":  "Incorrect IAM authentication information: verify aksk signature fail",
		"request_id": "0123456789abcdef",
	}), "a 10-character gateway code fits the gateway schema")
	assert.Error(t, gw.VisitJSON(map[string]any{
		"error_code": "111401001",
		"error_msg":  "token invalid",
	}), "a DCS error body is not the gateway's")
	assert.Error(t, gw.VisitJSON(map[string]any{
		"error_code": "111401001",
		"error_msg":  "token invalid",
		"request_id": "0123456789abcdef",
	}), "nor is a DCS error code")
}

func TestServersAndSecurity(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	require.Len(t, doc.Servers, 1)
	assert.Equal(t, "https://dcs.{region}.myhuaweicloud.com", doc.Servers[0].URL)
	region := doc.Servers[0].Variables["region"]
	require.NotNil(t, region)
	assert.Equal(t, "cn-north-4", region.Default)

	schemes := doc.Components.SecuritySchemes
	aksk := schemes["AKSK"]
	require.NotNil(t, aksk)
	assert.Equal(t, "header", aksk.Value.In)
	assert.Equal(t, "Authorization", aksk.Value.Name)
	assert.Contains(t, aksk.Value.Description, "SDK-HMAC-SHA256")
	token := schemes["IAMToken"]
	require.NotNil(t, token)
	assert.Equal(t, "header", token.Value.In)
	assert.Equal(t, "X-Auth-Token", token.Value.Name)
	assert.Len(t, doc.Security, 2)
}

func TestSeedExampleIsTheSpecExampleAndValidates(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	seed := readSeedExample(t)
	mt := operation(t, doc).Responses.Value("200").Value.Content.Get("application/json")
	assert.Equal(t, seed, jsonValue(t, mt.Example), "the spec's 200 example is the API page's")
	assert.NoError(t, mt.Schema.Value.VisitJSON(seed))
}

func TestSeedExampleRoundTripsThroughGeneratedTypes(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/seed_example_200.json")
	require.NoError(t, err)
	var counts gen.InstanceStatusCounts
	require.NoError(t, json.Unmarshal(data, &counts))
	got := jsonValue(t, counts)

	// The only difference allowed: counters the page left out come back as
	// explicit zeros, because our types always serialise every counter.
	want := readSeedExample(t).(map[string]any)
	addMissingZeros(want)
	addMissingZeros(want["redis"].(map[string]any))
	addMissingZeros(want["memcached"].(map[string]any))
	assert.Equal(t, want, got)
	assert.Equal(t, int32(16), counts.RunningCount)
	assert.Equal(t, int32(22), counts.Memcached.CreateFailedCount)
}

func addMissingZeros(m map[string]any) {
	for _, c := range counters {
		if _, ok := m[c]; !ok {
			m[c] = float64(0)
		}
	}
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
		assert.Equal(t, len(counters), n, typ.Name())
	}
	redis, ok := reflect.TypeFor[gen.InstanceStatusCounts]().FieldByName("Redis")
	require.True(t, ok)
	assert.Equal(t, reflect.TypeFor[gen.StatusStatistic](), redis.Type, "no pointer for the engines")
	// A zero value still serialises every counter.
	data, err := json.Marshal(gen.InstanceStatusCounts{})
	require.NoError(t, err)
	for _, c := range counters {
		assert.Contains(t, string(data), `"`+c+`":0`)
	}
}

func TestValidationBites(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	counts := schema(t, doc, "InstanceStatusCounts")
	errResp := schema(t, doc, "ErrorResponse")

	tests := []struct {
		name   string
		schema *openapi3.Schema
		body   string
		ok     bool
	}{
		{"error_code of 9 characters", errResp, `{"error_code":"111400063","error_msg":"bad","error_ext_msg":null}`, true},
		{"error_code of 10 characters", errResp, `{"error_code":"APIGW.0301","error_msg":"bad"}`, false},
		{"error_msg over 1024", errResp, `{"error_code":"111400063","error_msg":"` + strings.Repeat("x", 1025) + `"}`, false},
		{"error_ext_msg over 1024", errResp, `{"error_ext_msg":"` + strings.Repeat("x", 1025) + `"}`, false},
		{"negative counter", counts, `{"running_count":-1}`, false},
		{"negative nested counter", counts, `{"redis":{"error_count":-1}}`, false},
		{"counter as a string", counts, `{"running_count":"16"}`, false},
		{"fractional counter", counts, `{"running_count":1.5}`, false},
		{"counter over int32", counts, `{"running_count":2147483648}`, false},
		{"engine that is not an object", counts, `{"redis":3}`, false},
		{"unknown counter from another API version", counts, `{"running_count":1,"deleting_count":2,"redis":{"closed_count":1}}`, true},
		{"empty object", counts, `{}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var v any
			require.NoError(t, json.Unmarshal([]byte(tt.body), &v))
			err := tt.schema.VisitJSON(v)
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
}

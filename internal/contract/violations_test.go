package contract_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/internal/contract"
)

const statusURL = "http://dcs.test/v2/p/instances/status?include_failure=true"

func checker(t *testing.T) *contract.Checker {
	t.Helper()
	c, err := contract.New()
	require.NoError(t, err)
	return c
}

func fields(vs []contract.Violation) []string {
	out := []string{}
	for _, v := range vs {
		out = append(out, v.Field)
	}
	return out
}

func TestResponseViolations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		url         string
		status      int
		contentType string
		body        string
		fields      []string // nil: none
		message     string
	}{
		{"conformant", statusURL, 200, "application/json", `{"running_count":1,"redis":{"running_count":1},"memcached":{}}`, nil, ""},
		{"unknown counter", statusURL, 200, "application/json", `{"deleting_count":1}`, nil, ""},
		{"charset", statusURL, 200, "application/json; charset=utf-8", `{}`, nil, ""},
		{"negative counters, all of them", statusURL, 200, "application/json",
			`{"running_count":-1,"redis":{"error_count":-2},"memcached":{}}`,
			[]string{"running_count", "redis.error_count"}, "number must be at least 0"},
		{"HTML", statusURL, 200, "text/html", `<html></html>`, []string{"Content-Type"}, "text/html"},
		{"not JSON", statusURL, 200, "application/json", `{`, []string{""}, "decode"},
		{"10-character error code", statusURL, 500, "application/json", `{"error_code":"DCS.123456","error_msg":"x"}`,
			[]string{"error_code"}, "maximum string length is 9"},
		{"DCS body on a 401", statusURL, 401, "application/json", `{"error_code":"111401001","error_msg":"x"}`,
			[]string{"error_code", "request_id"}, ""},
		{"gateway body on a 401", statusURL, 401, "application/json", `{"error_code":"APIGW.0301","error_msg":"x","request_id":"r"}`, nil, ""},
		{"unrouted, DCS body", "http://dcs.test/v9/x", 404, "application/json", `{"error_code":"1114040011","error_msg":"x"}`,
			[]string{"error_code"}, "maximum string length is 9"},
	}
	c := checker(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, tt.url, nil)
			vs := c.ResponseViolations(t.Context(), req, tt.status, http.Header{"Content-Type": {tt.contentType}}, []byte(tt.body))
			if tt.fields == nil {
				assert.Empty(t, vs)
				assert.NoError(t, c.CheckResponse(t.Context(), req, tt.status, http.Header{"Content-Type": {tt.contentType}}, []byte(tt.body)))
				return
			}
			assert.Equal(t, tt.fields, fields(vs), "%v", vs)
			assert.Contains(t, vs[0].Message, tt.message)
			for _, v := range vs {
				assert.NotContains(t, v.Message, "Schema:", "one line, no schema dump")
			}
		})
	}
}

func TestRequestViolations(t *testing.T) {
	t.Parallel()
	const signature = "SDK-HMAC-SHA256 Access=AK, SignedHeaders=x-sdk-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		name    string
		method  string
		url     string
		header  map[string]string
		message string // "": no violation
	}{
		{"signed", http.MethodGet, statusURL, map[string]string{"Authorization": signature}, ""},
		{"token", http.MethodGet, statusURL, map[string]string{"X-Auth-Token": "tok-SECRET"}, ""},
		{"no credentials", http.MethodGet, statusURL, nil, "no credentials the spec accepts"},
		{"no such operation", http.MethodGet, "http://dcs.test/v3/nothing", map[string]string{"X-Auth-Token": "tok-SECRET"}, "no operation of the spec is GET /v3/nothing"},
		{"no such method", http.MethodDelete, statusURL, map[string]string{"X-Auth-Token": "tok-SECRET"}, "no operation of the spec is DELETE"},
	}
	c := checker(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tt.method, tt.url, nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			vs := c.RequestViolations(t.Context(), req, nil)
			if tt.message == "" {
				assert.Empty(t, vs)
				return
			}
			require.Len(t, vs, 1, "%v", vs)
			assert.Contains(t, vs[0].Message, tt.message)
			assert.NotContains(t, vs[0].String(), "SECRET")
			assert.False(t, strings.Contains(vs[0].String(), "Signature="))
		})
	}
}

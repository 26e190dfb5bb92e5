package contract_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/gen"
	"github.com/dcskit/dcskit/gen/dcsclient"
	"github.com/dcskit/dcskit/gen/dcsserver"
	"github.com/dcskit/dcskit/internal/contract/contracttest"
)

// tinyServer is the smallest StrictServerInterface: the page's example for
// project "p1", a 400 for anything else.
type tinyServer struct{ example gen.InstanceStatusCounts }

var _ dcsserver.StrictServerInterface = tinyServer{}

func (s tinyServer) ListNumberOfInstancesInDifferentStatus(_ context.Context, req dcsserver.ListNumberOfInstancesInDifferentStatusRequestObject) (dcsserver.ListNumberOfInstancesInDifferentStatusResponseObject, error) {
	if req.ProjectId != "p1" {
		return dcsserver.ListNumberOfInstancesInDifferentStatus400JSONResponse{ErrorCode: "111400002", ErrorMsg: "invalid project ID"}, nil
	}
	return dcsserver.ListNumberOfInstancesInDifferentStatus200JSONResponse(s.example), nil
}

func newTinyServer(t *testing.T) *httptest.Server {
	t.Helper()
	data, err := os.ReadFile("../../openapi/testdata/seed_example_200.json")
	require.NoError(t, err)
	var s tinyServer
	require.NoError(t, json.Unmarshal(data, &s.example))
	srv := httptest.NewServer(dcsserver.Handler(dcsserver.NewStrictHandler(s, nil)))
	t.Cleanup(srv.Close)
	return srv
}

func TestGeneratedStrictServerAnswersWithinContract(t *testing.T) {
	t.Parallel()
	srv := newTinyServer(t)
	checker := contracttest.New(t)

	c, err := dcsclient.NewClientWithResponses(srv.URL, dcsclient.WithHTTPClient(&http.Client{Transport: checker.Transport(t, nil)}))
	require.NoError(t, err)

	include := "true"
	ok, err := c.ListNumberOfInstancesInDifferentStatusWithResponse(context.Background(), "p1", &gen.ListNumberOfInstancesInDifferentStatusParams{IncludeFailure: &include})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, ok.StatusCode())
	require.NotNil(t, ok.JSON200)
	assert.Equal(t, int32(16), ok.JSON200.RunningCount)
	assert.Equal(t, int32(44), ok.JSON200.CreateFailedCount)
	req := httptest.NewRequest(http.MethodGet, srv.URL+"/v2/p1/instances/status?include_failure=true", nil)
	assert.NoError(t, checker.CheckResponse(context.Background(), req, ok.StatusCode(), ok.HTTPResponse.Header, ok.Body))

	bad, err := c.ListNumberOfInstancesInDifferentStatusWithResponse(context.Background(), "p2", nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, bad.StatusCode())
	require.NotNil(t, bad.JSON400)
	assert.Equal(t, "111400002", bad.JSON400.ErrorCode)
}

func TestCheckerRejectsWhatTheSpecForbids(t *testing.T) {
	t.Parallel()
	checker := contracttest.New(t)
	statusURL := "http://dcs.example/v2/p1/instances/status"
	jsonHeader := http.Header{"Content-Type": []string{"application/json"}}
	textHeader := http.Header{"Content-Type": []string{"text/plain; charset=utf-8"}}

	tests := []struct {
		name   string
		method string
		url    string
		status int
		header http.Header
		body   string
		ok     bool
	}{
		{"200 with counters", http.MethodGet, statusURL, 200, jsonHeader, `{"running_count":1}`, true},
		{"200 with a negative counter", http.MethodGet, statusURL, 200, jsonHeader, `{"running_count":-1}`, false},
		{"200 as plain text", http.MethodGet, statusURL, 200, textHeader, `running 1`, false},
		{"400 with a 10-character code", http.MethodGet, statusURL, 400, jsonHeader, `{"error_code":"APIGW.0301","error_msg":"x"}`, false},
		{"401 gateway body", http.MethodGet, statusURL, 401, jsonHeader, `{"error_code":"APIGW.0301","error_msg":"x","request_id":"r"}`, true},
		{"503 ErrorResponse via default", http.MethodGet, statusURL, 503, jsonHeader, `{"error_code":"111503000","error_msg":"x"}`, true},
		{"unknown path, JSON error", http.MethodGet, "http://dcs.example/nope", 404, jsonHeader, `{"error_code":"111404001","error_msg":"x"}`, true},
		{"unknown path, plain text", http.MethodGet, "http://dcs.example/nope", 404, textHeader, "404 page not found\n", false},
		{"unknown path, 200", http.MethodGet, "http://dcs.example/nope", 200, jsonHeader, `{}`, false},
		// The gateway authenticates before anything is routed.
		{"unknown path, gateway 401", http.MethodGet, "http://dcs.example/nope", 401, jsonHeader, `{"error_code":"APIGW.0301","error_msg":"x","request_id":"r"}`, true},
		{"unknown path, 401 with an overlong message", http.MethodGet, "http://dcs.example/nope", 401, jsonHeader, `{"error_code":"APIGW.0301","error_msg":"` + strings.Repeat("x", 2000) + `"}`, false},
		{"unknown path, gateway code on 404", http.MethodGet, "http://dcs.example/nope", 404, jsonHeader, `{"error_code":"APIGW.0301","error_msg":"x"}`, false},
		{"wrong method, JSON error", http.MethodPost, statusURL, 405, jsonHeader, `{"error_code":"111405001","error_msg":"x"}`, true},
		{"wrong method, gateway-shaped body", http.MethodPost, statusURL, 405, jsonHeader, `{"error_code":"APIGW.0301xx"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tt.method, tt.url, nil)
			err := checker.CheckResponse(context.Background(), req, tt.status, tt.header, []byte(tt.body))
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
}

// recordingTB catches what Transport and Handler report.
type recordingTB struct {
	testing.TB
	errors []string
}

func (r *recordingTB) Errorf(format string, args ...any) { r.errors = append(r.errors, format) }
func (r *recordingTB) Helper()                           {}

func TestTransportAndHandlerReportViolations(t *testing.T) {
	t.Parallel()
	checker := contracttest.New(t)
	plain := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})

	rec := &recordingTB{TB: t}
	srv := httptest.NewServer(checker.Handler(rec, plain))
	t.Cleanup(srv.Close)

	client := &http.Client{Transport: checker.Transport(rec, nil)}
	resp, err := client.Get(srv.URL + "/v2/p1/instances/status")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())

	assert.Equal(t, "boom\n", string(body), "the caller still gets the body")
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	assert.Len(t, rec.errors, 2, "both the handler wrapper and the transport report the plain-text 500")
}

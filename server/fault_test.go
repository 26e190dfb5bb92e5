package server_test

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/internal/contract/contracttest"
	"github.com/dcskit/dcskit/server"
	"github.com/dcskit/dcskit/servertest"
)

func TestFaultStatusThenNormal(t *testing.T) {
	t.Parallel()
	for _, status := range []int{401, 429, 500, 503} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			for _, m := range modes {
				f := m.start(t, server.Options{})
				f.InjectFault(server.Fault{Status: status, Times: 2})
				for range 2 {
					r := f.call(t, http.MethodGet, statusPath("p"), "")
					assert.Equal(t, status, r.status)
					code := r.error(t).Code
					if status == http.StatusUnauthorized {
						assert.Equal(t, "APIGW.0301", code)
					} else {
						assert.Len(t, code, 9)
					}
					// The admin API is never disturbed.
					assert.Equal(t, http.StatusOK, f.call(t, http.MethodGet, "/_fake/healthz", "").status)
				}
				assert.Equal(t, http.StatusOK, f.call(t, http.MethodGet, statusPath("p"), "").status)
			}
		})
	}
}

func TestFaultsQueueInOrder(t *testing.T) {
	t.Parallel()
	f := startListener(t, server.Options{})
	f.InjectFault(server.Fault{Status: 503})
	f.InjectFault(server.Fault{Status: 500})
	for _, want := range []int{503, 500, 200} {
		assert.Equal(t, want, f.call(t, http.MethodGet, statusPath("p"), "").status)
	}
	f.InjectFault(server.Fault{Status: 503})
	f.Reset()
	assert.Equal(t, http.StatusOK, f.call(t, http.MethodGet, statusPath("p"), "").status, "Reset clears faults")
}

func TestFaultDelay(t *testing.T) {
	t.Parallel()
	f := startListener(t, server.Options{})
	const delay = 150 * time.Millisecond
	f.InjectFault(server.Fault{Delay: delay})
	start := time.Now()
	assert.Equal(t, http.StatusOK, f.call(t, http.MethodGet, statusPath("p"), "").status)
	assert.GreaterOrEqual(t, time.Since(start), delay)
}

func TestFaultDrop(t *testing.T) {
	t.Parallel()
	s := servertest.New(t, server.Options{})
	s.InjectFault(server.Fault{Drop: true})
	// A fresh transport: Go retries a GET that failed on a reused
	// connection, which would hide the drop.
	c := &http.Client{Transport: contracttest.New(t).Transport(t, &http.Transport{})}
	_, err := c.Get(s.URL() + statusPath("p"))
	require.Error(t, err)

	resp, err := c.Get(s.URL() + statusPath("p"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestInjectFaultPanicsOnNonsense(t *testing.T) {
	t.Parallel()
	s, err := server.New(server.Options{})
	require.NoError(t, err)
	for _, f := range []server.Fault{
		{Status: 200}, {Status: 600}, {Delay: -1}, {Times: -1}, {ProjectID: "a b", Status: 503},
		{RetryAfter: time.Second}, {Status: 503, RetryAfter: -1}, {Status: 401, ErrorCode: "111401000"},
		{Delay: server.MaxFaultDelay + 1},
	} {
		assert.Panics(t, func() { s.InjectFault(f) }, "%+v", f)
	}
}

// A fault for one project lets other projects' requests by, however
// early it was queued, and waits for its own.
func TestFaultForOneProject(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			f := m.start(t, server.Options{})
			f.InjectFault(server.Fault{ProjectID: "p-a", Status: 503, Times: 2})
			f.InjectFault(server.Fault{Status: 500})
			for _, step := range []struct {
				project string
				want    int
			}{
				{"p-b", 500}, // the fault for every project, past p-a's
				{"p-b", 200},
				{"p-a", 503},
				{"p-b", 200},
				{"p-a", 503},
				{"p-a", 200},
			} {
				assert.Equal(t, step.want, f.call(t, http.MethodGet, statusPath(step.project), "").status, step.project)
			}
		})
	}
}

// error_code, error_msg and retry_after shape the error answer, through
// the admin API as through Go.
func TestFaultShapesTheAnswer(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, body  string
		status      int
		code, msg   string
		retryAfter  string
		gatewayBody bool
	}{
		{"defaults", `{"status":503}`, 503, "111503000", "injected fault: 503", "", false},
		{"all", `{"status":429,"error_code":"DCS.4290","error_msg":"slow down","retry_after":"1.5s"}`, 429, "DCS.4290", "slow down", "2", false},
		{"gateway", `{"status":401,"error_code":"APIGW.0307","error_msg":"token expired"}`, 401, "APIGW.0307", "token expired", "", true},
		{"whole minutes", `{"status":503,"retry_after":"1m"}`, 503, "111503000", "injected fault: 503", "60", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := startListener(t, server.Options{})
			require.Equal(t, http.StatusNoContent, f.call(t, http.MethodPost, "/_fake/faults", tt.body).status)
			r := f.call(t, http.MethodGet, statusPath("p"), "")
			assert.Equal(t, tt.status, r.status)
			e := r.error(t)
			assert.Equal(t, tt.code, e.Code)
			assert.Equal(t, tt.msg, e.Msg)
			assert.Equal(t, tt.retryAfter, r.header.Get("Retry-After"))
			if tt.gatewayBody {
				assert.Equal(t, r.header.Get("X-Request-Id"), e.RequestID)
			}
		})
	}
}

// GET /_fake/faults lists what is pending, in the order it applies, with
// the requests each fault has left and its durations as Go durations.
func TestListFaults(t *testing.T) {
	t.Parallel()
	f := startListener(t, server.Options{})
	for _, body := range []string{
		`{"project_id":"p-a","status":503,"retry_after":"2s","times":2}`,
		`{"delay":"1.5s"}`,
		`{"delay_ms":250,"drop":true}`,
	} {
		require.Equal(t, http.StatusNoContent, f.call(t, http.MethodPost, "/_fake/faults", body).status, body)
	}
	list := func() string {
		r := f.call(t, http.MethodGet, "/_fake/faults", "")
		require.Equal(t, http.StatusOK, r.status)
		return string(r.body)
	}
	assert.JSONEq(t, `{"faults":[
		{"project_id":"p-a","status":503,"retry_after":"2s","times":2},
		{"delay":"1.5s","times":1},
		{"delay":"250ms","drop":true,"times":1}]}`, list())
	assert.Equal(t, []server.Fault{
		{ProjectID: "p-a", Status: 503, RetryAfter: 2 * time.Second, Times: 2},
		{Delay: 1500 * time.Millisecond, Times: 1},
		{Delay: 250 * time.Millisecond, Drop: true, Times: 1},
	}, f.Faults())

	assert.Equal(t, http.StatusServiceUnavailable, f.call(t, http.MethodGet, statusPath("p-a"), "").status)
	assert.JSONEq(t, `{"faults":[
		{"project_id":"p-a","status":503,"retry_after":"2s","times":1},
		{"delay":"1.5s","times":1},
		{"delay":"250ms","drop":true,"times":1}]}`, list())
	f.Reset()
	assert.JSONEq(t, `{"faults":[]}`, list())
}

// Faults the fake could not answer as dcs.yaml says, or that say one
// thing twice, are refused whole.
func TestFaultRefused(t *testing.T) {
	t.Parallel()
	f := startListener(t, server.Options{})
	unchecked := startHandler(t, server.Options{DisableValidation: true})
	for _, tt := range []struct{ body, want string }{
		{`{"delay":"1.5s","delay_ms":1500}`, "give delay or delay_ms, not both"},
		{`{"delay":"soon"}`, "delay"},
		{`{"delay":"51s"}`, "MaxFaultDelay"},
		{`{"retry_after":"25h","status":503}`, "MaxFaultRetryAfter"},
		{`{"retry_after":"2s"}`, "give its status too"},
		{`{"error_msg":"x"}`, "give its status too"},
		{`{"status":401,"error_code":"111401000"}`, "not a gateway code"},
		{`{"status":503,"error_code":"APIGW.0301"}`, "1 to 9 letters"},
		{`{"status":503,"error_code":"a b"}`, "error_code"},
		{`{"status":503,"project_id":"a/b"}`, "project_id"},
		{`{"status":503,"error_msg":"` + strings.Repeat("x", 1025) + `"}`, "error_msg"},
		{fmt.Sprintf(`{"delay_ms":%d}`, server.MaxFaultDelay.Milliseconds()+1), "MaxFaultDelay"},
		{`{"delay_ms":9223372036854775807}`, "MaxFaultDelay"},
		{`{"delay_ms":-1}`, "delay_ms"},
	} {
		for _, validation := range []bool{true, false} {
			f := map[bool]*fake{true: f, false: unchecked}[validation]
			r := f.call(t, http.MethodPost, "/_fake/faults", tt.body)
			assert.Equal(t, http.StatusBadRequest, r.status, tt.body)
			assert.Contains(t, r.error(t).Msg, tt.want, tt.body)
		}
	}
	assert.Empty(t, f.Faults())
	assert.Empty(t, unchecked.Faults())

	for range server.MaxPendingFaults {
		f.InjectFault(server.Fault{Status: 503})
	}
	limitError(t, f.call(t, http.MethodPost, "/_fake/faults", `{"status":503}`), "MaxPendingFaults")
}

// The README's fault examples, as written: the Go value and the admin
// API's JSON are the same fault.
func TestREADMEFaults(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	text := strings.Join(strings.Fields(string(readme)), " ")
	const (
		goValue = `server.Fault{ProjectID: "p1", Status: 429, ErrorCode: "DCS.4290", RetryAfter: 2 * time.Second}`
		asJSON  = `{"project_id": "p1", "status": 429, "error_code": "DCS.4290", "retry_after": "2s"}`
	)
	require.Contains(t, text, "`"+goValue+"`")
	require.Contains(t, text, "`"+asJSON+"`")
	require.Contains(t, text, "`\"delay\": \"1.5s\"`")

	f := startListener(t, server.Options{})
	f.InjectFault(server.Fault{ProjectID: "p1", Status: 429, ErrorCode: "DCS.4290", RetryAfter: 2 * time.Second})
	require.Equal(t, http.StatusNoContent, f.call(t, http.MethodPost, "/_fake/faults", asJSON).status)
	require.Equal(t, http.StatusNoContent, f.call(t, http.MethodPost, "/_fake/faults", `{"delay": "1.5s"}`).status)
	faults := f.Faults()
	require.Len(t, faults, 3)
	assert.Equal(t, faults[0], faults[1])
	assert.Equal(t, 1500*time.Millisecond, faults[2].Delay)
}

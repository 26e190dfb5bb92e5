package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	c := &http.Client{Transport: checker(t).Transport(t, &http.Transport{})}
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
	for _, f := range []server.Fault{{Status: 200}, {Status: 600}, {Delay: -1}, {Times: -1}} {
		assert.Panics(t, func() { s.InjectFault(f) }, "%+v", f)
	}
}

func TestResetClearsFaults(t *testing.T) {
	t.Parallel()
	f := startListener(t, server.Options{})
	f.InjectFault(server.Fault{Status: 503})
	f.Reset()
	assert.Equal(t, http.StatusOK, f.call(t, http.MethodGet, statusPath("p"), "").status)
}

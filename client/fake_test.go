package client_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/internal/contract/contracttest"
	"github.com/dcskit/dcskit/server"
	"github.com/dcskit/dcskit/servertest"
)

// fake starts the fake server with opts and seeds testProject with one
// instance of each engine in each status.
func fake(t *testing.T, opts server.Options) *server.Server {
	t.Helper()
	srv := servertest.New(t, opts)
	_, err := srv.Add(servertest.OneOfEach(testProject)...)
	require.NoError(t, err)
	return srv
}

// signed is the fake's AK/SK.
var signed = client.WithCredentials(testAK, testSK)

// fakeClient returns a client of srv whose every response is checked
// against the spec, and a counter of its attempts. opts must bring
// credentials.
func fakeClient(t *testing.T, srv *server.Server, opts ...client.Option) (*client.Client, *atomic.Int32) {
	t.Helper()
	rt := &countingTransport{next: contracttest.New(t).Transport(t, nil)}
	base := []client.Option{
		client.WithEndpoint(srv.URL()),
		client.WithProjectID(testProject),
		client.WithHTTPClient(&http.Client{Transport: rt}),
		client.WithRetry(client.RetryPolicy{Backoff: noWait}),
	}
	c, err := client.New(append(base, opts...)...)
	require.NoError(t, err)
	return c, &rt.n
}

func TestFakeAcceptsTheClient(t *testing.T) {
	t.Parallel()
	srv := fake(t, server.Options{AccessKey: testAK, SecretKey: testSK, Token: testToken})
	for name, opts := range map[string][]client.Option{
		"AK/SK":                 {signed},
		"temporary credentials": {temporary(testAK, testSK)},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, attempts := fakeClient(t, srv, opts...)
			for _, includeFailure := range []bool{false, true} {
				var o []client.StatusOption
				if includeFailure {
					o = append(o, client.IncludeFailure())
				}
				st, err := c.InstanceStatus(t.Context(), o...)
				require.NoError(t, err)
				assert.Equal(t, srv.Counts(testProject, includeFailure), st.Counts)
				assert.NotEmpty(t, st.RequestID)
			}
			assert.Equal(t, int32(2), attempts.Load())
		})
	}
	t.Run("IAM token", func(t *testing.T) {
		t.Parallel()
		c, _ := fakeClient(t, srv, client.WithIAMToken(testToken))
		st, err := c.InstanceStatus(t.Context())
		require.NoError(t, err)
		assert.EqualValues(t, 2, st.Count(dcs.Running))
		assert.EqualValues(t, 0, st.Count(dcs.CreateFailed), "left out without IncludeFailure")
		transitional := 0
		for _, s := range dcs.Statuses() {
			if s.Transitional() {
				transitional++
			}
		}
		assert.EqualValues(t, len(dcs.Engines())*transitional, st.Transitional())
	})
}

func TestFakeRejectsWrongCredentials(t *testing.T) {
	t.Parallel()
	srv := fake(t, server.Options{AccessKey: testAK, SecretKey: testSK, Token: testToken})
	for name, opt := range map[string]client.Option{
		"wrong SK":    client.WithCredentials(testAK, "wrong-secret-key"),
		"unknown AK":  client.WithCredentials("OTHERACCESSKEY", testSK),
		"wrong token": client.WithIAMToken("wrong-token-value"),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, attempts := fakeClient(t, srv, opt)
			_, err := c.InstanceStatus(t.Context())
			var apiErr *client.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
			assert.NotEmpty(t, apiErr.Code)
			assert.NotEmpty(t, apiErr.Message)
			assert.NotEmpty(t, apiErr.RequestID)
			assert.Equal(t, int32(1), attempts.Load(), "a 401 is not retried")
			for _, secret := range []string{testSK, testToken, "wrong-secret-key", "wrong-token-value"} {
				assert.NotContains(t, err.Error(), secret)
			}
		})
	}
}

func TestFakeFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		faults   []server.Fault
		attempts int32
		status   int // of the final APIError; 0 for success, -1 for a transport error
	}{
		{"503 then 200", []server.Fault{{Status: 503}}, 2, 0},
		{"500, 502, then 429", []server.Fault{{Status: 500}, {Status: 502}, {Status: 429}}, 3, 429},
		{"403 is not retried", []server.Fault{{Status: 403}}, 1, 403},
		{"dropped once", []server.Fault{{Drop: true}}, 2, 0},
		{"dropped three times", []server.Fault{{Drop: true, Times: 3}}, 3, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fake(t, server.Options{AccessKey: testAK, SecretKey: testSK})
			for _, f := range tt.faults {
				srv.InjectFault(f)
			}
			c, attempts := fakeClient(t, srv, signed)
			st, err := c.InstanceStatus(t.Context(), client.IncludeFailure())
			assert.Equal(t, tt.attempts, attempts.Load())
			var apiErr *client.APIError
			switch tt.status {
			case 0:
				require.NoError(t, err)
				assert.EqualValues(t, 4, st.Count(dcs.Running)+st.Count(dcs.CreateFailed))
			case -1:
				require.Error(t, err)
				assert.False(t, errors.As(err, &apiErr))
				assert.Contains(t, err.Error(), "after 3 attempts")
			default:
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, tt.status, apiErr.StatusCode)
				assert.NotEmpty(t, apiErr.Code)
				assert.NotEmpty(t, apiErr.RequestID)
			}
		})
	}
}

func TestFakeDelayAgainstDeadline(t *testing.T) {
	t.Parallel()
	srv := fake(t, server.Options{AccessKey: testAK, SecretKey: testSK})
	srv.InjectFault(server.Fault{Delay: server.MaxFaultDelay})
	c, attempts := fakeClient(t, srv, signed)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := c.InstanceStatus(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, int32(1), attempts.Load(), "a deadline is not retried")
}

package client_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/dcs"
)

// TestRetryPastTheDeadlineFailsAtOnce: when the server's Retry-After, or
// the backoff, ends after the call's deadline, the call fails at once with
// a clear error instead of sleeping until the deadline. The deadline is an
// hour away: a call that slept would hang the test.
func TestRetryPastTheDeadlineFailsAtOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		retryAfter string
		backoff    client.Backoff // nil: DefaultBackoff
		want       string
	}{
		{"Retry-After beyond the deadline", "7200", nil, "the server asks to retry after 2h0m0s (Retry-After: 7200)"},
		{"Retry-After beyond the deadline, backoff ignoring it", "7200", noWait, "(Retry-After: 7200)"},
		{"backoff beyond the deadline", "", func(int, *http.Response) time.Duration { return 2 * time.Hour }, "the backoff is 2h0m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				jsonBody(http.StatusServiceUnavailable, `{"error_code":"111503000","error_msg":"busy"}`)(w, r)
			})
			c := newClient(t, a.URL, client.WithRetry(client.RetryPolicy{Backoff: tt.backoff}))
			ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
			defer cancel()
			_, err := c.InstanceStatus(ctx)
			require.ErrorIs(t, err, client.ErrRetryPastDeadline)
			assert.NotErrorIs(t, err, context.DeadlineExceeded, "it did not wait for the deadline")
			assert.ErrorContains(t, err, tt.want)
			assert.ErrorContains(t, err, "giving up after 1 attempt(s)")
			var apiErr *client.APIError
			require.ErrorAs(t, err, &apiErr, "the last attempt's error is kept")
			assert.Equal(t, http.StatusServiceUnavailable, apiErr.StatusCode)
			assert.Equal(t, int32(1), a.hits.Load())
		})
	}
}

// TestTimedOutAttemptIsRetried: an attempt cut off by the *http.Client's
// Timeout is retried while the call's own context is live.
func TestTimedOutAttemptIsRetried(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	var a *api
	a = serve(t, func(w http.ResponseWriter, r *http.Request) {
		if a.hits.Load() == 1 {
			select { // hangs until the client gives up on the attempt
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		jsonBody(http.StatusOK, string(seed(t)))(w, r)
	})
	c := newClient(t, a.URL, client.WithHTTPClient(&http.Client{Timeout: 500 * time.Millisecond}))
	st, err := c.InstanceStatus(t.Context())
	require.NoError(t, err)
	assert.EqualValues(t, 16, st.Count(dcs.Running))
	assert.GreaterOrEqual(t, a.hits.Load(), int32(2))

	// The call's own deadline still ends it.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = c.InstanceStatus(ctx)
	assert.True(t, errors.Is(err, context.Canceled))
}

package client

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
		ok     bool
	}{
		{"", 0, false},
		{"3", 3 * time.Second, true},
		{"0", 0, true},
		{"-5", 0, false}, // not 1*DIGIT
		{"+5", 0, false},
		{"5.5", 0, false},
		{"86400", 24 * time.Hour, true}, // uncapped: DefaultBackoff caps
		{"9223372036", 9223372036 * time.Second, true},
		{"9223372037", 0, false},           // past time.Duration: absurd
		{"99999999999999999", 0, false},    // absurd
		{"99999999999999999999", 0, false}, // not even an int64
		{now.Add(20 * time.Second).Format(http.TimeFormat), 20 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{now.Add(time.Hour).Format(http.TimeFormat), time.Hour, true},
		{"Fri, 31 Dec 9999 23:59:59 GMT", 0, false}, // absurd
		{"soon", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			t.Parallel()
			resp := &http.Response{Header: http.Header{}}
			if tt.header != "" {
				resp.Header.Set("Retry-After", tt.header)
			}
			got, ok := retryAfter(resp, now)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
	_, ok := retryAfter(nil, now)
	assert.False(t, ok)
}

// TestDefaultBackoffRetryAfter: a usable Retry-After is honoured, capped
// at a minute; one that cannot be read gets the normal backoff, never an
// immediate retry.
func TestDefaultBackoffRetryAfter(t *testing.T) {
	t.Parallel()
	with := func(v string) *http.Response {
		return &http.Response{Header: http.Header{"Retry-After": {v}}}
	}
	assert.Equal(t, 7*time.Second, DefaultBackoff(1, with("7")))
	assert.Equal(t, time.Duration(0), DefaultBackoff(1, with("0")))
	assert.Equal(t, time.Minute, DefaultBackoff(1, with("86400")))
	for _, v := range []string{"-5", "soon", "99999999999999999", "99999999999999999999", "1e3"} {
		for range 20 {
			d := DefaultBackoff(1, with(v))
			assert.GreaterOrEqual(t, d, (200*time.Millisecond)/2, v)
			assert.LessOrEqual(t, d, (200 * time.Millisecond), v)
		}
	}
}

func TestDefaultBackoffGrowsWithJitter(t *testing.T) {
	t.Parallel()
	for attempt, base := range map[int]time.Duration{1: 200 * time.Millisecond, 2: 400 * time.Millisecond, 3: 800 * time.Millisecond, 6: (5 * time.Second), 100: (5 * time.Second)} {
		for range 50 {
			d := DefaultBackoff(attempt, nil)
			assert.GreaterOrEqual(t, d, base/2, "attempt %d", attempt)
			assert.LessOrEqual(t, d, base, "attempt %d", attempt)
		}
	}
}

func TestDefaultCheckRetry(t *testing.T) {
	t.Parallel()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	urlErr := func(err error) error { return &url.Error{Op: "Get", URL: "https://x", Err: err} }
	tests := []struct {
		name   string
		ctx    context.Context
		status int
		err    error
		want   bool
	}{
		{"200", nil, 200, nil, false},
		{"400", nil, 400, nil, false},
		{"401", nil, 401, nil, false},
		{"404", nil, 404, nil, false},
		{"429", nil, 429, nil, true},
		{"500", nil, 500, nil, true},
		{"501", nil, 501, nil, false},
		{"502", nil, 502, nil, true},
		{"503", nil, 503, nil, true},
		{"504", nil, 504, nil, true},
		{"503 after the context ended", done, 503, nil, false},
		{"connection refused", nil, 0, urlErr(syscall.ECONNREFUSED), true},
		{"connection reset", nil, 0, urlErr(syscall.ECONNRESET), true},
		{"dropped connection", nil, 0, urlErr(io.EOF), true},
		{"no credentials", nil, 0, urlErr(&CredentialsError{Tried: []error{NoCredentials("ECS metadata", "not reachable")}}), false},
		{"body cut short", nil, 200, fmt.Errorf("reading: %w", io.ErrUnexpectedEOF), true},
		{"no such host", nil, 0, urlErr(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}}), false},
		{"DNS timeout", nil, 0, urlErr(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "timeout", Name: "x", IsTimeout: true}}), true},
		{"cancelled", nil, 0, urlErr(context.Canceled), false},
		{"attempt timed out, call still live", nil, 0, urlErr(context.DeadlineExceeded), true},
		{"deadline of the call", done, 0, urlErr(context.DeadlineExceeded), false},
		{"unknown authority", nil, 0, urlErr(x509.UnknownAuthorityError{}), false},
		{"wrong host", nil, 0, urlErr(x509.HostnameError{Host: "x"}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			var resp *http.Response
			if tt.status != 0 {
				resp = &http.Response{StatusCode: tt.status}
			}
			assert.Equal(t, tt.want, DefaultCheckRetry(ctx, resp, tt.err))
		})
	}
	assert.False(t, errors.Is(urlErr(io.EOF), context.Canceled))
}

// TestEveryAttemptIsSignedAfresh moves the signing clock between attempts
// and checks that each attempt carries its own X-Sdk-Date.
func TestEveryAttemptIsSignedAfresh(t *testing.T) {
	t.Parallel()
	var (
		mu    sync.Mutex
		dates []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		dates = append(dates, r.Header.Get("X-Sdk-Date"))
		mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	c, err := New(WithEndpoint(srv.URL), WithProjectID("p"), WithCredentials("AKAKAKAK", "sk"),
		WithRetry(RetryPolicy{Backoff: func(int, *http.Response) time.Duration { return 0 }}))
	require.NoError(t, err)
	clock := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	c.http.Transport.(*authTransport).now = func() time.Time {
		clock = clock.Add(time.Minute)
		return clock
	}
	_, err = c.InstanceStatus(t.Context())
	require.Error(t, err)
	assert.Equal(t, []string{"20250501T120100Z", "20250501T120200Z", "20250501T120300Z"}, dates)
}

package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/internal/contract/contracttest"
	"github.com/dcskit/dcskit/server"
)

// epoch is where the fake's clock starts.
var epoch = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// fakeDCS is the fake server that wait and exporter talk to, with AK/SK
// and a ManualClock. The commands build their own clients, so the fake's
// responses are validated where they are made: its handler is wrapped by
// the contract checker, behind a counter of DCS API requests.
type fakeDCS struct {
	*server.Server
	clock   *server.ManualClock
	url     string
	queries atomic.Int32 // requests to the DCS API, retries included
	// gone counts requests to the DCS API whose client gave up before
	// the answer.
	gone atomic.Int32
}

func startFake(t *testing.T, fixture string) *fakeDCS {
	t.Helper()
	return startFakeWith(t, server.Options{AccessKey: testAK, SecretKey: testSK}, fixture)
}

// startFakeWith is startFake with the credentials of opts, or none.
func startFakeWith(t *testing.T, opts server.Options, fixture string) *fakeDCS {
	t.Helper()
	f := &fakeDCS{clock: server.NewManualClock(epoch)}
	opts.Clock = f.clock
	s, err := server.New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) }) // stops the fake's timer
	f.Server = s
	require.NoError(t, s.LoadFixture("test fixture", strings.NewReader(fixture)))
	checked := contracttest.New(t).Handler(t, s.Handler())
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_fake/") {
			checked.ServeHTTP(w, r)
			return
		}
		f.queries.Add(1)
		checked.ServeHTTP(w, r)
		if r.Context().Err() != nil {
			f.gone.Add(1)
		}
	}))
	t.Cleanup(ts.Close)
	f.url = ts.URL
	return f
}

// env is an environment with environ for a command that talks to f: wait
// sleeps by moving f's clock, and the client retries without waiting.
func (f *fakeDCS) env(environ map[string]string) *env {
	return &env{
		getenv: mapEnv(environ),
		clock:  fakeTime{f.clock},
		clientOptions: []client.Option{client.WithRetry(client.RetryPolicy{
			Backoff: func(int, *http.Response) time.Duration { return 0 },
		})},
	}
}

// fakeTime is a waitClock on which a sleep moves the time, and with it
// the fake's scheduled changes and wait's --timeout.
type fakeTime struct{ *server.ManualClock }

func (c fakeTime) Sleep(ctx context.Context, d time.Duration) error {
	c.Advance(d)
	return ctx.Err()
}

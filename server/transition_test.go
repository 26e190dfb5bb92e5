package server_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen/admin"
	"github.com/dcskit/dcskit/server"
)

var epoch = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// timerCount is a ManualClock that counts the timers still pending, so
// that a test can see none is left behind.
type timerCount struct {
	*server.ManualClock
	live atomic.Int32
}

func (c *timerCount) AfterFunc(d time.Duration, f func()) server.Timer {
	c.live.Add(1)
	return countedTimer{c, c.ManualClock.AfterFunc(d, func() { c.live.Add(-1); f() })}
}

type countedTimer struct {
	c *timerCount
	server.Timer
}

func (t countedTimer) Stop() bool {
	ok := t.Timer.Stop()
	if ok {
		t.c.live.Add(-1)
	}
	return ok
}

// clocked is a Server on a ManualClock whose log a test can read.
type clocked struct {
	*server.Server
	clock *timerCount
	log   *syncWriter
}

func newClocked(t *testing.T) *clocked {
	t.Helper()
	c := &clocked{clock: &timerCount{ManualClock: server.NewManualClock(epoch)}, log: &syncWriter{w: &bytes.Buffer{}}}
	s, err := server.New(server.Options{Clock: c.clock, Logger: slog.New(slog.NewTextHandler(c.log, nil))})
	require.NoError(t, err)
	c.Server = s
	return c
}

func (c *clocked) count(st dcs.Status) int32 { return c.Counts("p", true).Total.Get(st) }

func TestTransitionHappensOnTime(t *testing.T) {
	t.Parallel()
	c := newClocked(t)
	added, err := c.Add(
		server.Instance{ProjectID: "p", Engine: dcs.Redis, Status: dcs.Creating,
			Becomes: &server.Transition{Status: dcs.Running, After: 3 * time.Second}},
		server.Instance{ProjectID: "p", Engine: dcs.Memcached, Status: dcs.Creating},
	)
	require.NoError(t, err)
	assert.Equal(t, 3*time.Second, added[0].Becomes.After, "Add returns the instances as given")
	assert.Equal(t, int32(2), c.count(dcs.Creating))

	c.clock.Advance(2 * time.Second)
	assert.Equal(t, int32(2), c.count(dcs.Creating))
	assert.Equal(t, &server.Transition{Status: dcs.Running, After: time.Second}, c.Instances("p")[0].Becomes,
		"the time left")
	assert.NotContains(t, c.log.String(), "scheduled status changes")

	c.clock.Advance(time.Second)
	assert.Contains(t, c.log.String(), `msg="scheduled status changes made" instances=1`,
		"made by the timer, before anything reads")
	assert.Equal(t, int32(1), c.count(dcs.Creating))
	assert.Equal(t, int32(1), c.count(dcs.Running))
	assert.Equal(t, int32(1), c.Counts("p", false).Redis.Get(dcs.Running))
	assert.Nil(t, c.Instances("p")[0].Becomes)
	assert.Zero(t, c.clock.live.Load(), "no timer when nothing is pending")
}

func TestTransitionChain(t *testing.T) {
	t.Parallel()
	c := newClocked(t)
	chain := &server.Transition{Status: dcs.Running, After: 3 * time.Second,
		Then: &server.Transition{Status: dcs.Restarting, After: 5 * time.Second,
			Then: &server.Transition{Status: dcs.Running, After: time.Second}}}
	_, err := c.Add(server.Instance{ProjectID: "p", ID: "a", Engine: dcs.Redis, Status: dcs.Creating, Becomes: chain})
	require.NoError(t, err)
	chain.Status = dcs.Error // the caller's chain is not the store's

	for _, step := range []struct {
		advance time.Duration
		want    dcs.Status
	}{
		{2 * time.Second, dcs.Creating},
		{time.Second, dcs.Running},
		{4 * time.Second, dcs.Running},
		{time.Second, dcs.Restarting}, // 5s after the change before
		{time.Second, dcs.Running},
	} {
		c.clock.Advance(step.advance)
		assert.Equal(t, int32(1), c.count(step.want), "at %s", c.clock.Now().Sub(epoch))
	}
	assert.Nil(t, c.Instances("")[0].Becomes)

	// Without the timer, one late look makes every change that fell due,
	// in one update of the instance.
	require.NoError(t, c.Shutdown(t.Context()))
	chain.Status = dcs.Frozen
	require.NoError(t, c.Schedule("a", *chain))
	before := strings.Count(c.log.String(), "scheduled status changes made")
	c.clock.Advance(time.Hour)
	assert.Equal(t, int32(1), c.count(dcs.Running))
	assert.Equal(t, before+1, strings.Count(c.log.String(), "scheduled status changes made"))
	assert.Contains(t, c.log.String(), "instances=1")
}

func TestTransitionCancelled(t *testing.T) {
	t.Parallel()
	soon := &server.Transition{Status: dcs.Running, After: time.Second}
	tests := []struct {
		name   string
		change func(*clocked) error
		want   map[dcs.Status]int32
	}{
		{"SetStatus", func(c *clocked) error { return c.SetStatus("a", dcs.Error) }, map[dcs.Status]int32{dcs.Error: 1, dcs.Running: 1}},
		{"SetStatus to the same", func(c *clocked) error { return c.SetStatus("a", dcs.Creating) }, map[dcs.Status]int32{dcs.Creating: 1, dcs.Running: 1}},
		{"Remove", func(c *clocked) error { return c.Remove("a") }, map[dcs.Status]int32{dcs.Running: 1}},
		{"Reset", func(c *clocked) error { c.Reset(); return nil }, map[dcs.Status]int32{}},
		{"Schedule replaces", func(c *clocked) error {
			return c.Schedule("a", server.Transition{Status: dcs.Frozen, After: time.Minute})
		}, map[dcs.Status]int32{dcs.Frozen: 1, dcs.Running: 1}},
		{"LoadFixture replaces", func(c *clocked) error {
			return c.LoadFixture("f", strings.NewReader(`{"instances":[{"project_id":"p","engine":"Redis","status":"PAYING"}]}`))
		}, map[dcs.Status]int32{dcs.Paying: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newClocked(t)
			_, err := c.Add(
				server.Instance{ProjectID: "p", ID: "a", Engine: dcs.Redis, Status: dcs.Creating, Becomes: soon},
				server.Instance{ProjectID: "p", ID: "b", Engine: dcs.Redis, Status: dcs.Creating, Becomes: soon},
			)
			require.NoError(t, err)
			require.NoError(t, tt.change(c))
			c.clock.Advance(time.Minute)
			for _, st := range dcs.Statuses() {
				assert.Equal(t, tt.want[st], c.count(st), st)
			}
			assert.Zero(t, c.clock.live.Load(), "no timer left")
		})
	}
}

func TestScheduleRejects(t *testing.T) {
	t.Parallel()
	c := newClocked(t)
	_, err := c.Add(server.Instance{ProjectID: "p", ID: "a", Engine: dcs.Redis, Status: dcs.Creating})
	require.NoError(t, err)
	cyclic := &server.Transition{Status: dcs.Running}
	cyclic.Then = cyclic
	for _, tt := range []struct {
		t    server.Transition
		want string
	}{
		{server.Transition{Status: "DONE"}, `becomes.status: unknown status "DONE" (valid: PAYING`},
		{server.Transition{Status: dcs.Running, After: -time.Second}, "becomes.after: -1s is negative"},
		{server.Transition{Status: dcs.Running, Then: &server.Transition{Status: "x"}}, "becomes.then.status"},
		{*cyclic, "more than 100 changes"},
	} {
		err := c.Schedule("a", tt.t)
		var ie *server.InvalidError
		require.ErrorAs(t, err, &ie)
		assert.Contains(t, err.Error(), tt.want)
	}
	assert.ErrorIs(t, c.Schedule("nobody", server.Transition{Status: dcs.Running}), server.ErrNotFound)
	_, err = c.Add(server.Instance{ProjectID: "p", Engine: dcs.Redis, Status: dcs.Creating, Becomes: &server.Transition{Status: "x"}})
	assert.ErrorContains(t, err, "instances[0].becomes.status")
	assert.Nil(t, c.Instances("")[0].Becomes, "nothing scheduled")
}

func TestShutdownStopsTheTimer(t *testing.T) {
	t.Parallel()
	c := newClocked(t)
	_, err := c.Add(server.Instance{ProjectID: "p", Engine: dcs.Redis, Status: dcs.Creating,
		Becomes: &server.Transition{Status: dcs.Running, After: time.Second}})
	require.NoError(t, err)
	require.Equal(t, int32(1), c.clock.live.Load())
	require.NoError(t, c.Shutdown(t.Context()))
	assert.Zero(t, c.clock.live.Load())

	c.clock.Advance(time.Second)
	assert.NotContains(t, c.log.String(), "scheduled status changes", "no timer")
	assert.Equal(t, int32(1), c.count(dcs.Running), "still made when read")
	_, err = c.Add(server.Instance{ProjectID: "p", Engine: dcs.Redis, Status: dcs.Creating,
		Becomes: &server.Transition{Status: dcs.Running, After: time.Second}})
	require.NoError(t, err)
	assert.Zero(t, c.clock.live.Load(), "none after Shutdown either")
}

func TestTransitionOnTheSystemClock(t *testing.T) {
	t.Parallel()
	log := &syncWriter{w: &bytes.Buffer{}}
	s, err := server.New(server.Options{Logger: slog.New(slog.NewTextHandler(log, nil))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Shutdown(t.Context()) })
	_, err = s.Add(server.Instance{ProjectID: "p", Engine: dcs.Redis, Status: dcs.Creating,
		Becomes: &server.Transition{Status: dcs.Running, After: time.Millisecond}})
	require.NoError(t, err)
	// Only the log is read: the change is made by the timer, not a query.
	require.Eventually(t, func() bool { return strings.Contains(log.String(), "scheduled status changes made") },
		10*time.Second, time.Millisecond)
	assert.Equal(t, int32(1), s.Counts("p", false).Total.Get(dcs.Running))
}

func TestTransitionsUnderLoad(t *testing.T) {
	t.Parallel()
	c := newClocked(t)
	const n = 200
	insts := make([]server.Instance, n)
	for i := range insts {
		insts[i] = server.Instance{ProjectID: "p", ID: fmt.Sprint(i), Engine: dcs.Engines()[i%2], Status: dcs.Creating,
			Becomes: &server.Transition{Status: dcs.Running, After: time.Duration(i%10) * time.Second}}
	}
	_, err := c.Add(insts...)
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 20 {
			c.clock.Advance(time.Second)
		}
	})
	wg.Go(func() {
		for i := range n / 2 {
			_ = c.SetStatus(fmt.Sprint(2*i), dcs.Error)
		}
	})
	wg.Go(func() {
		for range 100 {
			got := c.Counts("p", true).Total
			assert.Equal(t, int32(n), got.Get(dcs.Creating)+got.Get(dcs.Running)+got.Get(dcs.Error))
		}
	})
	wg.Wait()
	got := c.Counts("p", true).Total
	assert.Equal(t, int32(n/2), got.Get(dcs.Error))
	assert.Equal(t, int32(n/2), got.Get(dcs.Running))
}

func TestFixtureBecomes(t *testing.T) {
	t.Parallel()
	c := newClocked(t)
	require.NoError(t, c.LoadFixture("f", strings.NewReader(`{"instances":[
		{"project_id":"p","engine":"Redis","status":"CREATING","count":3,"becomes":{"status":"RUNNING","after":"1m30s"}},
		{"project_id":"p","engine":"Redis","status":"RUNNING","becomes":{"status":"RESTARTING","after":"0s","then":{"status":"RUNNING","after":"10s"}}}
	]}`)))
	insts := c.Instances("p")
	require.Len(t, insts, 4)
	for _, in := range insts[:3] {
		assert.Equal(t, &server.Transition{Status: dcs.Running, After: 90 * time.Second}, in.Becomes)
	}
	assert.Equal(t, int32(1), c.count(dcs.Restarting), "after 0s: at once")
	assert.Equal(t, &server.Transition{Status: dcs.Running, After: 10 * time.Second}, c.Instances("p")[3].Becomes)
	c.clock.Advance(90 * time.Second)
	assert.Equal(t, int32(4), c.count(dcs.Running))
}

func TestAdminBecomes(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			clock := server.NewManualClock(epoch)
			f := m.start(t, server.Options{Clock: clock})
			added := f.call(t, http.MethodPost, "/_fake/instances",
				`{"instances":[{"project_id":"p","id":"a","engine":"Redis","status":"CREATING","becomes":{"status":"RUNNING","after":"3s"}}]}`).instances(t)
			require.Len(t, added, 1)
			assert.Equal(t, &admin.Transition{Status: dcs.Running, After: "3s"}, added[0].Becomes)

			clock.Advance(time.Second)
			listed := f.call(t, http.MethodGet, "/_fake/instances", "").instances(t)
			assert.Equal(t, &admin.Transition{Status: dcs.Running, After: "2s"}, listed[0].Becomes, "the time left")

			r := f.call(t, http.MethodPatch, "/_fake/instances/a",
				`{"status":"RESTARTING","becomes":{"status":"RUNNING","after":"1m","then":{"status":"FROZEN","after":"1h"}}}`)
			require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
			assert.JSONEq(t, `{"project_id":"p","id":"a","name":"dcs-a","engine":"Redis","status":"RESTARTING",
				"becomes":{"status":"RUNNING","after":"1m0s","then":{"status":"FROZEN","after":"1h0m0s"}}}`, string(r.body))
			clock.Advance(time.Minute)
			assert.Equal(t, int32(1), f.counts(t, "p", "").Redis.Get(dcs.Running))

			r = f.call(t, http.MethodPatch, "/_fake/instances/a", `{"status":"RUNNING"}`)
			require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
			assert.NotContains(t, string(r.body), "becomes", "a status cancels the pending change")
		})
	}
}

func TestAdminRejectsBadBecomes(t *testing.T) {
	t.Parallel()
	for _, validation := range []bool{true, false} {
		t.Run(fmt.Sprint("validation=", validation), func(t *testing.T) {
			t.Parallel()
			f := startListener(t, server.Options{DisableValidation: !validation})
			_, err := f.Add(server.Instance{ProjectID: "p", ID: "a", Engine: dcs.Redis, Status: dcs.Creating})
			require.NoError(t, err)
			for _, body := range []string{
				`{}`,
				`{"becomes":{"status":"RUNNING","after":"-1s"}}`,
				`{"becomes":{"status":"RUNNING","after":"soon"}}`,
				`{"becomes":{"status":"running","after":"1s"}}`,
				`{"becomes":{"status":"RUNNING","after":"1s","then":{"status":"RUNNING","after":"x"}}}`,
			} {
				r := f.call(t, http.MethodPatch, "/_fake/instances/a", body)
				assert.Equal(t, http.StatusBadRequest, r.status, "%s: %s", body, r.body)
				assert.Equal(t, "111400063", r.error(t).Code)
			}
			r := f.call(t, http.MethodPost, "/_fake/instances",
				`{"instances":[{"project_id":"p","engine":"Redis","status":"CREATING","becomes":{"status":"RUNNING","after":"-1s"}}]}`)
			assert.Equal(t, http.StatusBadRequest, r.status, "body: %s", r.body)
			assert.Nil(t, f.Instances("")[0].Becomes)
			assert.Len(t, f.Instances(""), 1)
		})
	}
}

func TestManualClock(t *testing.T) {
	t.Parallel()
	c := server.NewManualClock(epoch)
	var got []string
	record := func(name string) func() {
		return func() { got = append(got, fmt.Sprintf("%s@%s", name, c.Now().Sub(epoch))) }
	}
	c.AfterFunc(2*time.Second, record("b"))
	c.AfterFunc(time.Second, func() {
		record("a")()
		c.AfterFunc(time.Second, record("a+1")) // due with b: after it, registered later
		c.AfterFunc(time.Hour, record("late"))
	})
	stopped := c.AfterFunc(time.Second, record("stopped"))
	assert.True(t, stopped.Stop())
	assert.False(t, stopped.Stop())
	c.AfterFunc(-time.Second, record("now"))

	c.Advance(0)
	assert.Equal(t, []string{"now@0s"}, got)
	c.Advance(3 * time.Second)
	assert.Equal(t, []string{"now@0s", "a@1s", "b@2s", "a+1@2s"}, got)
	assert.Equal(t, epoch.Add(3*time.Second), c.Now())
}

// BenchmarkQueryPending is BenchmarkQuery with every instance waiting for
// a change: the heap of pending changes keeps a query flat too.
func BenchmarkQueryPending(b *testing.B) {
	for _, n := range []int{10, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s, err := server.New(server.Options{Clock: server.NewManualClock(epoch)})
			if err != nil {
				b.Fatal(err)
			}
			insts := make([]server.Instance, n)
			for i := range insts {
				insts[i] = server.Instance{ProjectID: "p", Engine: dcs.Engines()[i%2], Status: dcs.Creating,
					Becomes: &server.Transition{Status: dcs.Running, After: time.Duration(i+1) * time.Second}}
			}
			if _, err := s.Add(insts...); err != nil {
				b.Fatal(err)
			}
			h := s.Handler()
			req := httptest.NewRequest(http.MethodGet, "/v2/p/instances/status", nil)
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

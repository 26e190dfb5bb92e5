package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen/admin"
	"github.com/dcskit/dcskit/server"
)

// clocked is a fake on a ManualClock.
func clocked(t *testing.T) (*fake, *server.ManualClock) {
	t.Helper()
	clock := server.NewManualClock(epoch)
	return startHandler(t, server.Options{Clock: clock}), clock
}

func (f *fake) count(st dcs.Status) int32 { return f.Counts("p", true).Total.Get(st) }

// A chain of changes is made on the fake's clock, each change After the
// one before was due, however late the fake looks; the caller's chain is
// not the store's.
func TestTransitionChain(t *testing.T) {
	t.Parallel()
	f, clock := clocked(t)
	chain := &server.Transition{Status: dcs.Running, After: 3 * time.Second,
		Then: &server.Transition{Status: dcs.Restarting, After: 5 * time.Second,
			Then: &server.Transition{Status: dcs.Running, After: time.Second}}}
	added, err := f.Add(server.Instance{ProjectID: "p", ID: "a", Engine: dcs.Redis, Status: dcs.Creating, Becomes: chain})
	require.NoError(t, err)
	assert.Equal(t, chain, added[0].Becomes, "Add returns the instance as given")
	chain.Status = dcs.Error

	for _, step := range []struct {
		advance time.Duration
		want    dcs.Status
		left    time.Duration
	}{
		{2 * time.Second, dcs.Creating, time.Second},
		{time.Second, dcs.Running, 5 * time.Second},
		{4 * time.Second, dcs.Running, time.Second},
		{time.Second, dcs.Restarting, time.Second},
		{time.Second, dcs.Running, 0},
	} {
		clock.Advance(step.advance)
		assert.Equal(t, int32(1), f.count(step.want), "at %s", clock.Now().Sub(epoch))
		if in := f.Instances("p")[0]; step.left > 0 {
			assert.Equal(t, step.left, in.Becomes.After, "the time left")
		} else {
			assert.Nil(t, in.Becomes)
		}
	}

	// One late look makes every change that fell due.
	chain.Status = dcs.Frozen
	require.NoError(t, schedule(f, "a", *chain))
	clock.Advance(time.Hour)
	assert.Equal(t, int32(1), f.count(dcs.Running))
	assert.EqualValues(t, 1, f.Counts("p", false).Redis.Get(dcs.Running))
}

func TestTransitionCancelled(t *testing.T) {
	t.Parallel()
	soon := &server.Transition{Status: dcs.Running, After: time.Second}
	tests := []struct {
		name   string
		change func(*fake) error
		want   map[dcs.Status]int32
	}{
		{"SetStatus", func(f *fake) error { return setStatus(f, "a", dcs.Error) }, map[dcs.Status]int32{dcs.Error: 1, dcs.Running: 1}},
		{"SetStatus to the same", func(f *fake) error { return setStatus(f, "a", dcs.Creating) }, map[dcs.Status]int32{dcs.Creating: 1, dcs.Running: 1}},
		{"Remove", func(f *fake) error { return f.Remove("a") }, map[dcs.Status]int32{dcs.Running: 1}},
		{"Reset", func(f *fake) error { f.Reset(); return nil }, map[dcs.Status]int32{}},
		{"Schedule replaces", func(f *fake) error {
			return schedule(f, "a", server.Transition{Status: dcs.Frozen, After: time.Minute})
		}, map[dcs.Status]int32{dcs.Frozen: 1, dcs.Running: 1}},
		{"LoadFixture replaces", func(f *fake) error {
			return f.LoadFixture("f", strings.NewReader(`{"instances":[{"project_id":"p","engine":"Redis","status":"PAYING"}]}`))
		}, map[dcs.Status]int32{dcs.Paying: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, clock := clocked(t)
			_, err := f.Add(
				server.Instance{ProjectID: "p", ID: "a", Engine: dcs.Redis, Status: dcs.Creating, Becomes: soon},
				server.Instance{ProjectID: "p", ID: "b", Engine: dcs.Redis, Status: dcs.Creating, Becomes: soon},
			)
			require.NoError(t, err)
			require.NoError(t, tt.change(f))
			clock.Advance(time.Minute)
			for _, st := range dcs.Statuses() {
				assert.Equal(t, tt.want[st], f.count(st), st)
			}
		})
	}
}

func TestScheduleRejects(t *testing.T) {
	t.Parallel()
	f, _ := clocked(t)
	_, err := f.Add(server.Instance{ProjectID: "p", ID: "a", Engine: dcs.Redis, Status: dcs.Creating})
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
		{*cyclic, "a chain of more than 100 changes (MaxChain)"},
	} {
		err := schedule(f, "a", tt.t)
		var ie *server.InvalidError
		require.ErrorAs(t, err, &ie)
		assert.ErrorContains(t, err, tt.want)
	}
	assert.ErrorIs(t, schedule(f, "nobody", server.Transition{Status: dcs.Running}), server.ErrNotFound)
	assert.Nil(t, f.Instances("")[0].Becomes, "nothing scheduled")
}

// On the system clock too, a change is made once its time has come.
func TestTransitionOnTheSystemClock(t *testing.T) {
	t.Parallel()
	f := startHandler(t, server.Options{})
	_, err := f.Add(server.Instance{ProjectID: "p", Engine: dcs.Redis, Status: dcs.Creating,
		Becomes: &server.Transition{Status: dcs.Running, After: time.Millisecond}})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return f.count(dcs.Running) == 1 }, 10*time.Second, time.Millisecond)
}

// Queries, changes and the clock moving at once: every count adds up.
func TestTransitionsUnderLoad(t *testing.T) {
	t.Parallel()
	f, clock := clocked(t)
	const n = 200
	insts := make([]server.Instance, n)
	for i := range insts {
		insts[i] = server.Instance{ProjectID: "p", ID: fmt.Sprint(i), Engine: dcs.Engines()[i%2], Status: dcs.Creating,
			Becomes: &server.Transition{Status: dcs.Running, After: time.Duration(i%10) * time.Second}}
	}
	_, err := f.Add(insts...)
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 20 {
			clock.Advance(time.Second)
		}
	})
	wg.Go(func() {
		for i := range n / 2 {
			assert.NoError(t, setStatus(f, fmt.Sprint(2*i), dcs.Error))
		}
	})
	wg.Go(func() {
		for range 100 {
			c := f.Counts("p", true).Total // one answer, which must add up
			assert.Equal(t, int32(n), c.Get(dcs.Creating)+c.Get(dcs.Running)+c.Get(dcs.Error))
		}
	})
	wg.Wait()
	assert.Equal(t, int32(n/2), f.count(dcs.Error))
	assert.Equal(t, int32(n/2), f.count(dcs.Running))
}

func TestFixtureBecomes(t *testing.T) {
	t.Parallel()
	f, clock := clocked(t)
	require.NoError(t, f.LoadFixture("f", strings.NewReader(`{"instances":[
		{"project_id":"p","engine":"Redis","status":"CREATING","count":3,"becomes":{"status":"RUNNING","after":"1m30s"}},
		{"project_id":"p","engine":"Redis","status":"RUNNING","becomes":{"status":"RESTARTING","after":"0s","then":{"status":"RUNNING","after":"10s"}}}
	]}`)))
	insts := f.Instances("p")
	require.Len(t, insts, 4)
	for _, in := range insts[:3] {
		assert.Equal(t, &server.Transition{Status: dcs.Running, After: 90 * time.Second}, in.Becomes)
	}
	assert.Equal(t, int32(1), f.count(dcs.Restarting), "after 0s: at once")
	assert.Equal(t, &server.Transition{Status: dcs.Running, After: 10 * time.Second}, f.Instances("p")[3].Becomes)
	clock.Advance(90 * time.Second)
	assert.Equal(t, int32(4), f.count(dcs.Running))
}

func TestAdminBecomes(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			clock := server.NewManualClock(epoch)
			f := m.start(t, server.Options{Clock: clock})
			added := decode[admin.AddResult](t, f.call(t, http.MethodPost, "/_fake/instances",
				`{"instances":[{"project_id":"p","id":"a","engine":"Redis","status":"CREATING","becomes":{"status":"RUNNING","after":"3s"}}]}`))
			assert.Equal(t, &admin.Transition{Status: "RUNNING", After: "3s"}, added.Instances[0].Becomes)

			clock.Advance(time.Second)
			listed := decode[admin.InstanceList](t, f.call(t, http.MethodGet, "/_fake/instances", ""))
			assert.Equal(t, &admin.Transition{Status: "RUNNING", After: "2s"}, listed.Instances[0].Becomes, "the time left")

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

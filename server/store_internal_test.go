package server

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/dcs"
)

var start = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// chainOf is a chain of n changes, each after step, cycling through the
// statuses.
func chainOf(n int, step time.Duration) *Transition {
	var head *Transition
	for link, i := &head, 0; i < n; link, i = &(*link).Then, i+1 {
		*link = &Transition{Status: dcs.Statuses()[i%len(dcs.Statuses())], After: step}
	}
	return head
}

func newClocked(t *testing.T) (*Server, *ManualClock) {
	t.Helper()
	clock := NewManualClock(start)
	s, err := New(Options{Clock: clock})
	require.NoError(t, err)
	return s, clock
}

// An instance whose 99 changes of 1ns are all due moves once, straight to
// the last, at the first look; the chain, held once for the whole count,
// is released then. Half the chain due stops each at the 50th change,
// with the 51st due 1ns after it.
func TestInstanceJumpsToItsLastDueChange(t *testing.T) {
	t.Parallel()
	s, clock := newClocked(t)
	chain := chainOf(99, time.Nanosecond)
	_, err := s.store.add([]group{{Instance{ProjectID: "p", Engine: dcs.Redis, Status: dcs.Creating, Becomes: chain}, 1000}}, nil)
	require.NoError(t, err)
	assert.Equal(t, 99, s.store.changes, "one copy of the chain for the whole count")
	assert.Len(t, s.store.pending, 1000)

	clock.Advance(time.Second)
	c := s.Counts("p", true)
	assert.EqualValues(t, 1000, c.Total.Get(chainOf(99, 0).last()))
	assert.EqualValues(t, 1000, c.Total.Total())
	assert.Empty(t, s.store.pending)
	assert.Zero(t, s.store.changes)

	_, err = s.store.add([]group{{Instance{ProjectID: "q", Engine: dcs.Redis, Status: dcs.Creating, Becomes: chain}, 3}}, nil)
	require.NoError(t, err)
	clock.Advance(50 * time.Nanosecond)
	assert.EqualValues(t, 3, s.Counts("q", true).Total.Get(chainOf(50, 0).last()))
	for _, r := range s.store.pending {
		assert.Equal(t, clock.Now().Add(time.Nanosecond), r.due)
		assert.Equal(t, 49, r.next.len())
	}
	assert.Equal(t, 99, s.store.changes, "the chain is held while instances are in it")
}

func (t *Transition) last() dcs.Status {
	for t.Then != nil {
		t = t.Then
	}
	return t.Status
}

// Chains count against MaxScheduledChanges while instances are in them,
// whether they end, are replaced, cancelled or removed.
func TestScheduledChangesAreBounded(t *testing.T) {
	t.Parallel()
	s, _ := newClocked(t)
	s.store.maxChanges = 10
	add := func(id string, n int) error {
		_, err := s.Add(Instance{ProjectID: "p", ID: id, Engine: dcs.Redis, Status: dcs.Creating, Becomes: chainOf(n, time.Hour)})
		return err
	}
	require.NoError(t, add("a", 6))
	err := add("b", 5)
	var le *LimitError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, LimitError{Limit: "MaxScheduledChanges", What: "the scheduled changes in the store", Max: 10, Want: 11}, *le)
	assert.Len(t, s.Instances(""), 1, "nothing of it added")
	require.NoError(t, add("b", 4))

	require.ErrorAs(t, s.Schedule("a", *chainOf(7, time.Hour)), &le, "6 + 4 + 7 is over")
	require.NoError(t, s.Schedule("a", *chainOf(2, time.Hour)), "the 6 of a's old chain are released")
	assert.Equal(t, 6, s.store.changes)
	_, err = s.UpdateMatching(Filter{}, nil, chainOf(5, time.Hour))
	require.ErrorAs(t, err, &le, "room for the whole chain first")
	n, err := s.UpdateMatching(Filter{}, nil, chainOf(4, time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.Equal(t, 4, s.store.changes, "one chain for both")
	_, err = s.UpdateMatching(Filter{ProjectID: "nobody"}, nil, chainOf(4, time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 4, s.store.changes, "a chain no instance took is released")

	require.NoError(t, s.SetStatus("b", dcs.Running))
	require.NoError(t, s.Remove("a"))
	assert.Zero(t, s.store.changes, "cancelled and removed")
}

func TestFixtureSizeIsBounded(t *testing.T) {
	t.Parallel()
	s, _ := newClocked(t)
	s.maxFixture = 19
	require.NoError(t, s.LoadFixture("small.json", strings.NewReader(`{"instances": [] } `)))
	err := s.LoadFixture("big.json", strings.NewReader(`{"instances": [ ] } `))
	assert.EqualError(t, err, "fixture big.json: larger than 19 bytes (MaxFixtureSize)")
}

package server

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/dcs"
)

var start = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// chainOf is a chain of n changes, each after step, cycling through the
// statuses; it returns the chain and the status it ends in.
func chainOf(n int, step time.Duration) (*Transition, dcs.Status) {
	var head *Transition
	link := &head
	var last dcs.Status
	for i := range n {
		last = dcs.Statuses()[i%dcs.NumStatuses]
		*link = &Transition{Status: last, After: step}
		link = &(*link).Then
	}
	return head, last
}

// addTo adds g to st at start.
func addTo(st *state, g group) ([]Instance, error) {
	b, err := prepare([]group{g}, start)
	if err != nil {
		return nil, err
	}
	return st.add(b, DefaultMaxInstances)
}

// TestInstanceJumpsToItsLastDueChange: an instance whose 99 changes of
// 1ns are all due moves once, straight to the last of them, and the
// changes it went through are no longer counted against the limit.
func TestInstanceJumpsToItsLastDueChange(t *testing.T) {
	t.Parallel()
	const n = 1000
	st := newState()
	chain, final := chainOf(99, time.Nanosecond)
	_, err := addTo(st, group{Instance: Instance{ProjectID: "p", Engine: dcs.Redis, Status: dcs.Creating, Becomes: chain}, count: n})
	require.NoError(t, err)
	require.Equal(t, 99, st.changes, "one copy of the chain for the whole count")

	assert.Equal(t, n, st.applyDue(start.Add(time.Second), n*100), "one update per instance, not per change")
	assert.Equal(t, int32(n), st.counts("p", true).Total.Get(final))
	assert.Empty(t, st.pending)
	assert.Zero(t, st.changes)

	// Half the chain due: each instance stops at the 50th change, with
	// the 51st due 1ns after it.
	chain, _ = chainOf(99, time.Nanosecond)
	_, err = addTo(st, group{Instance: Instance{ProjectID: "q", Engine: dcs.Redis, Status: dcs.Creating, Becomes: chain}, count: 3})
	require.NoError(t, err)
	assert.Equal(t, 3, st.applyDue(start.Add(50*time.Nanosecond), 100))
	assert.Equal(t, int32(3), st.counts("q", true).Total.Get(dcs.Statuses()[49%dcs.NumStatuses]))
	for _, r := range st.pending {
		assert.Equal(t, start.Add(51*time.Nanosecond), r.due)
		assert.Equal(t, 49, r.next.len())
	}
	assert.Equal(t, 99, st.changes, "the chain is held while instances are in it")
}

// TestCatchUpIsBatched: a hold of the lock moves at most catchUpBatch
// instances; the timer, which fires at once, moves the rest.
func TestCatchUpIsBatched(t *testing.T) {
	t.Parallel()
	st := newState()
	chain, _ := chainOf(3, 0)
	_, err := addTo(st, group{Instance: Instance{ProjectID: "p", Engine: dcs.Redis, Status: dcs.Creating, Becomes: chain}, count: 2*catchUpBatch + 1})
	require.NoError(t, err)
	assert.Equal(t, catchUpBatch, st.applyDue(start, catchUpBatch))
	assert.Equal(t, catchUpBatch, st.applyDue(start, catchUpBatch))
	assert.Equal(t, 1, st.applyDue(start, catchUpBatch))
	assert.Zero(t, st.applyDue(start, catchUpBatch))
}

// TestScheduledChangesAreBounded: chains count against
// MaxScheduledChanges while instances are in them, whether they end,
// are replaced, cancelled or removed.
func TestScheduledChangesAreBounded(t *testing.T) {
	t.Parallel()
	s := newStore(NewManualClock(start), slog.New(slog.DiscardHandler), DefaultMaxInstances)
	s.st.maxChanges = 10
	chain := func(n int) *Transition { c, _ := chainOf(n, time.Hour); return c }
	add := func(id string, n int) error {
		_, err := s.add([]group{{Instance: Instance{ProjectID: "p", ID: id, Engine: dcs.Redis, Status: dcs.Creating, Becomes: chain(n)}, count: 1}})
		return err
	}
	require.NoError(t, add("a", 6))
	err := add("b", 5)
	var le *LimitError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, "MaxScheduledChanges", le.Limit)
	assert.EqualValues(t, 11, le.Want)
	assert.Len(t, s.list(""), 1, "nothing of it added")
	require.NoError(t, add("b", 4))

	_, err = s.update("a", nil, chain(7))
	require.ErrorAs(t, err, &le, "6 + 4 + 7 is over")
	_, err = s.update("a", nil, chain(2))
	require.NoError(t, err, "the 6 of a's old chain are released")
	assert.Equal(t, 6, s.st.changes)

	st := dcs.Running
	_, err = s.update("b", &st, nil)
	require.NoError(t, err)
	require.NoError(t, s.remove("a"))
	assert.Zero(t, s.st.changes, "cancelled and removed")
}

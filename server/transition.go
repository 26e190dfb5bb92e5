package server

import (
	"cmp"
	"container/heap"
	"fmt"
	"strings"
	"time"

	"github.com/dcskit/dcskit/dcs"
)

// Transition is a scheduled change of an instance's status, as moto's
// state manager makes a created resource become available after a while.
type Transition struct {
	Status dcs.Status
	// After is how long until the change: from when it was scheduled,
	// or, in a Then, from the change before it. In an Instance that the
	// Server returns, it is the time left.
	After time.Duration
	// Then, if set, is the next change, which follows this one.
	Then *Transition
}

// checkTransition validates a chain; field is where it sits, such as
// "becomes". The field of a link is only spelled out for an error: a
// fixture's chain is checked for every instance given it.
func checkTransition(t *Transition, field string) *InvalidError {
	at := func(i int, sub string) string { return field + strings.Repeat(".then", i) + sub }
	for i := 0; t != nil; i, t = i+1, t.Then {
		switch {
		case i == MaxChain:
			return &InvalidError{Field: at(i, ""), Err: errChainTooLong}
		case t.Status.Index() < 0:
			e := invalidStatus(t.Status)
			e.Field = at(i, ".status")
			return e
		case t.After < 0:
			return &InvalidError{Field: at(i, ".after"), Err: fmt.Errorf("%v is negative", t.After)}
		}
	}
	return nil
}

// errChainTooLong names the limit, whether the chain comes from Go or
// from JSON.
var errChainTooLong = fmt.Errorf("a chain of more than %d changes (MaxChain)", MaxChain)

// len is the number of changes in the chain.
func (t *Transition) len() int {
	n := 0
	for ; t != nil; t = t.Then {
		n++
	}
	return n
}

// clone copies a chain, so that the store shares no Transition with its
// callers.
func (t *Transition) clone() *Transition {
	if t == nil {
		return nil
	}
	c := *t
	c.Then = t.Then.clone()
	return &c
}

// parseDuration reads the duration at field, as every duration of the
// admin API and of fixtures is written (admin.yaml's Duration).
func parseDuration(s, field string) (time.Duration, *InvalidError) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, &InvalidError{Field: field, Err: fmt.Errorf(`%q is not a duration such as "3s", "1.5s" or "1m30s"`, s)}
	}
	return d, nil
}

// schedule sets r's pending change to t (nil: none), due after t.After
// from now; t is in chain c. The store's lock is held.
func (s *state) schedule(r *record, t *Transition, c *changeChain, now time.Time) {
	if r.chain != c {
		if old := r.chain; old != nil {
			if old.refs--; old.refs == 0 {
				s.changes -= old.changes
			}
		}
		if r.chain = c; c != nil {
			c.refs++
		}
	}
	r.next = t
	if t == nil {
		if r.hidx >= 0 {
			heap.Remove(&s.pending, r.hidx)
		}
		return
	}
	r.due = now.Add(t.After)
	if r.hidx >= 0 {
		heap.Fix(&s.pending, r.hidx)
	} else {
		heap.Push(&s.pending, r)
	}
}

// due reports whether a scheduled change is due by now.
func (s *state) due(now time.Time) bool {
	return len(s.pending) > 0 && !s.pending[0].due.After(now)
}

// applyDue makes the changes due by now, in order of due time, to at
// most limit instances, and returns to how many.
func (s *state) applyDue(now time.Time, limit int) int {
	n := 0
	for ; n < limit && s.due(now); n++ {
		s.step(s.pending[0], now)
	}
	return n
}

// step makes r's changes that are due by now, r's first one at least, in
// one update: an instance whose several changes are all due goes straight
// to the last of them. A chain's next change is due after its After from
// when the previous one was due, not from now: the timeline is the same
// however late the store looks.
func (s *state) step(r *record, now time.Time) {
	t, due := r.next, r.due
	for t.Then != nil && !due.Add(t.Then.After).After(now) {
		t = t.Then
		due = due.Add(t.After)
	}
	s.count(r.Instance, -1)
	r.Status = t.Status
	s.count(r.Instance, 1)
	if t.Then == nil {
		s.schedule(r, nil, nil, due)
		return
	}
	s.schedule(r, t.Then, r.chain, due)
}

// becomes is r's pending change as callers see it: After is the time left.
func (r *record) becomes(now time.Time) *Transition {
	if r.next == nil {
		return nil
	}
	t := r.next.clone()
	t.After = max(r.due.Sub(now), 0)
	return t
}

// pendingHeap orders the records with a pending change by due time, then
// by insertion, so that the next change to make is at index 0 and a query
// costs the same however many are pending.
type pendingHeap []*record

func (h pendingHeap) Len() int { return len(h) }
func (h pendingHeap) Less(i, j int) bool {
	return cmp.Or(h[i].due.Compare(h[j].due), cmp.Compare(h[i].seq, h[j].seq)) < 0
}
func (h pendingHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].hidx, h[j].hidx = i, j
}
func (h *pendingHeap) Push(x any) {
	r := x.(*record)
	r.hidx = len(*h)
	*h = append(*h, r)
}
func (h *pendingHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	r.hidx = -1
	return r
}

// Schedule gives instance id the pending change t, replacing any it had;
// t.After counts from now on the Server's Clock. SetStatus and Remove
// cancel a pending change. A bad t is an *InvalidError.
func (s *Server) Schedule(id string, t Transition) error {
	_, err := s.store.update(id, nil, &t)
	return err
}

package server

import (
	"cmp"
	"container/heap"
	"fmt"
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

// maxChain bounds the length of a chain of Transitions (and so catches a
// cyclic one).
const maxChain = 100

// checkTransition validates a chain; field is where it sits, such as
// "becomes".
func checkTransition(t *Transition, field string) *InvalidError {
	for i := 0; t != nil; i, t, field = i+1, t.Then, field+".then" {
		switch {
		case i == maxChain:
			return &InvalidError{Field: field, Err: fmt.Errorf("a chain of more than %d changes", maxChain)}
		case t.Status.Index() < 0:
			e := invalidStatus(t.Status)
			e.Field = field + ".status"
			return e
		case t.After < 0:
			return &InvalidError{Field: field + ".after", Err: fmt.Errorf("%v is negative", t.After)}
		}
	}
	return nil
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

// parseAfter reads the after of the transition at field.
func parseAfter(s, field string) (time.Duration, *InvalidError) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, &InvalidError{Field: field + ".after", Err: fmt.Errorf(`%q is not a duration such as "3s" or "1m30s"`, s)}
	}
	return d, nil
}

// schedule sets r's pending change to t (nil: none), due after t.After
// from now. The store's lock is held.
func (s *state) schedule(r *record, t *Transition, now time.Time) {
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

// applyDue makes every change due by now, in order of due time, and
// returns how many it made. A chain's next change is due after its After
// from when the previous one was due, not from now: the timeline is the
// same however late the store looks.
func (s *state) applyDue(now time.Time) int {
	n := 0
	for s.due(now) {
		r := s.pending[0]
		s.count(r.Instance, -1)
		r.Status = r.next.Status
		s.count(r.Instance, 1)
		s.schedule(r, r.next.Then, r.due)
		n++
	}
	return n
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

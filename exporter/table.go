package exporter

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// TargetID names a target: one project in one region.
type TargetID struct {
	Region    string
	ProjectID string
}

// entry is a target the exporter remembers, with its cache.
type entry struct {
	id     TargetID
	target *Target
	kind   kind
	elem   *list.Element // in the LRU list, for kind probed
}

// kind is where a target comes from.
type kind int

const (
	// probed targets are those /probe asked for. They are forgotten,
	// least recently asked for first, to make room.
	probed kind = iota
	// configured targets are Options.Targets. They are never forgotten.
	configured
	// listed targets are AllProjects'. They are forgotten once the list
	// no longer has them.
	listed
)

// table is every target the exporter remembers, at most max: the
// configured and listed ones, and as many of those /probe asked for as
// there is room for, the least recently asked for forgotten first. It is safe for concurrent
// use.
type table struct {
	max  int
	make func(id TargetID, account Account, fetch Fetch) (*Target, error)

	mu      sync.Mutex
	closed  bool
	entries map[TargetID]*entry
	lru     list.List // of *entry, most recently used at the front
	evicted atomic.Int64
}

// errFull is /probe's answer when every target the exporter may
// remember is a configured or listed one.
var errFull = errors.New("the exporter remembers as many targets as it may, and all are configured")

func newTable(max int, make func(TargetID, Account, Fetch) (*Target, error)) *table {
	return &table{max: max, make: make, entries: map[TargetID]*entry{}}
}

// get returns the entry of id, making it with account or fetch if it is
// not there. A get of a configured or listed target pins the entry; a
// probed one marks it used, and may forget the least recently used
// probed entry to make room. own says that account or fetch is the
// target's own, not the exporter's default account: it replaces a
// probed entry, which the default account made.
func (t *table) get(id TargetID, account Account, fetch Fetch, k kind, own bool) (*entry, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	static := k != probed
	e, ok := t.entries[id]
	if t.closed {
		if ok {
			return e, nil // its Target answers at once, with the last good counts
		}
		return nil, ErrClosed
	}
	if ok && static && own && e.kind == probed {
		// A target /probe found first through the default account, now
		// configured with an account of its own.
		t.remove(e)
		ok = false
	}
	if ok {
		switch {
		case static && e.kind == probed:
			t.lru.Remove(e.elem)
			e.kind, e.elem = k, nil
		case k == configured:
			e.kind = configured
		case e.kind == probed:
			t.lru.MoveToFront(e.elem)
		}
		return e, nil
	}
	if len(t.entries) >= t.max {
		oldest := t.lru.Back()
		if oldest == nil {
			if !static {
				return nil, errFull
			}
			// Configured and listed targets are bounded where they come
			// from (Options, AllProjects); they are never refused here.
		} else {
			t.remove(oldest.Value.(*entry))
			t.evicted.Add(1)
		}
	}
	target, err := t.make(id, account, fetch)
	if err != nil {
		return nil, fmt.Errorf("region %s, project %s: %w", id.Region, id.ProjectID, err)
	}
	e = &entry{id: id, target: target, kind: k}
	if !static {
		e.elem = t.lru.PushFront(e)
	}
	t.entries[id] = e
	return e, nil
}

// unlist makes every listed entry not in keep a probed one, to be
// forgotten first: the targets of a project list that changed.
func (t *table) unlist(keep map[TargetID]bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, e := range t.entries {
		if e.kind == listed && !keep[id] {
			e.kind = probed
			e.elem = t.lru.PushBack(e)
		}
	}
}

// remove forgets e, cancelling its call in flight; t.mu is held.
func (t *table) remove(e *entry) {
	if e.elem != nil {
		t.lru.Remove(e.elem)
	}
	delete(t.entries, e.id)
	e.target.Close()
}

// counts are how many entries of each kind there are.
func (t *table) counts() map[kind]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := map[kind]int{probed: 0, configured: 0, listed: 0}
	for _, e := range t.entries {
		n[e.kind]++
	}
	return n
}

// find returns the entry of id, if there is one.
func (t *table) find(id TargetID) (*entry, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.entries[id]
	return e, ok
}

// close closes every entry's Target, and refuses new entries.
func (t *table) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	for _, e := range t.entries {
		e.target.Close()
	}
}

// limiter bounds the calls to the API in flight, across every target.
type limiter struct {
	slots   chan struct{}
	waiting atomic.Int64
}

func newLimiter(n int) *limiter { return &limiter{slots: make(chan struct{}, n)} }

// do runs f once a slot is free, or returns ctx's error first.
func (l *limiter) do(ctx context.Context, f func() error) error {
	l.waiting.Add(1)
	select {
	case l.slots <- struct{}{}:
		l.waiting.Add(-1)
	case <-ctx.Done():
		l.waiting.Add(-1)
		return fmt.Errorf("waiting for one of the %d calls in flight to end: %w", cap(l.slots), context.Cause(ctx))
	}
	defer func() { <-l.slots }()
	return f()
}

func (l *limiter) inFlight() int { return len(l.slots) }

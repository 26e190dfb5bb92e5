// Package clock is the time of the fake's scheduled changes and of the
// waits for them: the system's, or a Manual clock that tests move.
package clock

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"
)

// Clock is a source of time with timers, as package time is.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call. *time.Timer is one.
type Timer interface{ Stop() bool }

// System is the real time.
var System Clock = system{}

type system struct{}

func (system) Now() time.Time                            { return time.Now() }
func (system) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Sleep waits d, or less if ctx is done first; it returns ctx.Err().
func Sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
	return ctx.Err()
}

// Manual is a Clock that only Advance moves. It is safe for concurrent use.
type Manual struct {
	advancing sync.Mutex // one Advance at a time: time never goes back
	mu        sync.Mutex
	now       time.Time
	timers    []*timer // by due time, then in the order they were set
}

type timer struct {
	c   *Manual
	due time.Time
	f   func()
}

func NewManual(start time.Time) *Manual { return &Manual{now: start} }

func (c *Manual) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc calls f in the Advance that reaches d from now (d <= 0: the
// next one, even Advance(0)).
func (c *Manual) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &timer{c, c.now.Add(max(d, 0)), f}
	i := sort.Search(len(c.timers), func(i int) bool { return c.timers[i].due.After(t.due) })
	c.timers = slices.Insert(c.timers, i, t)
	return t
}

// Advance moves the clock d forward, calling on the way each func that
// falls due, in order, with the clock at its due time, so that a func may
// set another that falls due within d.
func (c *Manual) Advance(d time.Duration) {
	c.advancing.Lock()
	defer c.advancing.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	end := c.now.Add(max(d, 0))
	for len(c.timers) > 0 && !c.timers[0].due.After(end) {
		t := c.timers[0]
		c.timers, c.now = c.timers[1:], t.due
		c.mu.Unlock()
		t.f()
		c.mu.Lock()
	}
	c.now = end
}

func (t *timer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	n := len(t.c.timers)
	t.c.timers = slices.DeleteFunc(t.c.timers, func(x *timer) bool { return x == t })
	return len(t.c.timers) < n
}

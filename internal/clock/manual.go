package clock

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// Clock is a source of time with timers: the fake's scheduled status
// changes fall due by one, and `dcskit wait` polls and times out by one.
// System is the real time; tests use a Manual clock, so that they move
// time instead of sleeping.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f once d has passed on this clock, unless the
	// Timer is stopped first, as time.AfterFunc does.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call. *time.Timer is one.
type Timer interface {
	// Stop prevents the call and reports whether it did; false means the
	// call has happened or the timer was stopped already.
	Stop() bool
}

// System is the real time.
var System Clock = systemClock{}

type systemClock struct{}

func (systemClock) Now() time.Time                            { return time.Now() }
func (systemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Manual is a Clock that moves only when Advance moves it. It is safe for
// concurrent use.
type Manual struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers []*manualTimer
}

// NewManual returns a Manual clock that reads start until advanced.
func NewManual(start time.Time) *Manual { return &Manual{now: start} }

// Now returns the clock's time.
func (c *Manual) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc registers f to be called by the Advance that reaches d from
// now. A d of zero or less is due at the next Advance, even Advance(0).
func (c *Manual) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &manualTimer{c: c, due: c.now.Add(max(d, 0)), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

// Advance moves the clock d forward. Before it returns, it calls in the
// calling goroutine every func that falls due, earliest first, with the
// clock reading that func's due time; funcs may register more, which run
// too if they fall due within d.
func (c *Manual) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(max(d, 0))
	for {
		i := c.next(end)
		if i < 0 {
			c.set(end)
			c.mu.Unlock()
			return
		}
		t := c.timers[i]
		c.timers = slices.Delete(c.timers, i, i+1)
		c.set(t.due)
		c.mu.Unlock()
		t.f()
		c.mu.Lock()
	}
}

// set moves the clock to t unless a concurrent Advance has gone further:
// time never goes back. c.mu is held.
func (c *Manual) set(t time.Time) {
	if t.After(c.now) {
		c.now = t
	}
}

// next is the index of the earliest timer due by end, or -1. c.mu is
// held. A linear scan: a fake has one timer, a test a handful.
func (c *Manual) next(end time.Time) int {
	best := -1
	for i, t := range c.timers {
		if t.due.After(end) {
			continue
		}
		if best < 0 || cmp.Or(t.due.Compare(c.timers[best].due), cmp.Compare(t.seq, c.timers[best].seq)) < 0 {
			best = i
		}
	}
	return best
}

type manualTimer struct {
	c   *Manual
	due time.Time
	seq uint64
	f   func()
}

func (t *manualTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	i := slices.Index(t.c.timers, t)
	if i < 0 {
		return false
	}
	t.c.timers = slices.Delete(t.c.timers, i, i+1)
	return true
}

package exporter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/dcskit/dcskit/dcs"
)

// ErrClosed is the error of a scrape of a Target that has been closed.
var ErrClosed = errors.New("exporter: shutting down")

// TargetOptions configure a Target. Fetch is required.
type TargetOptions struct {
	// Fetch asks the API for the target's counts.
	Fetch Fetch
	// MinInterval is how long a call's outcome is reused: a Get within it
	// does not call the API. 0 calls it on every Get that finds no call
	// in flight.
	MinInterval time.Duration
	// Timeout bounds one call, retries included. 0 means DefaultTimeout.
	Timeout time.Duration
	// Logger hears of every failed call, once however many scrapes
	// shared it; nil discards. Give it the target's attributes.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Snapshot is what a scrape reports: the last good counts, and how the
// last call went for this scrape.
type Snapshot struct {
	// Counts are the last good counts, kept through failures; nil before
	// the first success.
	Counts *dcs.Counts
	GoodAt time.Time // when Counts arrived
	// OK reports whether the call this scrape got its answer from
	// succeeded: false when it failed, or when the scrape's context
	// ended before it answered.
	OK   bool
	Took time.Duration // how long that call took, or the scrape waited
	Err  error         // why not OK
}

// Target is the cached, shared, cancellable fetch of one target's counts:
// concurrent Gets share one call to the API, whatever MinInterval is; a
// call's outcome is reused for MinInterval; a Get returns when its
// context ends, with the last good counts, without waiting for the API;
// and a call that every Get waiting for it has given up on is cancelled.
// An exporter of many targets keeps one Target per target. It is safe
// for concurrent use.
type Target struct {
	opts TargetOptions
	// ctx is the parent of every call; Close ends it.
	ctx   context.Context
	close context.CancelFunc

	mu        sync.Mutex
	last      Snapshot
	fetchedAt time.Time // when the last call ended; zero before any
	call      *call     // the call in flight, if any
}

// call is one call to the API and the Gets waiting for it.
type call struct {
	start   time.Time
	cancel  context.CancelFunc
	waiters int
	done    chan struct{} // closed when result is set
	result  Snapshot
}

// NewTarget returns a Target, or an error for missing or negative
// options.
func NewTarget(opts TargetOptions) (*Target, error) {
	if opts.Fetch == nil {
		return nil, errors.New("exporter: a Fetch func is required")
	}
	if opts.MinInterval < 0 || opts.Timeout < 0 {
		return nil, errors.New("exporter: intervals must not be negative")
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Target{opts: opts, ctx: ctx, close: cancel}, nil
}

// Get returns the counts for one scrape: the outcome of the last call if
// it is younger than MinInterval; else that of the call in flight, which
// it joins, or of a new one. When ctx ends first, or the Target is
// closed, it returns at once with the last good counts and OK false.
func (t *Target) Get(ctx context.Context) Snapshot {
	t.mu.Lock()
	if err := t.ctx.Err(); err != nil {
		defer t.mu.Unlock()
		return t.failed(t.last, 0, ErrClosed)
	}
	now := t.opts.Now()
	if t.call == nil && !t.fetchedAt.IsZero() && now.Sub(t.fetchedAt) < t.opts.MinInterval {
		defer t.mu.Unlock()
		return t.last
	}
	c := t.call
	if c == nil {
		c = t.start(now)
	}
	c.waiters++
	t.mu.Unlock()

	var cause error
	select {
	case <-c.done:
		return c.result
	case <-ctx.Done():
		cause = fmt.Errorf("the scrape ended before the API answered: %w", context.Cause(ctx))
	case <-t.ctx.Done():
		cause = ErrClosed
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	took := t.opts.Now().Sub(c.start)
	if c.waiters--; c.waiters == 0 && t.call == c {
		t.abandon(c, took)
	}
	return t.failed(t.last, took, cause)
}

// failed is s as a scrape that got no answer sees it.
func (t *Target) failed(s Snapshot, took time.Duration, err error) Snapshot {
	s.OK, s.Took, s.Err = false, took, err
	return s
}

// start begins a call; t.mu is held.
func (t *Target) start(now time.Time) *call {
	ctx, cancel := context.WithTimeout(t.ctx, t.opts.Timeout)
	c := &call{start: now, cancel: cancel, done: make(chan struct{})}
	t.call = c
	go func() {
		counts, err := t.opts.Fetch(ctx)
		cancel()
		t.finish(c, counts, err)
	}()
	return c
}

// finish records the outcome of c, unless c was abandoned, and hands it
// to c's waiters.
func (t *Target) finish(c *call, counts dcs.Counts, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.call == c {
		t.call = nil
		end := t.opts.Now()
		t.fetchedAt = end
		t.last.OK, t.last.Took, t.last.Err = err == nil, end.Sub(c.start), err
		if err == nil {
			t.last.Counts, t.last.GoodAt = &counts, end
		} else {
			// The client's errors carry no secrets; see client.APIError.
			t.opts.Logger.Error("DCS instance status scrape failed", "err", err)
		}
	}
	c.result = t.last
	close(c.done)
}

// abandon cancels c, whose every waiter has gone, and records it as a
// failed call, so that MinInterval holds for a hung API too; t.mu is
// held.
func (t *Target) abandon(c *call, took time.Duration) {
	c.cancel()
	t.call = nil
	t.fetchedAt = t.opts.Now()
	err := fmt.Errorf("call cancelled after %s: every scrape waiting for it had ended", took.Round(time.Millisecond))
	t.last.OK, t.last.Took, t.last.Err = false, took, err
	t.opts.Logger.Error("DCS instance status scrape failed", "err", err)
}

// Close cancels the call in flight, and makes every Get return at once,
// now and from now on. It is idempotent.
func (t *Target) Close() { t.close() }

// Package settle polls DCS instance counts until they settle: no instance
// in a transitional status, or conditions such as running_count>=16 hold.
// It is the logic behind `dcskit wait`.
package settle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/internal/clock"
)

// Condition compares one counter with a number, e.g. running_count>=16,
// or, for one engine, redis.error_count==0.
type Condition struct {
	Engine dcs.Engine // empty: the sum over the engines
	Status dcs.Status
	Op     string // one of >=, <=, ==, !=, >, <
	Value  int64
}

// ops are ordered so that two-character operators match before their
// one-character prefixes.
var ops = []struct {
	op    string
	holds func(n, v int64) bool
}{
	{">=", func(n, v int64) bool { return n >= v }},
	{"<=", func(n, v int64) bool { return n <= v }},
	{"==", func(n, v int64) bool { return n == v }},
	{"!=", func(n, v int64) bool { return n != v }},
	{">", func(n, v int64) bool { return n > v }},
	{"<", func(n, v int64) bool { return n < v }},
}

// ParseCondition parses "[engine.]<status><op><number>", where status is a
// status or its counter in any case (RUNNING, running, running_count) and
// engine is an engine in any case (redis, Redis).
func ParseCondition(s string) (Condition, error) {
	var c Condition
	text := strings.ReplaceAll(s, " ", "")
	i := strings.IndexAny(text, "<>=!")
	if i <= 0 {
		return c, fmt.Errorf("condition %q: want <counter><op><number>, e.g. running_count>=16", s)
	}
	name, rest := text[:i], text[i:]
	for _, o := range ops {
		if c.Op == "" && strings.HasPrefix(rest, o.op) {
			c.Op, rest = o.op, rest[len(o.op):]
		}
	}
	if c.Op == "" {
		return c, fmt.Errorf("condition %q: unknown operator (valid: >= <= == != > <)", s)
	}
	v, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || v < 0 {
		return c, fmt.Errorf("condition %q: %q is not a non-negative whole number", s, rest)
	}
	c.Value = v
	if engine, counter, ok := strings.Cut(name, "."); ok {
		if c.Engine, ok = dcs.LookupEngine(engine); !ok {
			return c, fmt.Errorf("condition %q: unknown engine %q (valid: %s)", s, engine, list(dcs.Engines(), dcs.Engine.Key))
		}
		name = counter
	}
	var ok bool
	if c.Status, ok = dcs.LookupStatus(name); !ok {
		return c, fmt.Errorf("condition %q: unknown counter %q (valid: %s)", s, name, list(dcs.Statuses(), dcs.Status.Counter))
	}
	return c, nil
}

func list[T any](all []T, name func(T) string) string {
	var names []string
	for _, x := range all {
		names = append(names, name(x))
	}
	return strings.Join(names, ", ")
}

// Current is the number the condition compares: one engine's counter,
// or the sum over the engines (not the API's totals, passed on as they
// came).
func (c Condition) Current(counts dcs.Counts) int64 {
	counters := counts.EngineSum()
	if c.Engine != "" {
		counters = counts.Engine(c.Engine)
	}
	return int64(counters.Get(c.Status))
}

func (c Condition) Holds(counts dcs.Counts) bool {
	for _, o := range ops {
		if o.op == c.Op {
			return o.holds(c.Current(counts), c.Value)
		}
	}
	return false
}

func (c Condition) String() string {
	name := c.Status.Counter()
	if c.Engine != "" {
		name = c.Engine.Key() + "." + name
	}
	return name + c.Op + strconv.FormatInt(c.Value, 10)
}

// Poll is what one round of polling saw.
type Poll struct {
	At     time.Time
	Counts dcs.Counts // valid when Err is nil
	Err    error
	Done   bool // the wait is over with this poll
}

// Options configure Wait. Fetch is required.
type Options struct {
	Fetch    func(context.Context) (dcs.Counts, error) // its client retries transient failures
	Interval time.Duration                             // between polls; 0 means 10s
	Timeout  time.Duration                             // if positive, on the clock of Now and Sleep
	// Until lists conditions that must all hold; without any, Wait waits
	// until no instance is in a transitional status.
	Until       []Condition
	FailOnError bool // stop as soon as instances are in a failure status
	// Fatal tells an error that waiting will not mend (bad credentials,
	// say) from one worth another poll. nil: every error ends the wait.
	Fatal    func(error) bool
	Progress func(Poll)
	// The clock: clock.Sleep and time.Now if nil. Tests move a fake one.
	Sleep func(ctx context.Context, d time.Duration) error
	Now   func() time.Time
}

// ErrFailures is returned, wrapped in a *StopError, when FailOnError is set
// and instances are in a failure status.
var ErrFailures = errors.New("instances failed")

// StopError ends a wait that did not settle.
type StopError struct {
	Last    *dcs.Counts // if any poll succeeded
	unmet   []string    // of Last
	Polls   int
	Elapsed time.Duration
	Err     error // context.DeadlineExceeded, the context's cause, ErrFailures or the API error
}

func (e *StopError) Error() string {
	switch {
	case errors.Is(e.Err, context.DeadlineExceeded):
		msg := fmt.Sprintf("timed out after %s and %d polls", e.Elapsed.Round(time.Second), e.Polls)
		if e.Last == nil {
			return msg + " without one successful answer"
		}
		if len(e.unmet) > 0 {
			msg += "; not yet: " + strings.Join(e.unmet, ", ")
		}
		return msg
	case errors.Is(e.Err, ErrFailures):
		return e.Err.Error()
	}
	return fmt.Sprintf("stopped after %d polls: %v", e.Polls, e.Err)
}

func (e *StopError) Unwrap() error { return e.Err }

// Wait polls until the counts settle and returns them. It returns a
// *StopError when ctx ends or the Timeout is over first, when FailOnError
// finds failures, or on an error that Fatal calls fatal.
func Wait(ctx context.Context, opts Options) (dcs.Counts, error) {
	if opts.Fetch == nil {
		return dcs.Counts{}, errors.New("settle: Fetch is required")
	}
	if opts.Interval <= 0 {
		opts.Interval = 10 * time.Second
	}
	if opts.Sleep == nil {
		opts.Sleep = clock.Sleep
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	start := opts.Now()
	deadline := start.Add(opts.Timeout)
	if opts.Timeout > 0 {
		// The same deadline in real time, for a call that hangs.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	var last *dcs.Counts
	stop := func(polls int, err error) error {
		e := &StopError{Last: last, Polls: polls, Elapsed: opts.Now().Sub(start), Err: err}
		if last != nil {
			e.unmet = unmet(*last, opts.Until)
		}
		return e
	}
	for polls := 1; ; polls++ {
		if ctx.Err() != nil {
			return dcs.Counts{}, stop(polls-1, context.Cause(ctx))
		}
		counts, err := opts.Fetch(ctx)
		p := Poll{At: opts.Now(), Counts: counts, Err: err}
		var end error // why the wait ends with this poll, if not settled
		switch {
		case err != nil && ctx.Err() != nil:
			return dcs.Counts{}, stop(polls, context.Cause(ctx))
		case err != nil:
			counts = dcs.Counts{}
			if opts.Fatal == nil || opts.Fatal(err) {
				p.Done, end = true, err
			}
		case opts.FailOnError && counts.EngineSum().Failures() > 0:
			last = &counts
			failed := each(counts, dcs.Status.Failure, func(s dcs.Status, n int32) string { return fmt.Sprintf("%d in %s", n, s) })
			p.Done, end = true, fmt.Errorf("%w: %s", ErrFailures, strings.Join(failed, ", "))
		default:
			last = &counts
			p.Done = len(unmet(counts, opts.Until)) == 0
		}
		if opts.Progress != nil {
			opts.Progress(p)
		}
		switch {
		case end != nil:
			return counts, stop(polls, end)
		case p.Done:
			return counts, nil
		}
		wait := opts.Interval
		if opts.Timeout > 0 {
			wait = min(wait, deadline.Sub(opts.Now()))
		}
		if err := opts.Sleep(ctx, wait); err != nil {
			return dcs.Counts{}, stop(polls, context.Cause(ctx))
		}
		if opts.Timeout > 0 && !opts.Now().Before(deadline) {
			return dcs.Counts{}, stop(polls, context.DeadlineExceeded)
		}
	}
}

// each shows each status that keep keeps and that has instances in c,
// summed over the engines.
func each(c dcs.Counts, keep func(dcs.Status) bool, show func(dcs.Status, int32) string) []string {
	sum := c.EngineSum()
	var out []string
	for _, s := range dcs.Statuses() {
		if n := sum.Get(s); n > 0 && keep(s) {
			out = append(out, show(s, n))
		}
	}
	return out
}

func named(s dcs.Status, n int32) string { return fmt.Sprintf("%s %d", s.Name(), n) }

func settledStatus(s dcs.Status) bool { return !s.Transitional() }

// unmet lists what keeps c from settling: each condition that does not
// hold, or without any the statuses still moving.
func unmet(c dcs.Counts, until []Condition) []string {
	if len(until) == 0 {
		return each(c, dcs.Status.Transitional, named)
	}
	var out []string
	for _, cond := range until {
		if !cond.Holds(c) {
			out = append(out, fmt.Sprintf("%s (is %d)", cond, cond.Current(c)))
		}
	}
	return out
}

// Summary describes counts in one line: what is still moving first, then
// where instances have settled, zeros left out.
func Summary(c dcs.Counts) string {
	moving := strings.Join(each(c, dcs.Status.Transitional, named), ", ")
	settled := strings.Join(each(c, settledStatus, named), ", ")
	switch {
	case moving == "" && settled == "":
		return "no instances"
	case moving == "":
		return "settled: " + settled
	case settled == "":
		return "moving: " + moving
	}
	return "moving: " + moving + "; " + settled
}

// Reporter writes progress: on a terminal, one line rewritten in place;
// elsewhere, one timestamped line per poll. A poll that failed and will be
// tried again keeps its line; the error that ends a wait is left to
// whoever reports the wait's error, so that it is printed once.
type Reporter struct {
	W    io.Writer
	Live bool
	open bool // a live line is on the screen without its newline
}

func (r *Reporter) Report(p Poll) {
	if p.Err != nil && p.Done {
		r.Close()
		return
	}
	line := Summary(p.Counts)
	if p.Err != nil {
		line = "poll failed, trying again: " + p.Err.Error()
	}
	if !r.Live {
		fmt.Fprintf(r.W, "%s %s\n", p.At.UTC().Format(time.RFC3339), line)
		return
	}
	fmt.Fprintf(r.W, "\r\x1b[K%s", line)
	r.open = true
	if p.Done || p.Err != nil {
		r.Close()
	}
}

// Close ends an open live line. Call it however the wait ends.
func (r *Reporter) Close() {
	if r.open {
		fmt.Fprintln(r.W)
		r.open = false
	}
}

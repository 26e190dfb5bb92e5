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
	Engine dcs.Engine // empty: the total over both engines
	Status dcs.Status
	Op     string // one of >=, <=, ==, !=, >, <
	Value  int64
}

// ops is ordered so that two-character operators match before their
// one-character prefixes.
var ops = []string{">=", "<=", "==", "!=", ">", "<"}

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
	for _, op := range ops {
		if strings.HasPrefix(rest, op) {
			c.Op, rest = op, rest[len(op):]
			break
		}
	}
	if c.Op == "" {
		return c, fmt.Errorf("condition %q: unknown operator (valid: %s)", s, strings.Join(ops, " "))
	}
	v, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || v < 0 {
		return c, fmt.Errorf("condition %q: %q is not a non-negative whole number", s, rest)
	}
	c.Value = v
	if engine, counter, ok := strings.Cut(name, "."); ok {
		if c.Engine, ok = dcs.LookupEngine(engine); !ok {
			return c, fmt.Errorf("condition %q: unknown engine %q (valid: %s)", s, engine, engineKeys())
		}
		name = counter
	}
	status, ok := dcs.LookupStatus(name)
	if !ok {
		return c, fmt.Errorf("condition %q: unknown counter %q (valid: %s)", s, name, counterNames())
	}
	c.Status = status
	return c, nil
}

func counterNames() string {
	var names []string
	for _, s := range dcs.Statuses() {
		names = append(names, s.Counter())
	}
	return strings.Join(names, ", ")
}

func engineKeys() string {
	var names []string
	for _, e := range dcs.Engines() {
		names = append(names, e.Key())
	}
	return strings.Join(names, ", ")
}

// Current is the number the condition compares: the counter of one
// engine, or for a condition without an engine the sum over the engines
// (not the API's own totals, which the client passes on as they came).
func (c Condition) Current(counts dcs.Counts) int64 {
	counters := counts.EngineSum()
	if c.Engine != "" {
		counters = counts.Engine(c.Engine)
	}
	return int64(counters.Get(c.Status))
}

// Holds reports whether the condition is true of counts.
func (c Condition) Holds(counts dcs.Counts) bool {
	n := c.Current(counts)
	switch c.Op {
	case ">=":
		return n >= c.Value
	case "<=":
		return n <= c.Value
	case "==":
		return n == c.Value
	case "!=":
		return n != c.Value
	case ">":
		return n > c.Value
	case "<":
		return n < c.Value
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
	// Fetch asks the API for the counts. The client behind it retries
	// transient failures itself.
	Fetch func(context.Context) (dcs.Counts, error)
	// Interval between polls; 0 means 10s.
	Interval time.Duration
	// Until lists conditions that must all hold. Without any, Wait waits
	// until no instance is in a transitional status.
	Until []Condition
	// FailOnError stops the wait as soon as error_count or
	// createfailed_count is above zero.
	FailOnError bool
	// Fatal tells an error that will not go away by waiting (bad
	// credentials, say) from one worth another poll. nil: every error
	// ends the wait.
	Fatal func(error) bool
	// Progress, if set, sees every poll.
	Progress func(Poll)
	// Sleep waits d or until ctx is done; nil uses a timer. Tests replace
	// it to move a fake clock instead of sleeping.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock for Poll.At; nil means time.Now.
	Now func() time.Time
}

// ErrFailures is returned, wrapped in a *StopError, when FailOnError is set
// and instances are in a failure status (ERROR, CREATEFAILED: see
// dcs.Status.Failure).
var ErrFailures = errors.New("instances failed")

// StopError ends a wait that did not settle. Last holds the last counts
// seen, if any poll succeeded, and Unmet what was still wanted of them.
type StopError struct {
	Last    *dcs.Counts
	Unmet   []string // each unmet condition with its current value, or what is still moving
	Polls   int
	Elapsed time.Duration
	Err     error // context.DeadlineExceeded, context.Canceled, ErrFailures or the API error
}

func (e *StopError) Error() string {
	switch {
	case errors.Is(e.Err, context.DeadlineExceeded):
		msg := fmt.Sprintf("timed out after %s and %d polls", e.Elapsed.Round(time.Second), e.Polls)
		if e.Last == nil {
			return msg + " without one successful answer"
		}
		if len(e.Unmet) > 0 {
			msg += "; not yet: " + strings.Join(e.Unmet, ", ")
		}
		return msg
	case errors.Is(e.Err, ErrFailures):
		return e.Err.Error()
	}
	return fmt.Sprintf("stopped after %d polls: %v", e.Polls, e.Err)
}

func (e *StopError) Unwrap() error { return e.Err }

// Wait polls until the counts settle and returns them. It returns a
// *StopError when ctx ends first, when FailOnError finds failures, or on
// an error that Fatal calls fatal.
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
	var last *dcs.Counts
	stop := func(polls int, err error) error {
		e := &StopError{Last: last, Polls: polls, Elapsed: opts.Now().Sub(start), Err: err}
		if last != nil {
			e.Unmet = unmet(*last, opts.Until)
		}
		return e
	}
	for polls := 1; ; polls++ {
		if err := ctx.Err(); err != nil {
			return dcs.Counts{}, stop(polls-1, context.Cause(ctx))
		}
		counts, err := opts.Fetch(ctx)
		p := Poll{At: opts.Now(), Counts: counts, Err: err}
		switch {
		case err != nil && ctx.Err() != nil:
			return dcs.Counts{}, stop(polls, context.Cause(ctx))
		case err != nil && (opts.Fatal == nil || opts.Fatal(err)):
			p.Done = true
			report(opts, p)
			return dcs.Counts{}, stop(polls, err)
		case err == nil:
			last = &counts
			if opts.FailOnError && failures(counts) > 0 {
				p.Done = true
				report(opts, p)
				return counts, stop(polls, fmt.Errorf("%w: %s", ErrFailures, failureSummary(counts)))
			}
			if settled(counts, opts.Until) {
				p.Done = true
				report(opts, p)
				return counts, nil
			}
		}
		report(opts, p)
		if err := opts.Sleep(ctx, opts.Interval); err != nil {
			return dcs.Counts{}, stop(polls, context.Cause(ctx))
		}
	}
}

func report(opts Options, p Poll) {
	if opts.Progress != nil {
		opts.Progress(p)
	}
}

func failures(c dcs.Counts) int64 { return c.EngineSum().Failures() }

// failureSummary lists the failure statuses that have instances, such as
// "2 in ERROR, 1 in CREATEFAILED".
func failureSummary(c dcs.Counts) string {
	sum := c.EngineSum()
	var parts []string
	for i, s := range dcs.Statuses() {
		if s.Failure() && sum[i] > 0 {
			parts = append(parts, fmt.Sprintf("%d in %s", sum[i], s))
		}
	}
	return strings.Join(parts, ", ")
}

// unmet lists what keeps c from settling: each condition that does not
// hold, with its current value, or without conditions the statuses still
// moving.
func unmet(c dcs.Counts, until []Condition) []string {
	var out []string
	if len(until) == 0 {
		sum := c.EngineSum()
		for i, s := range dcs.Statuses() {
			if s.Transitional() && sum[i] > 0 {
				out = append(out, fmt.Sprintf("%s %d", s.Name(), sum[i]))
			}
		}
		return out
	}
	for _, cond := range until {
		if !cond.Holds(c) {
			out = append(out, fmt.Sprintf("%s (is %d)", cond, cond.Current(c)))
		}
	}
	return out
}

func settled(c dcs.Counts, until []Condition) bool {
	if len(until) == 0 {
		return c.EngineSum().Transitional() == 0
	}
	for _, cond := range until {
		if !cond.Holds(c) {
			return false
		}
	}
	return true
}

// Summary describes counts in one line: what is still moving first, then
// where instances have settled, zeros left out.
func Summary(c dcs.Counts) string {
	var moving, settledParts []string
	sum := c.EngineSum()
	for i, s := range dcs.Statuses() {
		n := sum[i]
		if n == 0 {
			continue
		}
		part := fmt.Sprintf("%s %d", s.Name(), n)
		if s.Transitional() {
			moving = append(moving, part)
		} else {
			settledParts = append(settledParts, part)
		}
	}
	switch {
	case len(moving) == 0 && len(settledParts) == 0:
		return "no instances"
	case len(moving) == 0:
		return "settled: " + strings.Join(settledParts, ", ")
	case len(settledParts) == 0:
		return "moving: " + strings.Join(moving, ", ")
	}
	return "moving: " + strings.Join(moving, ", ") + "; " + strings.Join(settledParts, ", ")
}

// Reporter writes progress: on a terminal, one line rewritten in place;
// elsewhere (a CI log, a file), one timestamped line per poll. A failed
// poll that will be tried again gets a line of its own, so that the next
// poll does not overwrite it; the error that ends a wait is not printed
// here, but once, by whoever reports the wait's error.
type Reporter struct {
	W    io.Writer
	Live bool
	open bool // a live line is on the screen without its newline
}

// Report is a Progress func.
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
	// \r and "erase line" keep the summary on one line.
	fmt.Fprintf(r.W, "\r\x1b[K%s", line)
	r.open = true
	if p.Done || p.Err != nil {
		r.Close()
	}
}

// Close ends the live line, if one is open, so that whatever is printed
// next starts on a line of its own. Call it however the wait ends.
func (r *Reporter) Close() {
	if r.open {
		fmt.Fprintln(r.W)
		r.open = false
	}
}

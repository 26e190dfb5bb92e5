package exporter

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/internal/clock"
)

// targetID names a target: one project in one region.
type targetID struct{ region, projectID string }

// target is one target and its latest results, in constant memory.
type target struct {
	Spec
	client *client.Client // made once the project is known
	due    time.Time      // of Run's next refresh
	busy   bool           // Run's refresh is under way
	pass   int            // of Run's last refresh

	counts    dcs.Counts
	goodAt    time.Time // when counts arrived; zero before any success
	ok        bool      // the last call succeeded
	err       error     // why not
	took      time.Duration
	fetchedAt time.Time // when the last call ended
}

func (s Spec) id() targetID { return targetID{s.Region, s.ProjectID} }

// Run refreshes the configured and listed targets until ctx ends, and
// for AllProjects lists the projects every ProjectsInterval after the
// last Discover. Nothing is fresh at first, so the first pass calls for
// every target as fast as MaxInFlight and Rate allow; then each target
// falls due RefreshInterval, less up to a tenth, after its last call
// ended, which spreads the calls over the interval. No call ends because
// a scrape did. When ctx ends, Run cancels every call in flight, /probe's
// too, and returns.
func (e *Exporter) Run(ctx context.Context) {
	context.AfterFunc(ctx, e.cancel)
	if e.opts.AllProjects {
		go e.discoverEvery()
	}
	e.mu.Lock()
	e.passStart = time.Now()
	e.endPass()
	e.mu.Unlock()
	for {
		release, err := e.admit(e.ctx)
		if err != nil {
			return
		}
		e.mu.Lock()
		var next *target // the most overdue
		for _, t := range e.targets {
			if !t.busy && (next == nil || t.due.Before(next.due)) {
				next = t
			}
		}
		wait := e.opts.RefreshInterval * 9 / 10 // all busy: none falls due sooner
		if next != nil {
			wait = time.Until(next.due)
			next.busy = wait <= 0
		}
		e.mu.Unlock()
		if wait <= 0 {
			go func() {
				defer release()
				ctx, cancel := context.WithTimeout(e.ctx, e.opts.Timeout)
				defer cancel()
				e.refresh(ctx, next, false)
			}()
			continue
		}
		release()
		_ = clock.Sleep(e.ctx, wait) // a new listed target waits too, visible as never fetched
	}
}

// refresh calls the API for t, its project found first if it has none,
// and records the outcome. A probe's call has yet to get one of
// MaxInFlight, and is no part of Run's passes.
func (e *Exporter) refresh(ctx context.Context, t *target, probe bool) {
	start := time.Now()
	e.mu.Lock()
	s, c := t.Spec, t.client
	e.mu.Unlock()
	var st client.Status
	err := e.call(ctx, probe, func(ctx context.Context) (err error) {
		if s.ProjectID == "" {
			if s.ProjectID, err = s.Account.iam.ProjectID(ctx, s.Region); err != nil {
				return fmt.Errorf("finding the project of region %s: %w", s.Region, err)
			}
		}
		if c == nil {
			if c, err = s.Account.client(s.Region, s.ProjectID); err != nil {
				return err
			}
		}
		// Failed creations count, as in every command of dcskit but status.
		st, err = c.InstanceStatus(ctx, client.IncludeFailure())
		return err
	})
	end := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	t.ProjectID, t.client = s.ProjectID, c
	t.busy, t.ok, t.err, t.took, t.fetchedAt = false, err == nil, err, end.Sub(start), end
	t.due = end.Add(e.opts.RefreshInterval - rand.N(e.opts.RefreshInterval/10+1))
	if err != nil {
		// The client's errors carry no secrets; see client.APIError.
		e.opts.Logger.Error("DCS instance status scrape failed", labelProjectID, s.ProjectID, labelRegion, s.Region, "err", err)
	} else if t.counts, t.goodAt = st.Counts, end; !end.Before(e.pausedUntil) {
		e.backoff = 0
	}
	if !probe {
		t.pass = e.passN
		e.endPass()
	}
}

// endPass counts the targets refreshed in this pass, and starts the next
// once each has been; e.mu is held.
func (e *Exporter) endPass() {
	e.passDone = 0
	for _, t := range e.targets {
		if t.pass == e.passN {
			e.passDone++
		}
	}
	if e.passDone < len(e.targets) || e.opts.AllProjects && e.listedAt.IsZero() {
		return
	}
	now := time.Now()
	e.passN, e.passDone, e.passStart, e.passLast = e.passN+1, 0, now, now.Sub(e.passStart)
	select {
	case <-e.ready:
	default:
		close(e.ready)
	}
}

// call runs f, admitted first unless Run did, with a context through
// which the account's client pauses every call (see checkRetry). A 429
// or 503 pauses them too.
func (e *Exporter) call(ctx context.Context, admit bool, f func(context.Context) error) error {
	if admit {
		release, err := e.admit(ctx)
		if err != nil {
			return err
		}
		defer release()
	}
	err := f(context.WithValue(ctx, pauseKey{}, e.pause))
	if ae, ok := errors.AsType[*client.APIError](err); ok && slowDown(ae.StatusCode) {
		e.pause(0)
	}
	return err
}

func slowDown(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
}

// admit waits, within ctx, until no pause holds, Rate allows one more
// call, and one of MaxInFlight is free; release frees that one.
func (e *Exporter) admit(ctx context.Context) (release func(), err error) {
	e.mu.Lock()
	paused := time.Until(e.pausedUntil)
	e.mu.Unlock()
	if err := clock.Sleep(ctx, paused); err != nil {
		return nil, fmt.Errorf("the API asked to slow down: %w", err)
	}
	if err := e.rate.Wait(ctx); err != nil {
		return nil, fmt.Errorf("--rate: %w", err)
	}
	select {
	case e.slots <- struct{}{}:
		return func() { <-e.slots }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for one of the %d calls in flight to end: %w", cap(e.slots), context.Cause(ctx))
	}
}

// pause stops every call from starting, after a 429 or 503: for after,
// the Retry-After the API sent, or else for a backoff that doubles from
// 1s while the API keeps asking; at most a minute, as the client's
// retries wait. A success after the pause resets the backoff.
func (e *Exporter) pause(after time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	if now.Before(e.pausedUntil) {
		return // calls in flight together slow down once, and a pause never grows
	}
	e.backoff = min(max(2*e.backoff, time.Second), time.Minute)
	d := min(cmp.Or(after, e.backoff), time.Minute)
	e.pausedUntil = now.Add(d)
	e.opts.Logger.Warn("the API asks to slow down: no call starts for a while", "for", d)
}

// discoverEvery lists the projects every ProjectsInterval until Run ends.
func (e *Exporter) discoverEvery() {
	for {
		e.mu.Lock()
		next := e.listedAt.Add(e.opts.ProjectsInterval)
		e.mu.Unlock()
		if clock.Sleep(e.ctx, time.Until(next)) != nil {
			return
		}
		ctx, cancel := context.WithTimeout(e.ctx, e.opts.Timeout)
		_ = e.Discover(ctx) // logged; the last good list stays
		cancel()
	}
}

// Discover lists the projects of the Account, for AllProjects: every
// enabled project named after a region (cn-north-4, or cn-north-4_dev
// for a subproject) is a target, the first MaxTargets less len(Targets)
// of them by name. A project no longer listed is dropped, a new one
// refreshed first; on failure the list stays. Run calls it every
// ProjectsInterval; call it before Run to check the credentials.
func (e *Exporter) Discover(ctx context.Context) error {
	if !e.opts.AllProjects {
		return nil
	}
	var projects []client.Project
	err := e.call(ctx, true, func(ctx context.Context) (err error) {
		projects, err = e.opts.Account.iam.Projects(ctx)
		return err
	})
	e.mu.Lock()
	defer e.mu.Unlock()
	e.listedAt, e.listErr = time.Now(), err
	if err != nil {
		e.opts.Logger.Error("listing the projects failed; the last list stays", "err", err)
		return err
	}
	slices.SortFunc(projects, func(a, b client.Project) int { return strings.Compare(a.Name+"\x00"+a.ID, b.Name+"\x00"+b.ID) })
	n := len(e.opts.Targets)
	held := map[targetID]*target{}
	for _, t := range e.targets[n:] {
		held[t.id()] = t
	}
	e.targets = e.targets[:n:n]
	for _, p := range projects {
		region, ok := projectRegion(p.Name)
		if !ok || !p.Enabled || !dcs.ValidProjectID(p.ID) {
			continue
		}
		if len(e.targets) == e.opts.MaxTargets {
			e.opts.Logger.Error("more projects than --max-targets; the rest are left out", "max_targets", e.opts.MaxTargets)
			break
		}
		t := held[targetID{region, p.ID}]
		if t == nil {
			t = &target{Spec: Spec{Region: region, ProjectID: p.ID, Account: e.opts.Account}}
		}
		e.targets = append(e.targets, t)
	}
	e.endPass()
	return nil
}

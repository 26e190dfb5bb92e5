package server

import (
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dcskit/dcskit/dcs"
)

// Instance is one DCS cache instance of the fake.
type Instance struct {
	ProjectID string
	ID        string
	Name      string
	Engine    dcs.Engine
	Status    dcs.Status
	// Becomes, if set, is a change of Status to come (see Transition).
	Becomes *Transition
}

var (
	// ErrNotFound: no instance has the given id.
	ErrNotFound = errors.New("no such instance")
	// ErrExists: an instance with the given id is already there.
	ErrExists = errors.New("instance id already exists")
)

// InvalidError rejects one instance (or fixture entry) and says which
// field is wrong and, when there is a short list, what would be right.
type InvalidError struct {
	Index int      // position in the Add call or the fixture's "instances"; -1 if not about one entry
	Field string   // JSON name of the field, such as "engine"
	Valid []string // the accepted values, when there is a fixed set
	Err   error
}

func (e *InvalidError) Error() string {
	where := e.Field
	if e.Index >= 0 {
		where = fmt.Sprintf("instances[%d]", e.Index)
		if e.Field != "" {
			where += "." + e.Field
		}
	}
	msg := e.Err.Error()
	if where != "" {
		msg = where + ": " + msg
	}
	if len(e.Valid) > 0 {
		msg += " (valid: " + strings.Join(e.Valid, ", ") + ")"
	}
	return msg
}

func (e *InvalidError) Unwrap() error { return e.Err }

// validProjectID is the project_id rule of the fake: 1 to 64 letters,
// digits, '-' and '_'. It is applied to the escaped form of a path, so
// anything that needs escaping fails it.
func validProjectID(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
		if !ok {
			return false
		}
	}
	return true
}

const projectIDRule = "1 to 64 letters, digits, '-' or '_'"

// checkInstance returns the field at fault and why; index is filled in by
// the caller.
func checkInstance(in Instance) *InvalidError {
	switch {
	case in.ProjectID == "":
		return &InvalidError{Field: "project_id", Err: errors.New("missing")}
	case !validProjectID(in.ProjectID):
		return &InvalidError{Field: "project_id", Err: fmt.Errorf("%q is not %s", in.ProjectID, projectIDRule)}
	case engineIndex(in.Engine) < 0:
		return &InvalidError{Field: "engine", Valid: names(dcs.Engines()), Err: fmt.Errorf("unknown engine %q", in.Engine)}
	case in.Status.Index() < 0:
		return invalidStatus(in.Status)
	}
	return checkTransition(in.Becomes, "becomes")
}

func invalidStatus(st dcs.Status) *InvalidError {
	return &InvalidError{Field: "status", Valid: names(dcs.Statuses()), Err: fmt.Errorf("unknown status %q", st)}
}

func engineIndex(e dcs.Engine) int { return e.Index() }

// state is the fake's data. It does no locking; store does.
type state struct {
	byID map[string]*record
	// counters holds, per project, one dcs.Counters per engine (indexed
	// like dcs.Engines()), updated on every change so that a query costs the
	// same however many instances there are.
	counters map[string]*[dcs.NumEngines]dcs.Counters
	seq      uint64
	// pending holds the records with a scheduled change, next due first.
	pending pendingHeap
}

// record is an instance as stored: its Becomes is always nil, next and
// due say what is to come.
type record struct {
	Instance
	seq  uint64      // insertion order, for stable listings
	next *Transition // the pending change, nil if none; never shared with callers
	due  time.Time   // when next is due
	hidx int         // index in state.pending, -1 if not there
}

func newState() *state {
	return &state{byID: map[string]*record{}, counters: map[string]*[2]dcs.Counters{}}
}

func (s *state) count(in Instance, delta int32) {
	c := s.counters[in.ProjectID]
	if c == nil {
		c = new([dcs.NumEngines]dcs.Counters)
		s.counters[in.ProjectID] = c
	}
	c[engineIndex(in.Engine)][in.Status.Index()] += delta
}

// add inserts all of insts or none of them; their changes are due from
// now.
func (s *state) add(insts []Instance, now time.Time) ([]Instance, error) {
	out := slices.Clone(insts)
	seen := make(map[string]bool, len(out))
	for i := range out {
		in := &out[i]
		if e := checkInstance(*in); e != nil {
			e.Index = i
			return nil, e
		}
		if in.ID == "" {
			in.ID = newID()
		}
		if s.byID[in.ID] != nil || seen[in.ID] {
			// The id names the entry better than an index would, which
			// for a fixture counts expanded entries.
			return nil, &InvalidError{Index: -1, Field: "id", Err: fmt.Errorf("%q: %w", in.ID, ErrExists)}
		}
		seen[in.ID] = true
		if in.Name == "" {
			in.Name = "dcs-" + in.ID[:min(8, len(in.ID))]
		}
	}
	// A fixture's count shares one chain among its instances; so may the
	// store, as long as it is not the caller's.
	chains := map[*Transition]*Transition{}
	for _, in := range out {
		s.seq++
		r := &record{Instance: in, seq: s.seq, hidx: -1}
		r.Becomes = nil
		s.byID[in.ID] = r
		s.count(in, 1)
		if in.Becomes != nil {
			c, ok := chains[in.Becomes]
			if !ok {
				c = in.Becomes.clone()
				chains[in.Becomes] = c
			}
			s.schedule(r, c, now)
		}
	}
	return out, nil
}

func (s *state) counts(projectID string, includeFailure bool) dcs.Counts {
	var out dcs.Counts
	if c := s.counters[projectID]; c != nil {
		for i, counters := range out.PerEngine() {
			*counters = c[i]
			if !includeFailure {
				counters[dcs.CreateFailed.Index()] = 0
			}
		}
	}
	out.Total = out.EngineSum()
	return out
}

// store makes state safe for concurrent use, and makes scheduled changes
// on time: lazily, under the lock, before anything reads or writes the
// state, and with a timer on the clock for the next one due, so that the
// counters move without any request.
type store struct {
	clock Clock
	log   *slog.Logger

	mu sync.RWMutex
	st *state
	// timer wakes the store when the next change falls due; gen tells
	// the current one from a stale one firing late.
	timer    Timer
	timerDue time.Time
	gen      uint64
	stopped  bool // no more timers: the server is shut down
}

func newStore(clock Clock, log *slog.Logger) *store {
	return &store{clock: clock, log: log, st: newState()}
}

// lock takes the write lock and makes the changes that are due.
func (s *store) lock() {
	s.mu.Lock()
	if s.st.due(s.clock.Now()) {
		s.catchUp()
	}
}

// unlock arms the timer for what is now pending and releases the lock.
func (s *store) unlock() {
	s.arm()
	s.mu.Unlock()
}

// rlock takes the read lock with no change due, so that a read costs no
// more than a map lookup when nothing is pending.
func (s *store) rlock() {
	s.mu.RLock()
	if len(s.st.pending) == 0 || !s.st.due(s.clock.Now()) {
		return
	}
	s.mu.RUnlock()
	s.lock()
	s.unlock()
	s.mu.RLock() // a change falling due in between waits for the next read
}

// catchUp makes the changes that are due; s.mu is held.
func (s *store) catchUp() {
	if n := s.st.applyDue(s.clock.Now()); n > 0 {
		s.log.Info("scheduled status changes made", "changes", n)
	}
}

// arm keeps one timer for the next change due; s.mu is held.
func (s *store) arm() {
	var due time.Time
	pending := len(s.st.pending) > 0 && !s.stopped
	if pending {
		due = s.st.pending[0].due
		if s.timer != nil && due.Equal(s.timerDue) {
			return
		}
	}
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	if !pending {
		return
	}
	s.gen++
	gen := s.gen
	s.timer, s.timerDue = s.clock.AfterFunc(due.Sub(s.clock.Now()), func() { s.wake(gen) }), due
}

// wake is the timer's call.
func (s *store) wake(gen uint64) {
	s.mu.Lock()
	if gen == s.gen {
		s.timer = nil // it has fired
	}
	s.catchUp()
	s.unlock()
}

// stop stops the timer for good; changes are still made when read.
func (s *store) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	s.arm()
}

func (s *store) add(insts []Instance) ([]Instance, error) {
	s.lock()
	defer s.unlock()
	return s.st.add(insts, s.clock.Now())
}

// replace swaps in a state built from insts, so that a bad batch leaves
// the current one in place.
func (s *store) replace(insts []Instance) ([]Instance, error) {
	fresh := newState()
	out, err := fresh.add(insts, s.clock.Now())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.unlock()
	s.st = fresh
	return out, nil
}

// update sets id's status, if status is set, cancelling any pending
// change; then schedules becomes, if set, replacing any pending change.
func (s *store) update(id string, status *dcs.Status, becomes *Transition) (Instance, error) {
	if status != nil && status.Index() < 0 {
		return Instance{}, invalidStatus(*status)
	}
	if e := checkTransition(becomes, "becomes"); e != nil {
		e.Index = -1
		return Instance{}, e
	}
	s.lock()
	defer s.unlock()
	r := s.st.byID[id]
	if r == nil {
		return Instance{}, fmt.Errorf("instance %q: %w", id, ErrNotFound)
	}
	now := s.clock.Now()
	if status != nil {
		s.st.schedule(r, nil, now)
		s.st.count(r.Instance, -1)
		r.Status = *status
		s.st.count(r.Instance, 1)
	}
	if becomes != nil {
		s.st.schedule(r, becomes.clone(), now)
	}
	in := r.Instance
	in.Becomes = r.becomes(now)
	return in, nil
}

func (s *store) remove(id string) error {
	s.lock()
	defer s.unlock()
	r := s.st.byID[id]
	if r == nil {
		return fmt.Errorf("instance %q: %w", id, ErrNotFound)
	}
	s.st.schedule(r, nil, s.clock.Now())
	s.st.count(r.Instance, -1)
	delete(s.st.byID, id)
	return nil
}

func (s *store) reset() {
	s.mu.Lock()
	defer s.unlock()
	s.st = newState()
}

// list returns projectID's instances, or every instance for "", in the
// order they were added.
func (s *store) list(projectID string) []Instance {
	s.rlock()
	now := s.clock.Now()
	recs := make([]record, 0, len(s.st.byID))
	for _, r := range s.st.byID {
		if projectID == "" || r.ProjectID == projectID {
			recs = append(recs, *r)
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(recs, func(a, b record) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]Instance, len(recs))
	for i, r := range recs {
		out[i] = r.Instance
		out[i].Becomes = r.becomes(now)
	}
	return out
}

func (s *store) counts(projectID string, includeFailure bool) dcs.Counts {
	s.rlock()
	defer s.mu.RUnlock()
	return s.st.counts(projectID, includeFailure)
}

// newID makes a random UUID (version 4), the form of real DCS instance ids.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func names[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

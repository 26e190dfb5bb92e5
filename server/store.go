package server

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

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

// validName: at most MaxNameLength characters, none of them a control
// character, so that a name prints on one line.
func validName(s string) bool {
	if utf8.RuneCountInString(s) > MaxNameLength || !utf8.ValidString(s) {
		return false
	}
	return !strings.ContainsFunc(s, unicode.IsControl)
}

const nameRule = "at most 64 characters, none of them a control character"

// checkInstance returns the field at fault and why; index is filled in by
// the caller.
func checkInstance(in Instance) *InvalidError {
	switch {
	case in.ProjectID == "":
		return &InvalidError{Field: "project_id", Err: errors.New("missing")}
	case !dcs.ValidProjectID(in.ProjectID):
		return &InvalidError{Field: "project_id", Err: fmt.Errorf("%q is not %s", truncate(in.ProjectID, 80), dcs.ProjectIDRule)}
	case in.ID != "" && !dcs.ValidProjectID(in.ID):
		return &InvalidError{Field: "id", Err: fmt.Errorf("%q is not %s", truncate(in.ID, 80), dcs.ProjectIDRule)}
	case !validName(in.Name):
		return &InvalidError{Field: "name", Err: fmt.Errorf("%q is not %s", truncate(in.Name, 80), nameRule)}
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
	// order holds the records in the order they were added, so that a
	// listing pages without sorting; removed ones stay until compact.
	order   []*record
	removed int // removed records still in order
	// changes is the length of every chain some record is still in, at
	// most maxChanges (MaxScheduledChanges; tests lower it).
	changes, maxChanges int
}

// record is an instance as stored: its Becomes is always nil, next and
// due say what is to come.
type record struct {
	Instance
	seq   uint64       // insertion order, for stable listings
	next  *Transition  // the pending change, nil if none; never shared with callers
	chain *changeChain // the chain next is in, nil if none
	due   time.Time    // when next is due
	hidx  int          // index in state.pending, -1 if not there
	gone  bool         // removed, but still in state.order
}

// changeChain is one copy of a chain of changes, shared by the records of one
// fixture entry or one Transition given to Add, and counted once
// against MaxScheduledChanges while any of them is in it.
type changeChain struct {
	changes int // its length
	refs    int // records in it
}

func newState() *state {
	return &state{byID: map[string]*record{}, counters: map[string]*[2]dcs.Counters{}, maxChanges: MaxScheduledChanges}
}

func (s *state) count(in Instance, delta int32) {
	c := s.counters[in.ProjectID]
	if c == nil {
		c = new([dcs.NumEngines]dcs.Counters)
		s.counters[in.ProjectID] = c
	}
	c[engineIndex(in.Engine)][in.Status.Index()] += delta
}

// group is what one fixture entry stands for: count instances alike but
// for their ID and Name. An ID is only given with a count of 1.
type group struct {
	Instance
	count int
}

// batch is an add made ready outside the store's lock: checked as far as
// it can be without the store, its records built, so that the lock is
// held only to check what depends on the store and to insert.
type batch struct {
	now     time.Time // its changes are due from then
	parts   []part    // one per group
	total   int
	changes int // in the chains it copied
}

// part is one group's records, all given the same chain.
type part struct {
	recs  []*record
	chain *copied // nil for none
	// becomes is the caller's chain, for the instance add returns.
	becomes *Transition
}

// copied is a caller's chain as the store holds it.
type copied struct {
	t *Transition
	c *changeChain
}

// prepare checks groups and builds their records; it needs no lock.
// Going past MaxCount is checked here, MaxInstances by the caller first,
// so that nothing is allocated for a request over the limits.
func prepare(groups []group, now time.Time) (*batch, error) {
	b := &batch{now: now, parts: make([]part, len(groups))}
	given := map[string]bool{}
	// A group, or a Transition given to several instances, shares one
	// copy: the store shares nothing with its callers.
	copies := map[*Transition]*copied{}
	for i, g := range groups {
		in := g.Instance
		if _, checked := copies[in.Becomes]; checked {
			in.Becomes = nil // a chain given to many is checked once
		}
		ie := checkInstance(in)
		switch {
		case ie != nil:
		case g.count < 1 || g.count > MaxCount:
			ie = &InvalidError{Field: "count", Err: fmt.Errorf("%d is out of range 1 to %d", g.count, MaxCount)}
		case g.ID != "" && g.count > 1:
			ie = &InvalidError{Field: "id", Err: errors.New("an entry with an id must have count 1")}
		case given[g.ID]:
			ie = &InvalidError{Field: "id", Err: fmt.Errorf("%q: %w", g.ID, ErrExists)}
		}
		if ie != nil {
			ie.Index = i
			return nil, ie
		}
		if g.ID != "" {
			given[g.ID] = true
		}
		if g.Becomes != nil && copies[g.Becomes] == nil {
			t := g.Becomes.clone()
			copies[g.Becomes] = &copied{t, &changeChain{changes: t.len()}}
			b.changes += t.len()
		}
		b.total += g.count
	}
	for i, g := range groups {
		p := part{recs: make([]*record, g.count), chain: copies[g.Becomes], becomes: g.Becomes}
		for k := range p.recs {
			in := g.Instance
			in.Becomes = nil
			if in.ID == "" {
				in.ID = newID()
			}
			switch {
			case in.Name == "":
				in.Name = "dcs-" + in.ID[:min(8, len(in.ID))]
			case g.count > 1:
				in.Name += "-" + strconv.Itoa(k+1)
			}
			p.recs[k] = &record{Instance: in, hidx: -1}
		}
		b.parts[i] = p
	}
	return b, nil
}

// add inserts every instance of b or none of them, at most max in the
// store, and returns the first instance of each group, as added.
func (s *state) add(b *batch, max int) ([]Instance, error) {
	if err := s.check(b, max); err != nil {
		return nil, err
	}
	for _, p := range b.parts {
		s.insert(p, p.recs, b.now)
	}
	return s.publish(b), nil
}

// check is what of an add depends on the store: its limits, and ids in
// use.
func (s *state) check(b *batch, max int) error {
	if err := s.checkInstances(int64(b.total), max); err != nil {
		return err
	}
	if err := s.checkChanges(b.changes); err != nil {
		return err
	}
	for i, p := range b.parts {
		// Only a given id can be in use: a generated one is checked
		// as it goes in.
		if len(p.recs) == 1 && s.byID[p.recs[0].ID] != nil {
			return &InvalidError{Index: i, Field: "id", Err: fmt.Errorf("%q: %w", p.recs[0].ID, ErrExists)}
		}
	}
	s.changes += b.changes
	return nil
}

// insert puts recs, of part p, in the store, uncounted: a query does not
// see them until publish.
func (s *state) insert(p part, recs []*record, now time.Time) {
	for _, r := range recs {
		for s.byID[r.ID] != nil { // a UUID drawn twice, at 2^-122
			r.ID = newID()
		}
		s.seq++
		r.seq = s.seq
		s.byID[r.ID] = r
		s.order = append(s.order, r)
		if p.chain != nil {
			s.schedule(r, p.chain.t, p.chain.c, now)
		}
	}
}

// publish counts the instances of b, inserted, at once, and returns the
// first instance of each group. An instance of b cannot change before it
// is counted: changes wait for the writers' lock.
func (s *state) publish(b *batch) []Instance {
	out := make([]Instance, len(b.parts))
	for i, p := range b.parts {
		s.count(p.recs[0].Instance, int32(len(p.recs)))
		out[i] = p.recs[0].Instance
		out[i].Becomes = p.becomes
	}
	return out
}

// checkInstances refuses n more instances past max.
func (s *state) checkInstances(n int64, max int) error {
	if want := int64(len(s.byID)) + n; want > int64(max) {
		return &LimitError{Limit: "MaxInstances", What: "the instances in the store", Max: int64(max), Want: want}
	}
	return nil
}

// checkChanges refuses n more scheduled changes past maxChanges.
func (s *state) checkChanges(n int) error {
	if want := s.changes + n; want > s.maxChanges {
		return &LimitError{Limit: "MaxScheduledChanges", What: "the scheduled changes in the store", Max: int64(s.maxChanges), Want: int64(want)}
	}
	return nil
}

// remove takes r out of the store.
func (s *state) remove(r *record, now time.Time) {
	s.schedule(r, nil, nil, now)
	s.count(r.Instance, -1)
	delete(s.byID, r.ID)
	r.gone = true
	s.removed++
	// Compacting when half is gone keeps a removal O(1), amortised.
	if s.removed > len(s.order)/2 {
		s.order = slices.DeleteFunc(s.order, func(r *record) bool { return r.gone })
		s.removed = 0
	}
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
// on time: with a timer on the clock for the next one due, so that the
// counters move without any request, and before anything reads or writes
// the state. Either way a hold of the lock moves at most catchUpBatch
// instances, and the timer comes back at once for the rest, so that a
// burst of due changes never stalls a query.
type store struct {
	clock Clock
	log   *slog.Logger
	max   int // instances at most

	// wmu serialises writers, who hold it throughout; mu guards what
	// readers see, and a writer holds it only for short spells, so that
	// a big add never stalls a query (see add).
	wmu sync.Mutex
	mu  sync.RWMutex
	st  *state
	// timer wakes the store when the next change falls due; gen tells
	// the current one from a stale one firing late.
	timer    Timer
	timerDue time.Time
	gen      uint64
	stopped  bool // no more timers: the server is shut down
}

func newStore(clock Clock, log *slog.Logger, max int) *store {
	return &store{clock: clock, log: log, max: max, st: newState()}
}

// lock takes both locks and makes a batch of the changes that are due.
func (s *store) lock() {
	s.wmu.Lock()
	s.mu.Lock()
	if s.st.due(s.clock.Now()) {
		s.catchUp()
	}
}

// unlock arms the timer for what is now pending and releases both locks.
func (s *store) unlock() {
	s.arm()
	s.mu.Unlock()
	s.wmu.Unlock()
}

// rlock takes the read lock after making a batch of the changes due, if
// any, so that a read costs no more than a map lookup when nothing is
// pending, and never waits for a whole burst of changes. A writer at
// work leaves them to the timer, which fires as it finishes.
func (s *store) rlock() {
	s.mu.RLock()
	if len(s.st.pending) == 0 || !s.st.due(s.clock.Now()) {
		return
	}
	s.mu.RUnlock()
	if s.wmu.TryLock() {
		s.mu.Lock()
		s.catchUp()
		s.unlock()
	}
	s.mu.RLock()
}

// catchUp makes a batch of the changes that are due; s.mu is held. Once
// the server is shut down there is no timer to make the rest, nor
// queries to stall, so it makes them all.
func (s *store) catchUp() {
	limit := catchUpBatch
	if s.stopped {
		limit = math.MaxInt
	}
	if n := s.st.applyDue(s.clock.Now(), limit); n > 0 {
		s.log.Info("scheduled status changes made", "instances", n)
	}
}

// arm keeps one timer for the next change due; s.mu is held. A change
// already due, left by a batch, gets a timer that fires at once.
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
	s.wmu.Lock()
	s.mu.Lock()
	if gen == s.gen {
		s.timer = nil // it has fired
	}
	s.catchUp()
	s.unlock()
}

// stop stops the timer for good; changes are still made when read.
func (s *store) stop() {
	s.wmu.Lock()
	s.mu.Lock()
	defer s.unlock()
	s.stopped = true
}

// addChunk is how many records an add inserts per hold of mu.
const addChunk = 4096

// add checks the instance limit, builds groups' records without any
// lock, then, as the one writer, checks them again and inserts them
// addChunk at a time; queries in between see the counts from before the
// add, until it counts them all at once (a listing may show some of its
// instances already).
func (s *store) add(groups []group) ([]Instance, error) {
	s.mu.RLock()
	err := s.st.checkInstances(sum(groups), s.max)
	s.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	b, err := prepare(groups, s.clock.Now())
	if err != nil {
		return nil, err
	}
	s.lock()
	if err := s.st.check(b, s.max); err != nil {
		s.unlock()
		return nil, err
	}
	for _, p := range b.parts {
		for recs := range slices.Chunk(p.recs, addChunk) {
			s.mu.Unlock()
			s.mu.Lock()
			s.st.insert(p, recs, b.now)
		}
	}
	defer s.unlock()
	return s.st.publish(b), nil
}

// replace swaps in a state built from groups, so that a bad batch leaves
// the current one in place.
func (s *store) replace(groups []group) ([]Instance, error) {
	fresh := newState()
	if err := fresh.checkInstances(sum(groups), s.max); err != nil {
		return nil, err
	}
	b, err := prepare(groups, s.clock.Now())
	if err != nil {
		return nil, err
	}
	out, err := fresh.add(b, s.max)
	if err != nil {
		return nil, err
	}
	s.wmu.Lock()
	s.mu.Lock()
	defer s.unlock()
	s.st = fresh
	return out, nil
}

// sum is how many instances groups stand for, as the caller gave them:
// prepare refuses counts out of range.
func sum(groups []group) int64 {
	var n int64
	for _, g := range groups {
		n += int64(max(g.count, 0))
	}
	return n
}

// update sets id's status, if status is set, cancelling any pending
// change; then schedules becomes, if set, replacing any pending change.
func (s *store) update(id string, status *dcs.Status, becomes *Transition) (Instance, error) {
	if err := checkUpdate(status, becomes); err != nil {
		return Instance{}, err
	}
	s.lock()
	defer s.unlock()
	r := s.st.byID[id]
	if r == nil {
		return Instance{}, fmt.Errorf("instance %q: %w", id, ErrNotFound)
	}
	now := s.clock.Now()
	// Changes due before this one are made first, batch or not.
	if r.hidx >= 0 && !r.due.After(now) {
		s.st.step(r, now)
	}
	if becomes != nil {
		// The chain it replaces is released, if r alone is in it.
		released := 0
		if c := r.chain; c != nil && c.refs == 1 {
			released = c.changes
		}
		if err := s.st.checkChanges(becomes.len() - released); err != nil {
			return Instance{}, err
		}
	}
	if status != nil {
		s.st.schedule(r, nil, nil, now)
		s.st.count(r.Instance, -1)
		r.Status = *status
		s.st.count(r.Instance, 1)
	}
	if becomes != nil {
		t := becomes.clone()
		c := &changeChain{changes: t.len()}
		s.st.changes += c.changes
		s.st.schedule(r, t, c, now)
	}
	in := r.Instance
	in.Becomes = r.becomes(now)
	return in, nil
}

// Filter selects instances: each field that is set must match. The zero
// Filter matches every instance.
type Filter struct {
	ProjectID string
	Engine    dcs.Engine
	Status    dcs.Status
}

func (f Filter) check() error {
	switch {
	case f.ProjectID != "" && !dcs.ValidProjectID(f.ProjectID):
		return &InvalidError{Index: -1, Field: "project_id", Err: fmt.Errorf("%q is not %s", truncate(f.ProjectID, 80), dcs.ProjectIDRule)}
	case f.Engine != "" && f.Engine.Index() < 0:
		return &InvalidError{Index: -1, Field: "engine", Valid: names(dcs.Engines()), Err: fmt.Errorf("unknown engine %q", f.Engine)}
	case f.Status != "" && f.Status.Index() < 0:
		e := invalidStatus(f.Status)
		e.Index = -1
		return e
	}
	return nil
}

func (f Filter) matches(in Instance) bool {
	return (f.ProjectID == "" || in.ProjectID == f.ProjectID) &&
		(f.Engine == "" || in.Engine == f.Engine) &&
		(f.Status == "" || in.Status == f.Status)
}

// updateChunk is how many instances updateMatching looks at per hold of
// mu, as add inserts addChunk.
const updateChunk = addChunk

// updateMatching is update for every instance that f matches, as it is
// once any change already due is made; becomes is one chain that they
// all share, counted once. As the one writer it holds wmu throughout, so
// that no other change comes in between, and lets go of mu every
// updateChunk instances, so that queries do not wait for a big change:
// one in between may see part of it.
func (s *store) updateMatching(f Filter, status *dcs.Status, becomes *Transition) (int, error) {
	if err := f.check(); err != nil {
		return 0, err
	}
	if err := checkUpdate(status, becomes); err != nil {
		return 0, err
	}
	s.lock()
	defer s.unlock()
	var chain *copied
	if becomes != nil {
		// Room for the whole chain is asked first: the chains it
		// replaces are released only as it goes.
		if err := s.st.checkChanges(becomes.len()); err != nil {
			return 0, err
		}
		t := becomes.clone()
		chain = &copied{t, &changeChain{changes: t.len()}}
		s.st.changes += chain.c.changes
	}
	now := s.clock.Now()
	n := 0
	for i, r := range s.st.order {
		if i > 0 && i%updateChunk == 0 {
			s.mu.Unlock()
			s.mu.Lock()
		}
		if r.gone {
			continue
		}
		if r.hidx >= 0 && !r.due.After(now) {
			s.st.step(r, now)
		}
		if !f.matches(r.Instance) {
			continue
		}
		n++
		if status != nil {
			s.st.schedule(r, nil, nil, now)
			s.st.count(r.Instance, -1)
			r.Status = *status
			s.st.count(r.Instance, 1)
		}
		if chain != nil {
			s.st.schedule(r, chain.t, chain.c, now)
		}
	}
	if chain != nil && chain.c.refs == 0 {
		s.st.changes -= chain.c.changes // no instance took it
	}
	return n, nil
}

// checkUpdate checks what update and updateMatching are to set.
func checkUpdate(status *dcs.Status, becomes *Transition) error {
	if status != nil && status.Index() < 0 {
		return invalidStatus(*status)
	}
	if e := checkTransition(becomes, "becomes"); e != nil {
		e.Index = -1
		return e
	}
	return nil
}

func (s *store) remove(id string) error {
	s.lock()
	defer s.unlock()
	r := s.st.byID[id]
	if r == nil {
		return fmt.Errorf("instance %q: %w", id, ErrNotFound)
	}
	s.st.remove(r, s.clock.Now())
	return nil
}

func (s *store) reset() {
	s.wmu.Lock()
	s.mu.Lock()
	defer s.unlock()
	s.st = newState()
}

// list returns projectID's instances, or every instance for "", in the
// order they were added.
func (s *store) list(projectID string) []Instance {
	out, _ := s.page(projectID, 0, math.MaxInt)
	return out
}

// page returns up to limit of projectID's instances (every project's for
// ""), in the order they were added, from the one after cursor on (0:
// from the first), and the cursor of the next page: 0 when there is none.
// Chains are copied outside the lock.
func (s *store) page(projectID string, cursor uint64, limit int) ([]Instance, uint64) {
	s.rlock()
	now := s.clock.Now()
	order := s.st.order
	i, _ := slices.BinarySearchFunc(order, cursor+1, func(r *record, seq uint64) int { return cmp.Compare(r.seq, seq) })
	var (
		recs []record
		next uint64
	)
	for ; i < len(order); i++ {
		r := order[i]
		if r.gone || projectID != "" && r.ProjectID != projectID {
			continue
		}
		if len(recs) == limit {
			next = recs[len(recs)-1].seq // there is more
			break
		}
		recs = append(recs, *r)
	}
	s.mu.RUnlock()
	out := make([]Instance, len(recs))
	for i, r := range recs {
		out[i] = r.Instance
		out[i].Becomes = r.becomes(now)
	}
	return out, next
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
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

func names[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

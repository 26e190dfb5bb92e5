package server

import (
	"cmp"
	"container/heap"
	"crypto/rand"
	"errors"
	"fmt"
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
	// Becomes, if set, is a change of Status to come.
	Becomes *Transition
}

// Transition is a scheduled change of an instance's status, as moto's
// state manager makes a created resource become available after a while.
type Transition struct {
	Status dcs.Status
	// After is how long until the change: from when it is scheduled, or,
	// in a Then, from the change before. In an Instance that the Server
	// returns, it is the time left.
	After time.Duration
	Then  *Transition // the next change, if any
}

// Filter selects instances: each field that is set must match. The zero
// Filter matches every instance.
type Filter struct {
	ProjectID string
	Engine    dcs.Engine
	Status    dcs.Status
}

func (f Filter) matches(in *Instance) bool {
	return (f.ProjectID == "" || in.ProjectID == f.ProjectID) &&
		(f.Engine == "" || in.Engine == f.Engine) &&
		(f.Status == "" || in.Status == f.Status)
}

// store is the fake's state behind one mutex. A scheduled change is made
// lazily: every call first makes the changes whose time has come on the
// clock, in time order, so that no timer is needed and a test's manual
// clock moves everything.
type store struct {
	mu    sync.Mutex
	clock interface{ Now() time.Time }
	max   int // instances at most
	// maxChanges is MaxScheduledChanges; tests lower it.
	maxChanges int
	initial    []Project // the project table that Reset puts back
	data
}

// data is what a replace swaps whole.
type data struct {
	byID map[string]*record
	// order holds the records in the order they were added, so that a
	// page needs no sort; removed ones stay until half are.
	order    []*record
	removed  int
	counts   map[string]*dcs.Counts // per project, kept as instances change
	pending  pendingHeap
	changes  int // the length of every chain some record is in
	seq      uint64
	projects []Project
}

// record is an instance as stored: its Becomes is nil; next, in a chain
// shared with other records and never changed, is what is to come.
type record struct {
	Instance
	seq   uint64
	next  *Transition
	chain *chain
	due   time.Time
	hidx  int // in pending; -1 if not there
	gone  bool
}

// chain is counted once against MaxScheduledChanges while any record is
// in it: the instances of a fixture entry share one.
type chain struct{ changes, refs int }

func newData(projects []Project) data {
	return data{byID: map[string]*record{}, counts: map[string]*dcs.Counts{}, projects: slices.Clone(projects)}
}

// lock takes the lock and makes the changes that are due.
func (s *store) lock() time.Time {
	s.mu.Lock()
	now := s.clock.Now()
	for len(s.pending) > 0 && !s.pending[0].due.After(now) {
		s.step(s.pending[0], now)
	}
	return now
}

// step makes r's changes that are due, in one update: an instance whose
// several changes are due goes straight to the last of them. A change
// in a Then is due After the one before was due, however late this is.
func (d *data) step(r *record, now time.Time) {
	t, due := r.next, r.due
	for t.Then != nil && !due.Add(t.Then.After).After(now) {
		t, due = t.Then, due.Add(t.Then.After)
	}
	d.setStatus(r, t.Status)
	if t.Then == nil {
		d.schedule(r, nil, nil, due)
	} else {
		d.schedule(r, t.Then, r.chain, due)
	}
}

func (d *data) countsOf(projectID string) *dcs.Counts {
	c := d.counts[projectID]
	if c == nil {
		c = new(dcs.Counts)
		d.counts[projectID] = c
	}
	return c
}

func (d *data) setStatus(r *record, st dcs.Status) {
	c := d.countsOf(r.ProjectID)
	c.Add(r.Engine, r.Status, -1)
	r.Status = st
	c.Add(r.Engine, r.Status, 1)
}

// schedule makes t, of chain c, r's pending change (nil: none), due
// t.After from from.
func (d *data) schedule(r *record, t *Transition, c *chain, from time.Time) {
	if r.chain != c {
		if old := r.chain; old != nil {
			if old.refs--; old.refs == 0 {
				d.changes -= old.changes
			}
		}
		if r.chain = c; c != nil {
			c.refs++
		}
	}
	r.next = t
	switch {
	case t == nil && r.hidx >= 0:
		heap.Remove(&d.pending, r.hidx)
	case t != nil:
		r.due = from.Add(t.After)
		if r.hidx >= 0 {
			heap.Fix(&d.pending, r.hidx)
		} else {
			heap.Push(&d.pending, r)
		}
	}
}

// pendingHeap orders the records with a pending change by due time, then
// insertion, so that finding those due never scans the instances: a
// query costs the same however many changes are pending.
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
	x.(*record).hidx = len(*h)
	*h = append(*h, x.(*record))
}
func (h *pendingHeap) Pop() any {
	r := (*h)[len(*h)-1]
	(*h)[len(*h)-1], *h, r.hidx = nil, (*h)[:len(*h)-1], -1
	return r
}

// group is what a fixture entry stands for: count instances alike but
// for their ID and Name.
type group struct {
	Instance
	count int
}

// add adds every instance of groups or none, and returns the first of
// each group as added. merge, if set, is a project table to merge into
// the table, also all or nothing.
func (s *store) add(groups []group, merge []Project) ([]Instance, error) {
	if err := checkGroups(groups); err != nil {
		return nil, err
	}
	now := s.lock()
	defer s.mu.Unlock()
	merged, err := mergeProjects(s.projects, merge)
	if err != nil {
		return nil, err
	}
	out, err := s.insert(groups, now, s.max, s.maxChanges)
	if err == nil {
		s.projects = merged
	}
	return out, err
}

// replace swaps in the instances of groups, and the table projects if
// set, so that a bad fixture leaves the current state in place.
func (s *store) replace(groups []group, projects *[]Project) ([]Instance, error) {
	if err := checkGroups(groups); err != nil {
		return nil, err
	}
	fresh := newData(nil)
	out, err := fresh.insert(groups, s.clock.Now(), s.max, s.maxChanges)
	if err != nil {
		return nil, err
	}
	s.lock()
	defer s.mu.Unlock()
	fresh.projects = s.projects
	if projects != nil {
		fresh.projects = slices.Clone(*projects)
	}
	s.data = fresh
	return out, nil
}

// checkGroups checks what needs no store, so that nothing is locked or
// allocated for a bad request.
func checkGroups(groups []group) error {
	given := map[string]bool{}
	checked := map[*Transition]bool{}
	for i, g := range groups {
		in := g.Instance
		if checked[in.Becomes] {
			in.Becomes = nil // a chain given to many is checked once
		}
		checked[g.Becomes] = true
		ie := checkInstance(in)
		switch {
		case ie != nil:
		case g.count < 1 || g.count > MaxCount:
			ie = &InvalidError{Field: "count", Err: fmt.Errorf("%d is out of range 1 to %d (MaxCount)", g.count, MaxCount)}
		case g.ID != "" && g.count > 1:
			ie = &InvalidError{Field: "id", Err: errors.New("an entry with an id must have count 1")}
		case g.ID != "" && given[g.ID]:
			ie = &InvalidError{Field: "id", Err: fmt.Errorf("%q: %w", g.ID, ErrExists)}
		}
		if ie != nil {
			ie.Index = i
			return ie
		}
		given[g.ID] = true
	}
	return nil
}

// insert adds groups, checked, within the limits; the lock is held.
func (d *data) insert(groups []group, now time.Time, max, maxChanges int) ([]Instance, error) {
	total, changes := 0, 0
	chains := map[*Transition]*chain{} // one copy of a chain given to many
	for i, g := range groups {
		total += g.count
		if g.ID != "" && d.byID[g.ID] != nil {
			return nil, &InvalidError{Index: i, Field: "id", Err: fmt.Errorf("%q: %w", g.ID, ErrExists)}
		}
		if g.Becomes != nil && chains[g.Becomes] == nil {
			chains[g.Becomes] = &chain{changes: g.Becomes.len()}
			changes += g.Becomes.len()
		}
	}
	if want := len(d.byID) + total; want > max {
		return nil, &LimitError{Limit: "MaxInstances", What: "the instances in the store", Max: int64(max), Want: int64(want)}
	}
	if err := d.checkChanges(changes, maxChanges); err != nil {
		return nil, err
	}
	copies := map[*Transition]*Transition{}
	for t := range chains {
		copies[t] = t.clone()
	}
	out := make([]Instance, len(groups))
	for i, g := range groups {
		for k := range g.count {
			r := &record{Instance: g.Instance, hidx: -1}
			r.Becomes = nil
			for r.ID == "" || d.byID[r.ID] != nil { // a UUID drawn twice, at 2^-122
				r.ID = newID()
			}
			switch {
			case r.Name == "":
				r.Name = "dcs-" + r.ID[:min(8, len(r.ID))]
			case g.count > 1:
				r.Name += "-" + strconv.Itoa(k+1)
			}
			d.seq++
			r.seq = d.seq
			d.byID[r.ID] = r
			d.order = append(d.order, r)
			if g.Becomes != nil {
				d.schedule(r, copies[g.Becomes], chains[g.Becomes], now)
			}
			if k == 0 {
				out[i] = r.Instance
				out[i].Becomes = g.Becomes
			}
		}
		d.countsOf(g.ProjectID).Add(g.Engine, g.Status, int32(g.count))
	}
	d.changes += changes
	return out, nil
}

func (d *data) checkChanges(n, max int) error {
	if want := d.changes + n; want > max {
		return &LimitError{Limit: "MaxScheduledChanges", What: "the scheduled changes in the store", Max: int64(max), Want: int64(want)}
	}
	return nil
}

// update sets id's status, if status is set, cancelling any pending
// change, then schedules becomes, if set, replacing any pending change.
func (s *store) update(id string, status *dcs.Status, becomes *Transition) (Instance, error) {
	if err := checkUpdate(status, becomes); err != nil {
		return Instance{}, err
	}
	now := s.lock()
	defer s.mu.Unlock()
	r := s.byID[id]
	if r == nil {
		return Instance{}, fmt.Errorf("instance %q: %w", id, ErrNotFound)
	}
	if becomes != nil {
		released := 0 // the chain it replaces, if r alone is in it
		if r.chain != nil && r.chain.refs == 1 {
			released = r.chain.changes
		}
		if err := s.checkChanges(becomes.len()-released, s.maxChanges); err != nil {
			return Instance{}, err
		}
	}
	s.change(r, status, s.newChain(becomes), now)
	return r.instance(now), nil
}

// updateMatching is update for every instance that f matches, once the
// changes due are made, with one chain that they all share.
func (s *store) updateMatching(f Filter, status *dcs.Status, becomes *Transition) (int, error) {
	if err := f.check(); err != nil {
		return 0, err
	}
	if err := checkUpdate(status, becomes); err != nil {
		return 0, err
	}
	now := s.lock()
	defer s.mu.Unlock()
	if err := s.checkChanges(becomes.len(), s.maxChanges); err != nil {
		return 0, err
	}
	c := s.newChain(becomes)
	n := 0
	for _, r := range s.order {
		if !r.gone && f.matches(&r.Instance) {
			n++
			s.change(r, status, c, now)
		}
	}
	if c != nil && c.c.refs == 0 {
		s.changes -= c.c.changes // no instance took it
	}
	return n, nil
}

// owned is a copy of a caller's chain, counted in changes.
type owned struct {
	t *Transition
	c *chain
}

func (d *data) newChain(t *Transition) *owned {
	if t == nil {
		return nil
	}
	o := &owned{t.clone(), &chain{changes: t.len()}}
	d.changes += o.c.changes
	return o
}

func (d *data) change(r *record, status *dcs.Status, becomes *owned, now time.Time) {
	if status != nil {
		d.schedule(r, nil, nil, now)
		d.setStatus(r, *status)
	}
	if becomes != nil {
		d.schedule(r, becomes.t, becomes.c, now)
	}
}

func (s *store) remove(id string) error {
	now := s.lock()
	defer s.mu.Unlock()
	r := s.byID[id]
	if r == nil {
		return fmt.Errorf("instance %q: %w", id, ErrNotFound)
	}
	s.schedule(r, nil, nil, now)
	s.countsOf(r.ProjectID).Add(r.Engine, r.Status, -1)
	delete(s.byID, id)
	r.gone = true
	// Compacting when half is gone keeps a removal O(1), amortised.
	if s.removed++; s.removed > len(s.order)/2 {
		s.order = slices.DeleteFunc(s.order, func(r *record) bool { return r.gone })
		s.removed = 0
	}
	return nil
}

func (s *store) reset() {
	s.lock()
	defer s.mu.Unlock()
	s.data = newData(s.initial)
}

// page returns up to limit of projectID's instances (every project's for
// ""), in the order they were added, from the one after cursor on (0:
// from the first), and the cursor of the next page: 0 when there is none.
func (s *store) page(projectID string, cursor uint64, limit int) ([]Instance, uint64) {
	now := s.lock()
	defer s.mu.Unlock()
	i, _ := slices.BinarySearchFunc(s.order, cursor+1, func(r *record, seq uint64) int { return cmp.Compare(r.seq, seq) })
	var (
		out  []Instance
		last uint64
	)
	for _, r := range s.order[i:] {
		if r.gone || projectID != "" && r.ProjectID != projectID {
			continue
		}
		if len(out) == limit {
			return out, last // there is more
		}
		out = append(out, r.instance(now))
		last = r.seq
	}
	return out, 0
}

// instance is r as callers see it: Becomes is a copy, After the time left.
func (r *record) instance(now time.Time) Instance {
	in := r.Instance
	if r.next != nil {
		in.Becomes = r.next.clone()
		in.Becomes.After = max(r.due.Sub(now), 0)
	}
	return in
}

func (s *store) query(projectID string, includeFailure bool) dcs.Counts {
	s.lock()
	defer s.mu.Unlock()
	var out dcs.Counts
	if c := s.data.counts[projectID]; c != nil {
		out = *c
	}
	if !includeFailure {
		for _, e := range dcs.Engines() {
			out.Add(e, dcs.CreateFailed, -out.Engine(e).Get(dcs.CreateFailed))
		}
	}
	return out
}

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
		where = strings.TrimSuffix(fmt.Sprintf("instances[%d].%s", e.Index, e.Field), ".")
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

var (
	// ErrNotFound: no instance has the given id.
	ErrNotFound = errors.New("no such instance")
	// ErrExists: an instance with the given id is already there.
	ErrExists = errors.New("instance id already exists")
)

func invalid(field, format string, args ...any) *InvalidError {
	return &InvalidError{Index: -1, Field: field, Err: fmt.Errorf(format, args...)}
}

func invalidID(field, id string) *InvalidError {
	return invalid(field, "%q is not %s", truncate(id, 80), dcs.ProjectIDRule)
}

func invalidEngine(e dcs.Engine) *InvalidError {
	ie := invalid("engine", "unknown engine %q", e)
	ie.Valid = names(dcs.Engines())
	return ie
}

func invalidStatus(field string, st dcs.Status) *InvalidError {
	ie := invalid(field, "unknown status %q", st)
	ie.Valid = names(dcs.Statuses())
	return ie
}

// checkInstance returns the field at fault and why.
func checkInstance(in Instance) *InvalidError {
	switch {
	case in.ProjectID == "":
		return invalid("project_id", "missing")
	case !dcs.ValidProjectID(in.ProjectID):
		return invalidID("project_id", in.ProjectID)
	case in.ID != "" && !dcs.ValidProjectID(in.ID):
		return invalidID("id", in.ID)
	case utf8.RuneCountInString(in.Name) > MaxNameLength || !utf8.ValidString(in.Name) || strings.ContainsFunc(in.Name, unicode.IsControl):
		return invalid("name", "%q is not at most %d characters, none of them a control character", truncate(in.Name, 80), MaxNameLength)
	case in.Engine.Key() == "":
		return invalidEngine(in.Engine)
	case in.Status.Counter() == "":
		return invalidStatus("status", in.Status)
	}
	return checkTransition(in.Becomes)
}

func (f Filter) check() error {
	switch {
	case f.ProjectID != "" && !dcs.ValidProjectID(f.ProjectID):
		return invalidID("project_id", f.ProjectID)
	case f.Engine != "" && f.Engine.Key() == "":
		return invalidEngine(f.Engine)
	case f.Status != "" && f.Status.Counter() == "":
		return invalidStatus("status", f.Status)
	}
	return nil
}

func checkUpdate(status *dcs.Status, becomes *Transition) error {
	if status != nil && status.Counter() == "" {
		return invalidStatus("status", *status)
	}
	if ie := checkTransition(becomes); ie != nil {
		return ie
	}
	return nil
}

// errChainTooLong names the limit, whether the chain comes from Go or JSON.
var errChainTooLong = fmt.Errorf("a chain of more than %d changes (MaxChain)", MaxChain)

// checkTransition checks the chain of a becomes; a cyclic one is too long.
func checkTransition(t *Transition) *InvalidError {
	field := "becomes"
	for i := 0; t != nil; i, t, field = i+1, t.Then, field+".then" {
		switch {
		case i == MaxChain:
			return invalid("becomes", "%w", errChainTooLong)
		case t.Status.Counter() == "":
			return invalidStatus(field+".status", t.Status)
		case t.After < 0:
			return invalid(field+".after", "%v is negative", t.After)
		}
	}
	return nil
}

// len is the number of changes in the chain.
func (t *Transition) len() int {
	n := 0
	for ; t != nil; t = t.Then {
		n++
	}
	return n
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

// newID makes a random UUID (version 4), the form of real DCS instance ids.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func names[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// truncate keeps s within max characters, as the spec's maxLength counts.
func truncate(s string, max int) string {
	n := 0
	for i := range s {
		if n == max {
			return s[:i]
		}
		n++
	}
	return s
}

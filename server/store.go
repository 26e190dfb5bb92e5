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
	ID        string // one instance, which must exist
	ProjectID string
	Engine    dcs.Engine
	Status    dcs.Status
}

func (f Filter) matches(in *Instance) bool {
	return (f.ID == "" || in.ID == f.ID) && (f.ProjectID == "" || in.ProjectID == f.ProjectID) &&
		(f.Engine == "" || in.Engine == f.Engine) &&
		(f.Status == "" || in.Status == f.Status)
}

// store is the fake's state behind one mutex. Scheduled changes are made
// lazily: every call first makes those whose time has come on the clock,
// in time order, so that no timer is needed and a test's ManualClock
// moves everything.
type store struct {
	mu         sync.Mutex
	now        func() time.Time
	max        int       // instances at most
	maxChanges int       // MaxScheduledChanges; tests lower it
	initial    []Project // the project table that Reset puts back
	faults     []Fault   // pending, oldest first
	data
}

// data is what a replace swaps whole.
type data struct {
	byID     map[string]*record
	order    []*record              // by seq, the order of adding, so that a page needs no sort
	counts   map[string]*dcs.Counts // per project, kept as instances change
	pending  pendingHeap
	changes  int // the length of every chain some record is in
	seq      uint64
	projects []Project
}

// record is an instance as stored, Becomes nil: next, in a chain that
// records share and that never changes, is what is to come.
type record struct {
	Instance
	seq   uint64
	next  *Transition
	chain *chain
	due   time.Time
	hidx  int // in pending; -1 if not there
}

// chain is a copy of a caller's chain, counted once against
// MaxScheduledChanges while any record is in it: the instances of a
// fixture entry share one.
type chain struct {
	head          *Transition
	changes, refs int
}

func newChain(t *Transition) *chain {
	if t == nil {
		return nil
	}
	return &chain{head: t.clone(), changes: t.len()}
}

func newData(projects []Project) data {
	return data{byID: map[string]*record{}, counts: map[string]*dcs.Counts{}, projects: slices.Clone(projects)}
}

// lock takes the lock and makes the changes that are due.
func (s *store) lock() time.Time {
	s.mu.Lock()
	now := s.now()
	// The instances of a fixture entry share a chain and its times: where
	// one lands is where all land, found once.
	type step struct {
		t   *Transition
		due time.Time
	}
	var landed map[step]step
	for len(s.pending) > 0 && !s.pending[0].due.After(now) {
		// An instance whose several changes are due goes straight to the
		// last; each is due After the one before was, however late this is.
		r := s.pending[0]
		from := step{r.next, r.due}
		to, ok := landed[from]
		if !ok {
			for to = from; to.t.Then != nil && !to.due.Add(to.t.Then.After).After(now); {
				to = step{to.t.Then, to.due.Add(to.t.Then.After)}
			}
			if landed == nil {
				landed = map[step]step{}
			}
			landed[from] = to
		}
		s.setStatus(r, to.t.Status)
		s.schedule(r, to.t.Then, r.chain, to.due)
	}
	return now
}

func (d *data) countsOf(projectID string) *dcs.Counts {
	if d.counts[projectID] == nil {
		d.counts[projectID] = new(dcs.Counts)
	}
	return d.counts[projectID]
}

func (d *data) setStatus(r *record, st dcs.Status) {
	d.countsOf(r.ProjectID).Add(r.Engine, r.Status, -1)
	r.Status = st
	d.countsOf(r.ProjectID).Add(r.Engine, r.Status, 1)
}

// schedule makes t, in chain c, r's pending change, due t.After from
// from; t nil cancels it.
func (d *data) schedule(r *record, t *Transition, c *chain, from time.Time) {
	if t == nil {
		c = nil
	}
	if r.chain != c {
		if old := r.chain; old != nil {
			if old.refs--; old.refs == 0 {
				d.changes -= old.changes
			}
		}
		if r.chain = c; c != nil {
			if c.refs++; c.refs == 1 {
				d.changes += c.changes
			}
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
// seq, so that finding those due never scans the instances: a query costs
// the same however many changes are pending.
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
// each as added; merge is merged into the project table, all or nothing.
func (s *store) add(groups []group, merge []Project) ([]Instance, error) {
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

// replace swaps in the instances of groups, and projects unless nil, so
// that a bad fixture leaves the current state in place.
func (s *store) replace(groups []group, projects []Project) ([]Instance, error) {
	fresh := newData(projects)
	out, err := fresh.insert(groups, s.now(), s.max, s.maxChanges)
	if err != nil {
		return nil, err
	}
	s.lock()
	defer s.mu.Unlock()
	if projects == nil {
		fresh.projects = s.projects
	}
	s.data = fresh
	return out, nil
}

// insert checks groups and adds them, within the limits.
func (d *data) insert(groups []group, now time.Time, max, maxChanges int) ([]Instance, error) {
	total, changes := 0, 0
	chains := map[*Transition]*chain{} // one copy of a chain given to many
	given := map[string]bool{}
	for i, g := range groups {
		in := g.Instance
		if chains[in.Becomes] != nil {
			in.Becomes = nil // checked already
		}
		ie := checkInstance(in)
		switch {
		case ie != nil:
		case g.count < 1 || g.count > MaxCount:
			ie = invalid("count", "%d is out of range 1 to %d (MaxCount)", g.count, MaxCount)
		case g.ID != "" && g.count > 1:
			ie = invalid("id", "an entry with an id must have count 1")
		case g.ID != "" && (given[g.ID] || d.byID[g.ID] != nil):
			ie = invalid("id", "%q: %w", g.ID, ErrExists)
		}
		if ie != nil {
			ie.Index = i
			return nil, ie
		}
		given[g.ID] = true
		total += g.count
		if g.Becomes != nil && chains[g.Becomes] == nil {
			chains[g.Becomes] = newChain(g.Becomes)
			changes += chains[g.Becomes].changes
		}
	}
	if want := len(d.byID) + total; want > max {
		return nil, &LimitError{Limit: "MaxInstances", What: "the instances in the store", Max: int64(max), Want: int64(want)}
	}
	if err := d.checkChanges(changes, maxChanges); err != nil {
		return nil, err
	}
	out := make([]Instance, len(groups))
	for i, g := range groups {
		for k := range g.count {
			r := &record{Instance: g.Instance, hidx: -1}
			for r.ID == "" || d.byID[r.ID] != nil { // a UUID drawn twice, at 2^-122
				r.ID = newID()
			}
			switch {
			case r.Name == "":
				r.Name = "dcs-" + r.ID[:min(8, len(r.ID))]
			case g.count > 1:
				r.Name += "-" + strconv.Itoa(k+1)
			}
			if k == 0 {
				out[i] = r.Instance
			}
			d.seq++
			r.seq, r.Becomes = d.seq, nil
			d.byID[r.ID] = r
			d.order = append(d.order, r)
			if c := chains[g.Becomes]; c != nil {
				d.schedule(r, c.head, c, now)
			}
		}
		d.countsOf(g.ProjectID).Add(g.Engine, g.Status, int32(g.count))
	}
	return out, nil
}

func (d *data) checkChanges(n, max int) error {
	if want := d.changes + n; want > max {
		return &LimitError{Limit: "MaxScheduledChanges", What: "the scheduled changes in the store", Max: int64(max), Want: int64(want)}
	}
	return nil
}

// update is Server.Update; it also returns the last instance it changed.
func (s *store) update(f Filter, status *dcs.Status, becomes *Transition) (int, Instance, error) {
	if err := f.check(); err != nil {
		return 0, Instance{}, err
	}
	if status != nil && status.Counter() == "" {
		return 0, Instance{}, invalidStatus("status", *status)
	}
	if ie := checkTransition(becomes); ie != nil {
		return 0, Instance{}, ie
	}
	now := s.lock()
	defer s.mu.Unlock()
	recs := s.order
	if f.ID != "" {
		if recs = []*record{s.byID[f.ID]}; recs[0] == nil {
			return 0, Instance{}, fmt.Errorf("instance %q: %w", f.ID, ErrNotFound)
		}
	}
	released := 0 // the chain it replaces, if one instance alone is in it
	if len(recs) == 1 && recs[0].chain != nil && recs[0].chain.refs == 1 {
		released = recs[0].chain.changes
	}
	if err := s.checkChanges(becomes.len()-released, s.maxChanges); err != nil {
		return 0, Instance{}, err
	}
	c, n, last := newChain(becomes), 0, Instance{}
	for _, r := range recs {
		if !f.matches(&r.Instance) {
			continue
		}
		if status != nil {
			s.schedule(r, nil, nil, now)
			s.setStatus(r, *status)
		}
		if c != nil {
			s.schedule(r, c.head, c, now)
		}
		n, last = n+1, r.instance(now)
	}
	return n, last, nil
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
	i, _ := s.find(r.seq)
	s.order = slices.Delete(s.order, i, i+1)
	return nil
}

func (d *data) find(seq uint64) (int, bool) {
	return slices.BinarySearchFunc(d.order, seq, func(r *record, seq uint64) int { return cmp.Compare(r.seq, seq) })
}

func (s *store) reset() {
	s.lock()
	defer s.mu.Unlock()
	s.data, s.faults = newData(s.initial), nil
}

// page returns up to limit (-1: all) of projectID's instances (every
// project's for ""), in the order they were added, from the one after
// cursor on, and the cursor of the next page: 0 when there is none.
func (s *store) page(projectID string, cursor uint64, limit int) ([]Instance, uint64) {
	now := s.lock()
	defer s.mu.Unlock()
	i, _ := s.find(cursor + 1)
	var (
		out  []Instance
		last uint64
	)
	for _, r := range s.order[i:] {
		if projectID != "" && r.ProjectID != projectID {
			continue
		}
		if len(out) == limit {
			return out, last // there is more
		}
		out, last = append(out, r.instance(now)), r.seq
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
	for _, e := range dcs.Engines() {
		if !includeFailure { // counted only when asked for, as the real service does
			out.Add(e, dcs.CreateFailed, -out.Engine(e).Get(dcs.CreateFailed))
		}
	}
	return out
}

// Project is an entry of the project table that the fake's IAM serves
// (GET /v3/projects and /v3/auth/projects): a project id and its name,
// which for a region's project is the region, such as "cn-north-4".
type Project struct {
	ID   string
	Name string
}

// checkProjects checks a whole table: ids and names by the project id
// rule (a region's name fits it too), ids unique, at most MaxProjects.
// field names the table in errors.
func checkProjects(ps []Project, field string) error {
	if len(ps) > MaxProjects {
		return invalid(field, "%d projects, more than %d (MaxProjects)", len(ps), MaxProjects)
	}
	seen := make(map[string]bool, len(ps))
	for i, p := range ps {
		at := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case !dcs.ValidProjectID(p.ID):
			return invalidID(at+".id", p.ID)
		case !dcs.ValidProjectID(p.Name):
			return invalidID(at+".name", p.Name)
		case seen[p.ID]:
			return invalid(at+".id", "%q is in the table twice", p.ID)
		}
		seen[p.ID] = true
	}
	return nil
}

// mergeProjects adds ps to list, an entry replacing the one of the same
// id in place, within MaxProjects.
func mergeProjects(list, ps []Project) ([]Project, error) {
	merged := slices.Clone(list)
	at := make(map[string]int, len(merged))
	for i, p := range merged {
		at[p.ID] = i
	}
	for _, p := range ps {
		if i, ok := at[p.ID]; ok {
			merged[i] = p
			continue
		}
		at[p.ID] = len(merged)
		merged = append(merged, p)
	}
	if len(merged) > MaxProjects {
		return nil, invalid("projects", "the table would hold %d projects, more than %d (MaxProjects)", len(merged), MaxProjects)
	}
	return merged, nil
}

// SetProjects replaces the project table of the fake's IAM. A bad table
// is an *InvalidError and changes nothing.
func (s *Server) SetProjects(ps ...Project) error {
	if err := checkProjects(ps, "projects"); err != nil {
		return err
	}
	s.store.lock()
	defer s.store.mu.Unlock()
	s.store.projects = slices.Clone(ps)
	return nil
}

// Projects lists what the fake's IAM serves: the project table, then,
// sorted by id, every project that has instances but no entry in the
// table, named after the default region of dcs.yaml's servers (the
// region a client uses when told none).
func (s *Server) Projects() []Project {
	s.store.lock()
	defer s.store.mu.Unlock()
	out := slices.Clone(s.store.projects)
	listed := make(map[string]bool, len(out))
	for _, p := range out {
		listed[p.ID] = true
	}
	var more []Project
	for id, c := range s.store.data.counts {
		if c.Total.Total() > 0 && !listed[id] {
			more = append(more, Project{ID: id, Name: specs().DCS.Servers[0].Variables["region"].Default})
		}
	}
	slices.SortFunc(more, func(a, b Project) int { return cmp.Compare(a.ID, b.ID) })
	return append(out, more...)
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

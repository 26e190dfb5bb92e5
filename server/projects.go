package server

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen/admin"
)

// Project is an entry of the project table that the fake's IAM serves
// (GET /v3/projects and /v3/auth/projects): a project id and its name,
// which for a region's project is the region, such as "cn-north-4".
type Project struct {
	ID   string
	Name string
}

// MaxProjects bounds the project table; admin.yaml's ProjectTable says
// the same, and a test holds the two together.
const MaxProjects = 10_000

// projectTable is the fake IAM's table. It starts as Options.Projects,
// and Reset brings it back there.
type projectTable struct {
	initial []Project

	mu   sync.Mutex
	list []Project
}

func newProjectTable(initial []Project) (*projectTable, error) {
	if ie := checkProjects(initial, "Projects"); ie != nil {
		return nil, ie
	}
	return &projectTable{initial: slices.Clone(initial), list: slices.Clone(initial)}, nil
}

// checkProjects checks a whole table: ids and names by the project_id
// rule (a region's name fits it too), ids unique, at most MaxProjects.
// field names the table in errors.
func checkProjects(ps []Project, field string) *InvalidError {
	if len(ps) > MaxProjects {
		return &InvalidError{Index: -1, Field: field, Err: fmt.Errorf("%d projects, more than %d", len(ps), MaxProjects)}
	}
	seen := make(map[string]bool, len(ps))
	for i, p := range ps {
		at := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case !dcs.ValidProjectID(p.ID):
			return &InvalidError{Index: -1, Field: at + ".id", Err: fmt.Errorf("%q is not %s", p.ID, dcs.ProjectIDRule)}
		case !dcs.ValidProjectID(p.Name):
			return &InvalidError{Index: -1, Field: at + ".name", Err: fmt.Errorf("%q is not %s", p.Name, dcs.ProjectIDRule)}
		case seen[p.ID]:
			return &InvalidError{Index: -1, Field: at + ".id", Err: fmt.Errorf("%q is in the table twice", p.ID)}
		}
		seen[p.ID] = true
	}
	return nil
}

func (t *projectTable) replace(ps []Project) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.list = slices.Clone(ps)
	return nil
}

// merge adds ps, an entry replacing the one of the same id in place. The
// result must stay within MaxProjects.
func (t *projectTable) merge(ps []Project) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	merged, err := mergeProjects(t.list, ps)
	if err != nil {
		return err
	}
	t.list = merged
	return nil
}

// checkMerge reports whether merge(ps) would succeed now, so that a
// caller can refuse a fixture before changing anything.
func (t *projectTable) checkMerge(ps []Project) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, err := mergeProjects(t.list, ps)
	return err
}

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
		return nil, &InvalidError{Index: -1, Field: "projects", Err: fmt.Errorf("the table would hold %d projects, more than %d", len(merged), MaxProjects)}
	}
	return merged, nil
}

func (t *projectTable) reset() { _ = t.replace(t.initial) }

func (t *projectTable) snapshot() []Project {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.list)
}

// SetProjects replaces the project table of the fake's IAM. A bad table
// is an *InvalidError and changes nothing.
func (s *Server) SetProjects(ps ...Project) error {
	if ie := checkProjects(ps, "projects"); ie != nil {
		return ie
	}
	return s.projects.replace(ps)
}

// Projects lists what the fake's IAM serves: the project table, then,
// sorted by id, every project that has instances but no entry in the
// table, named after the default region of dcs.yaml's servers (the
// region a client uses when told none).
func (s *Server) Projects() []Project {
	out := s.projects.snapshot()
	listed := make(map[string]bool, len(out))
	for _, p := range out {
		listed[p.ID] = true
	}
	for _, id := range s.store.projectIDs() {
		if !listed[id] {
			out = append(out, Project{ID: id, Name: s.specs.defaultRegion})
		}
	}
	return out
}

// projectIDs lists, sorted, the projects that have instances.
func (s *store) projectIDs() []string {
	s.rlock()
	ids := make([]string, 0, len(s.st.counters))
	for id, perEngine := range s.st.counters {
		for _, c := range perEngine {
			if c.Total() > 0 {
				ids = append(ids, id)
				break
			}
		}
	}
	s.mu.RUnlock()
	slices.Sort(ids)
	return ids
}

// fixtureProjects converts a fixture's project table, nil if it has none.
func fixtureProjects(fx admin.Fixture) ([]Project, *InvalidError) {
	if fx.Projects == nil {
		return nil, nil
	}
	ps := fromAdminProjects(*fx.Projects)
	if ie := checkProjects(ps, "projects"); ie != nil {
		return nil, ie
	}
	return ps, nil
}

// applyFixtureProjects hands a fixture's project table, if it has one, to
// apply (the table's replace or merge). applyFixture has checked it.
func (s *Server) applyFixtureProjects(fx admin.Fixture, apply func([]Project) error) error {
	ps, ie := fixtureProjects(fx)
	switch {
	case ie != nil:
		return ie
	case fx.Projects == nil:
		return nil
	}
	return apply(ps)
}

func fromAdminProjects(in []admin.Project) []Project {
	out := make([]Project, len(in))
	for i, p := range in {
		out[i] = Project{ID: p.Id, Name: p.Name}
	}
	return out
}

func projectTableAnswer(ps []Project) admin.ProjectTable {
	out := admin.ProjectTable{Projects: make([]admin.Project, len(ps))}
	for i, p := range ps {
		out.Projects[i] = admin.Project{Id: p.ID, Name: p.Name}
	}
	return out
}

func (a adminAPI) ListProjects(context.Context, admin.ListProjectsRequestObject) (admin.ListProjectsResponseObject, error) {
	return admin.ListProjects200JSONResponse(projectTableAnswer(a.s.Projects())), nil
}

func (a adminAPI) ReplaceProjects(_ context.Context, req admin.ReplaceProjectsRequestObject) (admin.ReplaceProjectsResponseObject, error) {
	if err := a.s.SetProjects(fromAdminProjects(req.Body.Projects)...); err != nil {
		return nil, err
	}
	return admin.ReplaceProjects200JSONResponse(projectTableAnswer(a.s.Projects())), nil
}

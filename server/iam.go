package server

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen/admin"
	"github.com/dcskit/dcskit/gen/iam"
	"github.com/dcskit/dcskit/gen/iamserver"
)

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
			more = append(more, Project{ID: id, Name: specs().dcs.Servers[0].Variables["region"].Default})
		}
	}
	slices.SortFunc(more, func(a, b Project) int { return cmp.Compare(a.ID, b.ID) })
	return append(out, more...)
}

func (h handlers) ListProjects(context.Context, admin.ListProjectsRequestObject) (admin.ListProjectsResponseObject, error) {
	return admin.ListProjects200JSONResponse(projectTable(h.s.Projects())), nil
}

func (h handlers) ReplaceProjects(_ context.Context, req admin.ReplaceProjectsRequestObject) (admin.ReplaceProjectsResponseObject, error) {
	ps := make([]Project, len(req.Body.Projects))
	for i, p := range req.Body.Projects {
		ps[i] = Project{ID: p.Id, Name: p.Name}
	}
	if err := h.s.SetProjects(ps...); err != nil {
		return nil, err
	}
	return admin.ReplaceProjects200JSONResponse(projectTable(h.s.Projects())), nil
}

func projectTable(ps []Project) admin.ProjectTable {
	out := admin.ProjectTable{Projects: make([]admin.Project, len(ps))}
	for i, p := range ps {
		out.Projects[i] = admin.Project{Id: p.ID, Name: p.Name}
	}
	return out
}

// The IAM operations answer from the project table. Injected faults do
// not apply to them, so that a client's discovery does not use them up.
var _ iamserver.StrictServerInterface = handlers{}

func (h handlers) KeystoneListProjects(ctx context.Context, req iamserver.KeystoneListProjectsRequestObject) (iamserver.KeystoneListProjectsResponseObject, error) {
	u := ctx.Value(requestURLKey{}).(url.URL)
	out := iam.ProjectList{Links: &iam.Links{Self: u.String()}, Projects: []iam.Project{}}
	for _, p := range h.s.Projects() {
		if req.Params.Name == nil || *req.Params.Name == p.Name {
			out.Projects = append(out.Projects, iamProject(p, u))
		}
	}
	return iamserver.KeystoneListProjects200JSONResponse(out), nil
}

func (h handlers) KeystoneListAuthProjects(ctx context.Context, _ iamserver.KeystoneListAuthProjectsRequestObject) (iamserver.KeystoneListAuthProjectsResponseObject, error) {
	u := ctx.Value(requestURLKey{}).(url.URL)
	out := iam.AuthProjectList{Links: &iam.SelfLink{Self: u.String()}, Projects: []iam.Project{}}
	for _, p := range h.s.Projects() {
		out.Projects = append(out.Projects, iamProject(p, u))
	}
	return iamserver.KeystoneListAuthProjects200JSONResponse(out), nil
}

// domainID is the account that owns every project of the fake's IAM.
const domainID = "0dc5c17f4ce000000000000000000000"

// iamProject is p as IAM describes a region's project; listing is the
// URL of the listing.
func iamProject(p Project, listing url.URL) iam.Project {
	self := url.URL{Scheme: listing.Scheme, Host: listing.Host, Path: "/v3/projects/" + p.ID}
	return iam.Project{Id: p.ID, Name: p.Name, Enabled: true, DomainId: domainID, ParentId: domainID,
		Links: &iam.SelfLink{Self: self.String()}}
}

type requestURLKey struct{}

// withRequestURL gives the IAM operations the absolute URL of the
// request: IAM's answers link to themselves and to each project.
func withRequestURL(f iamserver.StrictHandlerFunc, _ string) iamserver.StrictHandlerFunc {
	return func(ctx context.Context, w http.ResponseWriter, r *http.Request, req any) (any, error) {
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: r.URL.RawQuery}
		if r.TLS != nil {
			u.Scheme = "https"
		}
		return f(context.WithValue(ctx, requestURLKey{}, u), w, r, req)
	}
}

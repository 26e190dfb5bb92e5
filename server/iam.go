package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/dcskit/dcskit/gen/iam"
	"github.com/dcskit/dcskit/gen/iamserver"
)

// domainID is the account that owns every project of the fake's IAM.
const domainID = "0dc5c17f4ce000000000000000000000"

// iamAPI serves the two IAM operations of openapi/iam.yaml from the
// project table (Server.Projects). Requests pass the same signature or
// token checks as the DCS API, but injected faults apply to the DCS API
// only, so that a client's project discovery does not use them up.
type iamAPI struct{ s *Server }

var _ iamserver.StrictServerInterface = iamAPI{}

func (a iamAPI) KeystoneListProjects(ctx context.Context, req iamserver.KeystoneListProjectsRequestObject) (iamserver.KeystoneListProjectsResponseObject, error) {
	u := requestURL(ctx)
	out := iam.ProjectList{Links: &iam.Links{Self: u.String()}, Projects: []iam.Project{}}
	for _, p := range a.s.Projects() {
		if req.Params.Name == nil || *req.Params.Name == p.Name {
			out.Projects = append(out.Projects, iamProject(p, u))
		}
	}
	return iamserver.KeystoneListProjects200JSONResponse(out), nil
}

func (a iamAPI) KeystoneListAuthProjects(ctx context.Context, _ iamserver.KeystoneListAuthProjectsRequestObject) (iamserver.KeystoneListAuthProjectsResponseObject, error) {
	u := requestURL(ctx)
	out := iam.AuthProjectList{Links: &iam.SelfLink{Self: u.String()}, Projects: []iam.Project{}}
	for _, p := range a.s.Projects() {
		out.Projects = append(out.Projects, iamProject(p, u))
	}
	return iamserver.KeystoneListAuthProjects200JSONResponse(out), nil
}

// iamProject is p as IAM describes a region's project; req is the URL of
// the listing.
func iamProject(p Project, req url.URL) iam.Project {
	self := url.URL{Scheme: req.Scheme, Host: req.Host, Path: "/v3/projects/" + p.ID}
	return iam.Project{
		Id: p.ID, Name: p.Name, Enabled: true,
		DomainId: domainID, ParentId: domainID,
		Links: &iam.SelfLink{Self: self.String()},
	}
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

func requestURL(ctx context.Context) url.URL {
	u, _ := ctx.Value(requestURLKey{}).(url.URL)
	return u
}

// iamCode is the error code of the fake's IAM answers other than a
// failed authentication, which the gateway answers: "IAM.0" and the HTTP
// status, such as IAM.0400.
func iamCode(status int) string { return fmt.Sprintf("IAM.%04d", status) }

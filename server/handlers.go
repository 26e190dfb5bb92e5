package server

import (
	"bytes"
	"context"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen"
	"github.com/dcskit/dcskit/gen/admin"
	"github.com/dcskit/dcskit/gen/dcsserver"
	"github.com/dcskit/dcskit/gen/iam"
	"github.com/dcskit/dcskit/gen/iamserver"
	"github.com/dcskit/dcskit/openapi"
)

// handlers serve the operations of the three documents with the Server's
// methods; their errors go to writeError. They are a type of their own,
// so that the generated interfaces are not the Server's.
type handlers struct{ s *Server }

var (
	_ dcsserver.StrictServerInterface = handlers{}
	_ admin.StrictServerInterface     = handlers{}
	_ iamserver.StrictServerInterface = handlers{}
)

func (h handlers) ListNumberOfInstancesInDifferentStatus(_ context.Context, req dcsserver.ListNumberOfInstancesInDifferentStatusRequestObject) (dcsserver.ListNumberOfInstancesInDifferentStatusResponseObject, error) {
	// Only the exact value counts, as in the real service.
	includeFailure := req.Params.IncludeFailure != nil && *req.Params.IncludeFailure == "true"
	return dcsserver.ListNumberOfInstancesInDifferentStatus200JSONResponse(h.s.Counts(req.ProjectId, includeFailure).API()), nil
}

// The IAM operations answer from the project table, linking to
// themselves and to each project. Injected faults do not apply to them,
// so that a client's discovery does not use them up.

func (h handlers) KeystoneListProjects(ctx context.Context, req iamserver.KeystoneListProjectsRequestObject) (iamserver.KeystoneListProjectsResponseObject, error) {
	self, ps := h.iamProjects(ctx, req.Params.Name)
	return iamserver.KeystoneListProjects200JSONResponse{Links: &iam.Links{Self: self}, Projects: ps}, nil
}

func (h handlers) KeystoneListAuthProjects(ctx context.Context, _ iamserver.KeystoneListAuthProjectsRequestObject) (iamserver.KeystoneListAuthProjectsResponseObject, error) {
	self, ps := h.iamProjects(ctx, nil)
	return iamserver.KeystoneListAuthProjects200JSONResponse{Links: &iam.SelfLink{Self: self}, Projects: ps}, nil
}

type requestKey struct{} // the *http.Request of an IAM operation

// domainID is the account that owns every project of the fake's IAM.
const domainID = "0dc5c17f4ce000000000000000000000"

func (h handlers) iamProjects(ctx context.Context, name *string) (string, []iam.Project) {
	r := ctx.Value(requestKey{}).(*http.Request)
	u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: r.URL.RawQuery}
	if r.TLS != nil {
		u.Scheme = "https"
	}
	out := []iam.Project{}
	for _, p := range h.s.Projects() {
		if name == nil || *name == p.Name {
			self := url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/v3/projects/" + p.ID}
			out = append(out, iam.Project{Id: p.ID, Name: p.Name, Enabled: true, DomainId: domainID, ParentId: domainID,
				Links: &iam.SelfLink{Self: self.String()}})
		}
	}
	return u.String(), out
}

func (h handlers) Healthz(context.Context, admin.HealthzRequestObject) (admin.HealthzResponseObject, error) {
	return admin.Healthz200JSONResponse{Status: admin.Ok}, nil
}

func (h handlers) Reset(context.Context, admin.ResetRequestObject) (admin.ResetResponseObject, error) {
	h.s.Reset()
	return admin.Reset204Response{}, nil
}

func (h handlers) ListInstances(_ context.Context, req admin.ListInstancesRequestObject) (admin.ListInstancesResponseObject, error) {
	p := req.Params
	limit, cursor := DefaultPageSize, uint64(0)
	if p.Limit != nil {
		limit = *p.Limit
	}
	var err error
	if p.Cursor != nil {
		cursor, err = strconv.ParseUint(*p.Cursor, 10, 64)
	}
	switch { // as the spec says, but validation may be off
	case limit < 1 || limit > MaxPageSize:
		return nil, invalid("limit", "%d is out of range 1 to %d (MaxPageSize)", limit, MaxPageSize)
	case err != nil:
		return nil, invalid("cursor", "%q is not a next_cursor of this fake", truncate(*p.Cursor, 80))
	}
	insts, next := h.s.store.page(deref(p.ProjectId), cursor, limit)
	out := admin.InstanceList{Instances: make([]admin.Instance, len(insts))}
	for i, in := range insts {
		out.Instances[i] = instanceToAPI(in)
	}
	if next != 0 {
		out.NextCursor = new(strconv.FormatUint(next, 10))
	}
	return admin.ListInstances200JSONResponse(out), nil
}

func (h handlers) AddInstances(_ context.Context, req admin.AddInstancesRequestObject) (admin.AddInstancesResponseObject, error) {
	res, err := h.s.loadFixture(*req.Body, false)
	return admin.AddInstances200JSONResponse(res), err
}

func (h handlers) ReplaceInstances(_ context.Context, req admin.ReplaceInstancesRequestObject) (admin.ReplaceInstancesResponseObject, error) {
	res, err := h.s.loadFixture(*req.Body, true)
	return admin.ReplaceInstances200JSONResponse(res), err
}

// update applies an InstanceUpdate, to id or to what f matches.
func (h handlers) update(f Filter, id string, b *admin.InstanceUpdate) (int, Instance, error) {
	if b.Status == nil && b.Becomes == nil { // validation may be off
		return 0, Instance{}, invalid("", "nothing to change: give status, becomes or both")
	}
	becomes, ie := transitionFromAPI(b.Becomes)
	if ie != nil {
		return 0, Instance{}, ie
	}
	return h.s.store.update(f, id, (*dcs.Status)(b.Status), becomes)
}

func (h handlers) UpdateInstance(_ context.Context, req admin.UpdateInstanceRequestObject) (admin.UpdateInstanceResponseObject, error) {
	_, in, err := h.update(Filter{}, req.Id, req.Body)
	return admin.UpdateInstance200JSONResponse(instanceToAPI(in)), err
}

func (h handlers) UpdateInstances(_ context.Context, req admin.UpdateInstancesRequestObject) (admin.UpdateInstancesResponseObject, error) {
	p := req.Params
	n, _, err := h.update(Filter{deref(p.ProjectId), dcs.Engine(deref(p.Engine)), dcs.Status(deref(p.Status))}, "", req.Body)
	return admin.UpdateInstances200JSONResponse{Changed: n}, err
}

func (h handlers) DeleteInstance(_ context.Context, req admin.DeleteInstanceRequestObject) (admin.DeleteInstanceResponseObject, error) {
	return admin.DeleteInstance204Response{}, h.s.Remove(req.Id)
}

// GetDocument serves the documents as they are written: admin.yaml refers
// to the others, which sit beside it.
func (h handlers) GetDocument(_ context.Context, req admin.GetDocumentRequestObject) (admin.GetDocumentResponseObject, error) {
	doc, err := openapi.Files.ReadFile(string(req.Document))
	if err != nil { // validation may be off
		ie := invalid("document", "no document %q", truncate(string(req.Document), 80))
		ie.Valid, _ = fs.Glob(openapi.Files, "*.yaml")
		return nil, ie
	}
	return admin.GetDocument200ApplicationyamlResponse{Body: bytes.NewReader(doc), ContentLength: int64(len(doc))}, nil
}

func (h handlers) ListProjects(context.Context, admin.ListProjectsRequestObject) (admin.ListProjectsResponseObject, error) {
	return admin.ListProjects200JSONResponse(projectTable(h.s.Projects())), nil
}

func (h handlers) ReplaceProjects(_ context.Context, req admin.ReplaceProjectsRequestObject) (admin.ReplaceProjectsResponseObject, error) {
	if err := h.s.SetProjects(projectsFromAPI(req.Body.Projects)...); err != nil {
		return nil, err
	}
	return admin.ReplaceProjects200JSONResponse(projectTable(h.s.Projects())), nil
}

func projectsFromAPI(in []admin.Project) []Project {
	out := make([]Project, len(in))
	for i, p := range in {
		out[i] = Project{ID: p.Id, Name: p.Name}
	}
	return out
}

func projectTable(ps []Project) admin.ProjectTable {
	out := admin.ProjectTable{Projects: make([]admin.Project, len(ps))}
	for i, p := range ps {
		out.Projects[i] = admin.Project{Id: p.ID, Name: p.Name}
	}
	return out
}

func (h handlers) InjectFault(_ context.Context, req admin.InjectFaultRequestObject) (admin.InjectFaultResponseObject, error) {
	b := req.Body
	f := Fault{ProjectID: deref(b.ProjectId), Status: deref(b.Status), Drop: deref(b.Drop), Times: deref(b.Times),
		ErrorCode: deref(b.ErrorCode), ErrorMsg: deref(b.ErrorMsg)}
	var ie *InvalidError
	switch {
	case b.Delay != nil && b.DelayMs != nil:
		return nil, invalid("delay", "give delay or delay_ms, not both")
	case b.DelayMs != nil:
		// Checked before it becomes a Duration, which a huge value would wrap.
		if ms := *b.DelayMs; ms < 0 || ms > int(MaxFaultDelay.Milliseconds()) {
			return nil, invalid("delay_ms", "%d is out of range 0 to %d (MaxFaultDelay)", ms, MaxFaultDelay.Milliseconds())
		}
		f.Delay = time.Duration(*b.DelayMs) * time.Millisecond
	case b.Delay != nil:
		f.Delay, ie = parseDuration(*b.Delay, "delay")
	}
	if b.RetryAfter != nil && ie == nil {
		f.RetryAfter, ie = parseDuration(*b.RetryAfter, "retry_after")
	}
	if ie != nil {
		return nil, ie
	}
	return admin.InjectFault204Response{}, h.s.store.pushFault(f)
}

func (h handlers) ListFaults(context.Context, admin.ListFaultsRequestObject) (admin.ListFaultsResponseObject, error) {
	out := admin.FaultList{Faults: []admin.Fault{}}
	for _, f := range h.s.Faults() {
		out.Faults = append(out.Faults, admin.Fault{ProjectId: orNil(f.ProjectID), Status: orNil(f.Status), Drop: orNil(f.Drop),
			Times: &f.Times, ErrorCode: orNil(f.ErrorCode), ErrorMsg: orNil(f.ErrorMsg),
			Delay: orNil(durationText(f.Delay)), RetryAfter: orNil(durationText(f.RetryAfter))})
	}
	return admin.ListFaults200JSONResponse(out), nil
}

func (h handlers) ClearFaults(context.Context, admin.ClearFaultsRequestObject) (admin.ClearFaultsResponseObject, error) {
	h.s.store.lock()
	defer h.s.store.mu.Unlock()
	h.s.store.faults = nil
	return admin.ClearFaults204Response{}, nil
}

func (h handlers) ListRequests(_ context.Context, req admin.ListRequestsRequestObject) (admin.ListRequestsResponseObject, error) {
	p := req.Params
	out := admin.RequestJournal{Requests: []admin.RecordedRequest{}, Dropped: h.s.DroppedRequests()}
	for _, rr := range h.s.Requests() {
		if p.Status != nil && rr.Status != *p.Status || p.Path != nil && rr.Path != *p.Path ||
			p.Method != nil && rr.Method != *p.Method || p.Auth != nil && string(rr.Auth.Result) != string(*p.Auth) {
			continue
		}
		out.Requests = append(out.Requests, admin.RecordedRequest{
			Time: rr.Time.UTC(), Method: rr.Method, Path: rr.Path, RawQuery: rr.RawQuery,
			Status: rr.Status, ErrorCode: rr.ErrorCode, RequestId: rr.RequestID,
			AccessKey: rr.AccessKey, SignedHeaders: append([]string{}, rr.SignedHeaders...),
			Auth: admin.RequestAuth{Result: admin.AuthResult(rr.Auth.Result), Reason: rr.Auth.Reason,
				CanonicalRequest: orNil(rr.Auth.CanonicalRequest), StringToSign: orNil(rr.Auth.StringToSign)},
		})
	}
	return admin.ListRequests200JSONResponse(out), nil
}

func (h handlers) ClearRequests(context.Context, admin.ClearRequestsRequestObject) (admin.ClearRequestsResponseObject, error) {
	h.s.ClearRequests()
	return admin.ClearRequests204Response{}, nil
}

func instanceToAPI(in Instance) admin.Instance {
	return admin.Instance{ProjectId: in.ProjectID, Id: in.ID, Name: in.Name,
		Engine: gen.Engine(in.Engine), Status: gen.Status(in.Status), Becomes: transitionToAPI(in.Becomes)}
}

func transitionToAPI(t *Transition) *admin.Transition {
	if t == nil {
		return nil
	}
	return &admin.Transition{Status: gen.Status(t.Status), After: t.After.String(), Then: transitionToAPI(t.Then)}
}

// transitionFromAPI reads and checks a becomes of the admin API or a
// fixture.
func transitionFromAPI(t *admin.Transition) (*Transition, *InvalidError) {
	var head *Transition
	field := "becomes"
	for link, n := &head, 0; t != nil; t, field, n = t.Then, field+".then", n+1 {
		if n == MaxChain {
			return nil, invalid("becomes", "%w", errChainTooLong)
		}
		d, ie := parseDuration(t.After, field+".after")
		if ie != nil {
			return nil, ie
		}
		*link = &Transition{Status: dcs.Status(t.Status), After: d}
		link = &(*link).Then
	}
	return head, checkTransition(head)
}

// parseDuration reads a Duration of admin.yaml.
func parseDuration(s, field string) (time.Duration, *InvalidError) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, invalid(field, `%q is not a duration such as "3s", "1.5s" or "1m30s"`, s)
	}
	return d, nil
}

func durationText(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

func deref[T any](p *T) (v T) {
	if p != nil {
		v = *p
	}
	return v
}

// orNil points at v, or is nil for the zero value: what admin.yaml leaves
// out.
func orNil[T comparable](v T) *T {
	if v == *new(T) {
		return nil
	}
	return &v
}

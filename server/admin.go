package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen/admin"
)

// adminAPI serves /_fake/ with the Server's Go methods. Its errors go to
// Server.writeError like every other.
type adminAPI struct{ s *Server }

var _ admin.StrictServerInterface = adminAPI{}

// fixtureBodyName names an admin request's fixture in errors.
const fixtureBodyName = "request body"

func (a adminAPI) Healthz(context.Context, admin.HealthzRequestObject) (admin.HealthzResponseObject, error) {
	return admin.Healthz200JSONResponse{Status: admin.Ok}, nil
}

func (a adminAPI) Reset(context.Context, admin.ResetRequestObject) (admin.ResetResponseObject, error) {
	a.s.Reset()
	return admin.Reset204Response{}, nil
}

func (a adminAPI) ListInstances(_ context.Context, req admin.ListInstancesRequestObject) (admin.ListInstancesResponseObject, error) {
	p := req.Params
	limit := DefaultPageSize
	if p.Limit != nil {
		limit = *p.Limit
	}
	// The spec says as much, but validation may be off.
	if limit < 1 || limit > MaxPageSize {
		return nil, &InvalidError{Index: -1, Field: "limit", Err: fmt.Errorf("%d is out of range 1 to %d (MaxPageSize)", limit, MaxPageSize)}
	}
	var cursor uint64
	if p.Cursor != nil {
		var err error
		if cursor, err = strconv.ParseUint(*p.Cursor, 10, 64); err != nil {
			return nil, &InvalidError{Index: -1, Field: "cursor", Err: fmt.Errorf("%q is not a next_cursor of this fake", truncate(*p.Cursor, 80))}
		}
	}
	insts, next := a.s.store.page(deref(p.ProjectId), cursor, limit)
	out := instanceList(insts)
	if next != 0 {
		c := strconv.FormatUint(next, 10)
		out.NextCursor = &c
	}
	return admin.ListInstances200JSONResponse(out), nil
}

func (a adminAPI) AddInstances(_ context.Context, req admin.AddInstancesRequestObject) (admin.AddInstancesResponseObject, error) {
	if err := a.s.applyFixtureProjects(*req.Body, a.s.projects.checkMerge); err != nil {
		return nil, err
	}
	groups, err := a.s.applyFixture(fixtureBodyName, *req.Body, a.s.store.add)
	if err == nil {
		err = a.s.applyFixtureProjects(*req.Body, a.s.projects.merge)
	}
	if err != nil {
		return nil, err
	}
	return admin.AddInstances200JSONResponse(addResult(groups)), nil
}

func (a adminAPI) ReplaceInstances(_ context.Context, req admin.ReplaceInstancesRequestObject) (admin.ReplaceInstancesResponseObject, error) {
	groups, err := a.s.applyFixture(fixtureBodyName, *req.Body, a.s.store.replace)
	if err == nil {
		err = a.s.applyFixtureProjects(*req.Body, a.s.projects.replace)
	}
	if err != nil {
		return nil, err
	}
	return admin.ReplaceInstances200JSONResponse(addResult(groups)), nil
}

// addResult answers one item per fixture entry: the answer grows with the
// request, never with its counts.
func addResult(groups []group) admin.AddResult {
	out := admin.AddResult{Instances: make([]admin.AddedEntry, len(groups))}
	for i, g := range groups {
		out.Added += g.count
		out.Instances[i] = admin.AddedEntry{
			ProjectId: g.ProjectID, Id: g.ID, Name: g.Name,
			Engine: g.Engine, Status: g.Status, Count: g.count,
			Becomes: apiTransition(g.Becomes),
		}
	}
	return out
}

// updateFromAPI reads an InstanceUpdate: a status, a change to come, or
// both.
func updateFromAPI(b *admin.InstanceUpdate) (*dcs.Status, *Transition, error) {
	// The spec says as much, but validation may be off.
	if b.Status == nil && b.Becomes == nil {
		return nil, nil, &InvalidError{Index: -1, Err: errors.New("nothing to change: give status, becomes or both")}
	}
	becomes, ie := transitionFromAPI(b.Becomes, "becomes")
	if ie != nil {
		return nil, nil, ie
	}
	return b.Status, becomes, nil
}

func (a adminAPI) UpdateInstance(_ context.Context, req admin.UpdateInstanceRequestObject) (admin.UpdateInstanceResponseObject, error) {
	status, becomes, err := updateFromAPI(req.Body)
	if err != nil {
		return nil, err
	}
	in, err := a.s.store.update(req.Id, status, becomes)
	if err != nil {
		return nil, err
	}
	return admin.UpdateInstance200JSONResponse(apiInstance(in)), nil
}

func (a adminAPI) UpdateInstances(_ context.Context, req admin.UpdateInstancesRequestObject) (admin.UpdateInstancesResponseObject, error) {
	status, becomes, err := updateFromAPI(req.Body)
	if err != nil {
		return nil, err
	}
	p := req.Params
	f := Filter{ProjectID: deref(p.ProjectId), Engine: deref(p.Engine), Status: deref(p.Status)}
	n, err := a.s.UpdateMatching(f, status, becomes)
	if err != nil {
		return nil, err
	}
	return admin.UpdateInstances200JSONResponse{Changed: n}, nil
}

func (a adminAPI) GetDocument(_ context.Context, req admin.GetDocumentRequestObject) (admin.GetDocumentResponseObject, error) {
	doc, ok := a.s.specs.documents[string(req.Document)]
	if !ok {
		// The spec says as much, but validation may be off.
		return nil, &InvalidError{Index: -1, Field: "document", Valid: slices.Sorted(maps.Keys(a.s.specs.documents)), Err: fmt.Errorf("no document %q", truncate(string(req.Document), 80))}
	}
	return admin.GetDocument200ApplicationyamlResponse{Body: bytes.NewReader(doc), ContentLength: int64(len(doc))}, nil
}

func (a adminAPI) DeleteInstance(_ context.Context, req admin.DeleteInstanceRequestObject) (admin.DeleteInstanceResponseObject, error) {
	if err := a.s.Remove(req.Id); err != nil {
		return nil, err
	}
	return admin.DeleteInstance204Response{}, nil
}

func (a adminAPI) InjectFault(_ context.Context, req admin.InjectFaultRequestObject) (admin.InjectFaultResponseObject, error) {
	f, err := faultFromAPI(req.Body)
	if err != nil {
		return nil, err
	}
	if err := a.s.faults.push(f); err != nil {
		return nil, err
	}
	return admin.InjectFault204Response{}, nil
}

// faultFromAPI reads a Fault of admin.yaml; push checks the rest.
func faultFromAPI(b *admin.Fault) (Fault, error) {
	f := Fault{
		ProjectID: deref(b.ProjectId), Status: deref(b.Status), Drop: deref(b.Drop), Times: deref(b.Times),
		ErrorCode: deref(b.ErrorCode), ErrorMsg: deref(b.ErrorMsg),
	}
	switch {
	case b.Delay != nil && b.DelayMs != nil:
		return Fault{}, &InvalidError{Index: -1, Field: "delay", Err: errors.New("give delay or delay_ms, not both")}
	case b.DelayMs != nil:
		// Checked before it becomes a Duration, which a huge value would
		// wrap around.
		if ms := *b.DelayMs; ms < 0 || ms > int(MaxFaultDelay.Milliseconds()) {
			return Fault{}, &InvalidError{Index: -1, Field: "delay_ms", Err: fmt.Errorf("%d is out of range 0 to %d (MaxFaultDelay)", ms, MaxFaultDelay.Milliseconds())}
		}
		f.Delay = time.Duration(*b.DelayMs) * time.Millisecond
	case b.Delay != nil:
		d, ie := parseDuration(*b.Delay, "delay")
		if ie != nil {
			ie.Index = -1
			return Fault{}, ie
		}
		f.Delay = d
	}
	if b.RetryAfter != nil {
		d, ie := parseDuration(*b.RetryAfter, "retry_after")
		if ie != nil {
			ie.Index = -1
			return Fault{}, ie
		}
		f.RetryAfter = d
	}
	return f, nil
}

func (a adminAPI) ListFaults(context.Context, admin.ListFaultsRequestObject) (admin.ListFaultsResponseObject, error) {
	faults := a.s.faults.list()
	out := admin.FaultList{Faults: make([]admin.Fault, len(faults))}
	for i, f := range faults {
		out.Faults[i] = faultToAPI(f)
	}
	return admin.ListFaults200JSONResponse(out), nil
}

// faultToAPI writes f as admin.yaml's Fault, leaving out what is unset.
func faultToAPI(f Fault) admin.Fault {
	out := admin.Fault{Times: &f.Times}
	if f.ProjectID != "" {
		out.ProjectId = &f.ProjectID
	}
	if f.Status != 0 {
		out.Status = &f.Status
	}
	if f.Drop {
		out.Drop = &f.Drop
	}
	if f.ErrorCode != "" {
		out.ErrorCode = &f.ErrorCode
	}
	if f.ErrorMsg != "" {
		out.ErrorMsg = &f.ErrorMsg
	}
	if f.Delay != 0 {
		out.Delay = new(f.Delay.String())
	}
	if f.RetryAfter != 0 {
		out.RetryAfter = new(f.RetryAfter.String())
	}
	return out
}

func (a adminAPI) ClearFaults(context.Context, admin.ClearFaultsRequestObject) (admin.ClearFaultsResponseObject, error) {
	a.s.faults.clear()
	return admin.ClearFaults204Response{}, nil
}

func instanceList(insts []Instance) admin.InstanceList {
	out := admin.InstanceList{Instances: make([]admin.Instance, len(insts))}
	for i, in := range insts {
		out.Instances[i] = apiInstance(in)
	}
	return out
}

func apiInstance(in Instance) admin.Instance {
	return admin.Instance{
		ProjectId: in.ProjectID, Id: in.ID, Name: in.Name,
		Engine: in.Engine, Status: in.Status,
		Becomes: apiTransition(in.Becomes),
	}
}

func apiTransition(t *Transition) *admin.Transition {
	if t == nil {
		return nil
	}
	return &admin.Transition{Status: t.Status, After: t.After.String(), Then: apiTransition(t.Then)}
}

// transitionFromAPI converts a transition of the admin API or a fixture,
// at field, and checks it. The one reading of the format.
func transitionFromAPI(t *admin.Transition, field string) (*Transition, *InvalidError) {
	var head *Transition
	for link, f, n := &head, field, 0; t != nil; t, f, n = t.Then, f+".then", n+1 {
		if n == MaxChain {
			return nil, &InvalidError{Index: -1, Field: field, Err: errChainTooLong}
		}
		d, e := parseDuration(t.After, f+".after")
		if e != nil {
			e.Index = -1
			return nil, e
		}
		*link = &Transition{Status: t.Status, After: d}
		link = &(*link).Then
	}
	if e := checkTransition(head, field); e != nil {
		e.Index = -1
		return nil, e
	}
	return head, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

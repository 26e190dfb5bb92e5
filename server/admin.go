package server

import (
	"bytes"
	"context"
	"io/fs"
	"strconv"
	"time"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen"
	"github.com/dcskit/dcskit/gen/admin"
	"github.com/dcskit/dcskit/gen/dcsserver"
	"github.com/dcskit/dcskit/openapi"
)

// handlers serve the operations of the three documents with the
// Server's methods; their errors go to writeError. They are a type of
// their own so that the generated interfaces are not the Server's.
type handlers struct{ s *Server }

var (
	_ dcsserver.StrictServerInterface = handlers{}
	_ admin.StrictServerInterface     = handlers{}
)

func (h handlers) ListNumberOfInstancesInDifferentStatus(_ context.Context, req dcsserver.ListNumberOfInstancesInDifferentStatusRequestObject) (dcsserver.ListNumberOfInstancesInDifferentStatusResponseObject, error) {
	// Only the exact value counts, as in the real service.
	includeFailure := req.Params.IncludeFailure != nil && *req.Params.IncludeFailure == "true"
	return dcsserver.ListNumberOfInstancesInDifferentStatus200JSONResponse(h.s.Counts(req.ProjectId, includeFailure).API()), nil
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
	limit := DefaultPageSize
	if p.Limit != nil {
		limit = *p.Limit
	}
	// The spec says as much, but validation may be off.
	if limit < 1 || limit > MaxPageSize {
		return nil, invalid("limit", "%d is out of range 1 to %d (MaxPageSize)", limit, MaxPageSize)
	}
	var cursor uint64
	if p.Cursor != nil {
		var err error
		if cursor, err = strconv.ParseUint(*p.Cursor, 10, 64); err != nil {
			return nil, invalid("cursor", "%q is not a next_cursor of this fake", truncate(*p.Cursor, 80))
		}
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
	if err != nil {
		return nil, err
	}
	return admin.AddInstances200JSONResponse(res), nil
}

func (h handlers) ReplaceInstances(_ context.Context, req admin.ReplaceInstancesRequestObject) (admin.ReplaceInstancesResponseObject, error) {
	res, err := h.s.loadFixture(*req.Body, true)
	if err != nil {
		return nil, err
	}
	return admin.ReplaceInstances200JSONResponse(res), nil
}

// updateFromAPI reads an InstanceUpdate: a status, a change to come, or
// both.
func updateFromAPI(b *admin.InstanceUpdate) (*dcs.Status, *Transition, error) {
	if b.Status == nil && b.Becomes == nil { // validation may be off
		return nil, nil, invalid("", "nothing to change: give status, becomes or both")
	}
	becomes, ie := transitionFromAPI(b.Becomes)
	if ie != nil {
		return nil, nil, ie
	}
	return (*dcs.Status)(b.Status), becomes, nil
}

func (h handlers) UpdateInstance(_ context.Context, req admin.UpdateInstanceRequestObject) (admin.UpdateInstanceResponseObject, error) {
	status, becomes, err := updateFromAPI(req.Body)
	if err != nil {
		return nil, err
	}
	in, err := h.s.store.update(req.Id, status, becomes)
	if err != nil {
		return nil, err
	}
	return admin.UpdateInstance200JSONResponse(instanceToAPI(in)), nil
}

func (h handlers) UpdateInstances(_ context.Context, req admin.UpdateInstancesRequestObject) (admin.UpdateInstancesResponseObject, error) {
	status, becomes, err := updateFromAPI(req.Body)
	if err != nil {
		return nil, err
	}
	p := req.Params
	f := Filter{ProjectID: deref(p.ProjectId), Engine: dcs.Engine(deref(p.Engine)), Status: dcs.Status(deref(p.Status))}
	n, err := h.s.UpdateMatching(f, status, becomes)
	if err != nil {
		return nil, err
	}
	return admin.UpdateInstances200JSONResponse{Changed: n}, nil
}

func (h handlers) DeleteInstance(_ context.Context, req admin.DeleteInstanceRequestObject) (admin.DeleteInstanceResponseObject, error) {
	if err := h.s.Remove(req.Id); err != nil {
		return nil, err
	}
	return admin.DeleteInstance204Response{}, nil
}

// GetDocument serves the documents as they are written: admin.yaml refers
// to the others, which sit beside it.
func (h handlers) GetDocument(_ context.Context, req admin.GetDocumentRequestObject) (admin.GetDocumentResponseObject, error) {
	doc, err := openapi.Files.ReadFile(string(req.Document))
	if err != nil || !fs.ValidPath(string(req.Document)) { // validation may be off
		names, _ := fs.Glob(openapi.Files, "*.yaml")
		ie := invalid("document", "no document %q", truncate(string(req.Document), 80))
		ie.Valid = names
		return nil, ie
	}
	return admin.GetDocument200ApplicationyamlResponse{Body: bytes.NewReader(doc), ContentLength: int64(len(doc))}, nil
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
	if err := h.s.faults.push(f); err != nil {
		return nil, err
	}
	return admin.InjectFault204Response{}, nil
}

func (h handlers) ListFaults(context.Context, admin.ListFaultsRequestObject) (admin.ListFaultsResponseObject, error) {
	out := admin.FaultList{Faults: []admin.Fault{}}
	for _, f := range h.s.Faults() {
		out.Faults = append(out.Faults, admin.Fault{
			ProjectId: orNil(f.ProjectID), Status: orNil(f.Status), Drop: orNil(f.Drop), Times: &f.Times,
			ErrorCode: orNil(f.ErrorCode), ErrorMsg: orNil(f.ErrorMsg),
			Delay: durationOrNil(f.Delay), RetryAfter: durationOrNil(f.RetryAfter),
		})
	}
	return admin.ListFaults200JSONResponse(out), nil
}

func (h handlers) ClearFaults(context.Context, admin.ClearFaultsRequestObject) (admin.ClearFaultsResponseObject, error) {
	h.s.faults.clear()
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

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// orNil points at v, or is nil for the zero value: what admin.yaml
// leaves out.
func orNil[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

func durationOrNil(d time.Duration) *string {
	if d == 0 {
		return nil
	}
	return new(d.String())
}

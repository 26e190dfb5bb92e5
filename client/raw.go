package client

import (
	"context"
	"errors"
	"net/http"

	"github.com/dcskit/dcskit/gen"
	"github.com/dcskit/dcskit/gen/dcsclient"
	"github.com/dcskit/dcskit/signer"
)

// RawInstanceStatus makes one attempt at the operation, authenticated as
// every call is, with include_failure set to *includeFailure (no such
// parameter for nil), and returns the answer as it came: any status, its
// headers, and the body, read up to MaxBodySize (with ErrResponseTooLarge
// past it). It neither retries nor judges the answer.
//
// edit, if not nil, changes the request after it is authenticated, just
// before it is sent: a conformance check uses it to spoil a signature.
//
// It is for tools that judge the endpoint itself, such as `dcskit
// verify`; everything else wants InstanceStatus, which checks what it
// gets.
func (c *Client) RawInstanceStatus(ctx context.Context, includeFailure *string, edit func(*http.Request)) (*http.Response, []byte, error) {
	projectID, err := c.Project(ctx)
	if err != nil {
		return nil, nil, err
	}
	params := &gen.ListNumberOfInstancesInDifferentStatusParams{IncludeFailure: includeFailure}
	req, err := dcsclient.NewListNumberOfInstancesInDifferentStatusRequest(c.endpoint, projectID, params)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set(signer.HeaderProjectID, projectID)
	if edit != nil {
		ctx = context.WithValue(ctx, editKey{}, edit)
	}
	resp, body, err := c.attempt(req.WithContext(ctx))
	if err != nil && !errors.Is(err, ErrResponseTooLarge) {
		return nil, nil, err
	}
	return resp, body, err
}

// editKey carries RawInstanceStatus's edit to authTransport.
type editKey struct{}

// editAfterAuth applies the edit that r's context carries, if any.
func editAfterAuth(r *http.Request) {
	if edit, ok := r.Context().Value(editKey{}).(func(*http.Request)); ok {
		edit(r)
	}
}

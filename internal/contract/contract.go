// Package contract checks HTTP responses against dcskit's OpenAPI
// documents with kin-openapi. Tests use it, through contracttest, so that
// every response the fake server produces, errors included, is held to the
// spec.
package contract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/dcskit/dcskit/openapi"
)

// Checker validates responses against the DCS, admin and IAM documents.
// A response to a request that neither routes (an unknown path
// or a method the path does not have) must be a DCS ErrorResponse, or for
// a 401 the API gateway's GatewayErrorResponse: the gateway authenticates
// before anything is routed. A Checker never changes once made.
type Checker struct {
	routers       []routers.Router
	errSchema     *openapi3.Schema
	gatewaySchema *openapi3.Schema
	options       *openapi3filter.Options
	// all is options that report every violation, not only the first,
	// and check that a request carries the credentials the spec asks for.
	all *openapi3filter.Options
}

// New returns the Checker of this process: the documents are parsed once
// and shared. Servers are ignored when routing, so any host matches.
func New() (*Checker, error) { return shared() }

var shared = sync.OnceValues(func() (*Checker, error) {
	docs, err := openapi.Load()
	if err != nil {
		return nil, err
	}
	dcs, admin, iam := docs.DCS, docs.Admin, docs.IAM
	c := &Checker{
		options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		},
		all: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
			AuthenticationFunc:    credentialPresent,
		},
	}
	ref := dcs.Components.Schemas["ErrorResponse"]
	if ref == nil || ref.Value == nil {
		return nil, errors.New("contract: dcs.yaml has no ErrorResponse schema")
	}
	c.errSchema = ref.Value
	ref = dcs.Components.Schemas["GatewayErrorResponse"]
	if ref == nil || ref.Value == nil {
		return nil, errors.New("contract: dcs.yaml has no GatewayErrorResponse schema")
	}
	c.gatewaySchema = ref.Value
	for _, doc := range []*openapi3.T{dcs, admin, iam} {
		anyHost := *doc // the documents are shared: route on a copy without servers
		anyHost.Servers = nil
		r, err := legacy.NewRouter(&anyHost)
		if err != nil {
			return nil, fmt.Errorf("contract: router: %w", err)
		}
		c.routers = append(c.routers, r)
	}
	return c, nil
})

// CheckResponse validates one response to req.
func (c *Checker) CheckResponse(ctx context.Context, req *http.Request, status int, header http.Header, body []byte) error {
	return c.checkResponse(ctx, req, status, header, body, c.options)
}

func (c *Checker) checkResponse(ctx context.Context, req *http.Request, status int, header http.Header, body []byte, options *openapi3filter.Options) error {
	for _, r := range c.routers {
		route, params, err := r.FindRoute(req)
		if err != nil {
			continue
		}
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{
				Request:    req,
				PathParams: params,
				Route:      route,
				Options:    options,
			},
			Status:  status,
			Header:  header,
			Options: options,
		}
		in.SetBodyBytes(body)
		if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
			return fmt.Errorf("%s %s -> %d: %w", req.Method, req.URL.EscapedPath(), status, err)
		}
		return nil
	}
	return c.checkUnrouted(req, status, header, body)
}

func (c *Checker) checkUnrouted(req *http.Request, status int, header http.Header, body []byte) error {
	where := fmt.Sprintf("%s %s -> %d (no route in the spec)", req.Method, req.URL.EscapedPath(), status)
	if status < 400 {
		return fmt.Errorf("%s: only an error may answer a request the spec does not route", where)
	}
	if ct := header.Get("Content-Type"); ct != "application/json" {
		return fmt.Errorf("%s: Content-Type %q, want application/json", where, ct)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("%s: body is not JSON: %w", where, err)
	}
	schema, name := c.errSchema, "ErrorResponse"
	if status == http.StatusUnauthorized {
		schema, name = c.gatewaySchema, "GatewayErrorResponse"
	}
	if err := schema.VisitJSON(v); err != nil {
		return fmt.Errorf("%s: body is not a valid %s: %w", where, name, err)
	}
	return nil
}

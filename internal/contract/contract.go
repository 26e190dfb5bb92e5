// Package contract checks HTTP responses against dcskit's OpenAPI
// documents with kin-openapi. Tests use it so that every response the fake
// server produces, errors included, is held to the spec.
package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/dcskit/dcskit/openapi"
)

// Checker validates responses against one or more OpenAPI documents.
// A response to a request that no document routes (an unknown path or a
// method the path does not have) must be a DCS ErrorResponse, or for a 401
// the API gateway's GatewayErrorResponse: the gateway authenticates before
// anything is routed.
type Checker struct {
	routers       []routers.Router
	errSchema     *openapi3.Schema
	gatewaySchema *openapi3.Schema
	options       *openapi3filter.Options
}

// New returns a Checker for the DCS document and any extra documents.
// Servers are ignored when routing, so any host matches.
func New(ctx context.Context, extra ...*openapi3.T) (*Checker, error) {
	dcs, err := openapi.LoadDCS(ctx)
	if err != nil {
		return nil, err
	}
	c := &Checker{
		options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
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
	for _, doc := range append([]*openapi3.T{dcs}, extra...) {
		doc.Servers = nil
		r, err := legacy.NewRouter(doc)
		if err != nil {
			return nil, fmt.Errorf("contract: router: %w", err)
		}
		c.routers = append(c.routers, r)
	}
	return c, nil
}

// CheckResponse validates one response to req.
func (c *Checker) CheckResponse(ctx context.Context, req *http.Request, status int, header http.Header, body []byte) error {
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
				Options:    c.options,
			},
			Status:  status,
			Header:  header,
			Options: c.options,
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

// ForTest returns a Checker for the DCS document and extra documents, or
// stops the test.
func ForTest(tb testing.TB, extra ...*openapi3.T) *Checker {
	tb.Helper()
	c, err := New(context.Background(), extra...)
	if err != nil {
		tb.Fatalf("contract: %v", err)
	}
	return c
}

// Transport returns a RoundTripper that validates every response it
// carries and reports a violation as a test error. The caller still gets
// the response, with its body intact.
func (c *Checker) Transport(tb testing.TB, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		if err != nil {
			return resp, err
		}
		body, rerr := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if rerr != nil {
			return resp, nil // the caller sees the short body; nothing to validate
		}
		if err := c.CheckResponse(req.Context(), req, resp.StatusCode, resp.Header, body); err != nil {
			tb.Errorf("contract: %v\nbody: %s", err, truncate(body))
		}
		return resp, nil
	})
}

// Handler wraps h so that every response it writes is validated; a
// violation is reported as a test error.
func (c *Checker) Handler(tb testing.TB, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		res := rec.Result()
		body := rec.Body.Bytes()
		if err := c.CheckResponse(r.Context(), r, res.StatusCode, res.Header, body); err != nil {
			tb.Errorf("contract: %v\nbody: %s", err, truncate(body))
		}
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		_, _ = w.Write(body)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func truncate(b []byte) []byte {
	const max = 512
	if len(b) > max {
		return append(b[:max:max], "..."...)
	}
	return b
}

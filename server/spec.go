package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"go.yaml.in/yaml/v3"

	"github.com/dcskit/dcskit/openapi"
)

// specs are the parsed documents and what is built from them. They never
// change once made, so one set serves every Server of the process: a
// Server of its own costs only its state.
type specs struct {
	dcs, admin, iam *spec
	// defaultRegion is the default of dcs.yaml's region variable: the
	// fake's IAM lists a project that has instances but no entry in the
	// project table under it.
	defaultRegion string
	// documents are what GET /_fake/openapi/{document} serves, by name.
	documents map[string][]byte
}

// loadSpecs parses and validates the documents once per process.
var loadSpecs = sync.OnceValues(func() (*specs, error) {
	docs, err := openapi.LoadAll(context.Background())
	if err != nil {
		return nil, err
	}
	var out specs
	if out.defaultRegion, err = defaultRegion(docs.DCS); err != nil {
		return nil, err
	}
	// admin.yaml as loaded, its enums filled in, before newSpec strips
	// what the validator does without.
	admin, err := yaml.Marshal(docs.Admin)
	if err != nil {
		return nil, fmt.Errorf("render admin.yaml: %w", err)
	}
	out.documents = map[string][]byte{"dcs.yaml": openapi.DCS, "admin.yaml": admin, "iam.yaml": openapi.IAM}
	if out.iam, err = newSpec(docs.IAM); err != nil {
		return nil, err
	}
	if out.dcs, err = newSpec(docs.DCS); err != nil {
		return nil, err
	}
	if out.admin, err = newSpec(docs.Admin); err != nil {
		return nil, err
	}
	return &out, nil
})

// defaultRegion reads the default of the region variable of doc's first
// server, before newSpec drops the servers.
func defaultRegion(doc *openapi3.T) (string, error) {
	if len(doc.Servers) > 0 {
		if v := doc.Servers[0].Variables["region"]; v != nil && v.Default != "" {
			return v.Default, nil
		}
	}
	return "", fmt.Errorf("server: %s: no default region in its first server", doc.Info.Title)
}

// hasPath reports whether the document has path p, which has no
// parameters.
func (sp *spec) hasPath(p string) bool { return sp.doc.Paths.Value(p) != nil }

// spec validates requests against one document.
type spec struct {
	doc    *openapi3.T
	router routers.Router
	routes map[string]specRoute
}

// validateOptions are the same for every request. What
// WithCustomSchemaErrorFunc does, but made once: that option would make
// it again for every parameter of every request.
var validateOptions = &openapi3filter.Options{
	SkipSettingDefaults: true,
	SchemaValidationOptions: []openapi3.SchemaValidationOption{
		openapi3.SetSchemaErrorMessageCustomizer(func(e *openapi3.SchemaError) string {
			return "/" + strings.Join(e.JSONPointer(), "/") + ": " + e.Reason
		}),
	},
}

func newSpec(doc *openapi3.T) (*spec, error) {
	doc.Servers = nil // match whatever host the fake listens on
	// authenticate is the one judge of credentials. kin-openapi would only
	// call a no-op for each scheme, after reading the body into memory.
	doc.Security = nil
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			op.Security = nil
		}
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("server: %s: %w", doc.Info.Title, err)
	}
	return &spec{doc: doc, router: router, routes: specRoutes(doc)}, nil
}

// schema is the named component schema.
func (sp *spec) schema(name string) *openapi3.Schema {
	if ref := sp.doc.Components.Schemas[name]; ref != nil {
		return ref.Value
	}
	return nil
}

// validate checks r against the document.
func (sp *spec) validate(r *http.Request) error {
	route, params, err := sp.findRoute(r)
	if err == nil {
		err = openapi3filter.ValidateRequest(r.Context(), &openapi3filter.RequestValidationInput{
			Request: r, PathParams: params, Route: route, Options: validateOptions,
		})
	}
	return err
}

// validator is middleware that checks requests against sp, unless
// validation is disabled.
func (s *Server) validator(sp *spec) middleware {
	return func(next http.Handler) http.Handler {
		if s.opts.DisableValidation {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := sp.validate(r); err != nil {
				s.writeError(w, r, &requestError{err})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// specRoute is an operation of the spec, found by its ServeMux pattern.
type specRoute struct {
	route  *routers.Route
	params []string // names of the path parameters
}

// specRoutes maps the ServeMux pattern of each operation of doc, as the
// generated code registers it ("GET /v2/{project_id}/instances/status"),
// to its route.
func specRoutes(doc *openapi3.T) map[string]specRoute {
	routes := map[string]specRoute{}
	for p, item := range doc.Paths.Map() {
		var params []string
		for seg := range strings.SplitSeq(p, "/") {
			if name, ok := strings.CutPrefix(seg, "{"); ok {
				params = append(params, strings.TrimSuffix(name, "}"))
			}
		}
		for method, op := range item.Operations() {
			routes[method+" "+p] = specRoute{&routers.Route{
				Spec: doc, Path: p, PathItem: item, Method: method, Operation: op,
			}, params}
		}
	}
	return routes
}

// findRoute is the route of the operation that ServeMux routed r to, with
// its path parameters, without routing r again. A path parameter holding
// "/" (sent as %2F) goes through kin-openapi's router, which does not
// route it.
func (sp *spec) findRoute(r *http.Request) (*routers.Route, map[string]string, error) {
	sr, ok := sp.routes[r.Pattern]
	if !ok {
		return sp.router.FindRoute(r)
	}
	params := make(map[string]string, len(sr.params))
	for _, name := range sr.params {
		v := r.PathValue(name)
		if strings.Contains(v, "/") {
			return sp.router.FindRoute(r)
		}
		params[name] = v
	}
	return sr.route, params, nil
}

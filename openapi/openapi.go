// Package openapi holds the hand-written OpenAPI documents of dcskit and
// exposes them to the rest of the module.
//
// dcs.yaml describes the Huawei Cloud DCS operation
// ListNumberOfInstancesInDifferentStatus. It is the single source of truth:
// gen/ is generated from it and the fake server validates requests with it.
//
// admin.yaml describes the fake server's own control API under /_fake/;
// gen/admin is generated from it.
package openapi

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

// Admin is the raw OpenAPI 3 document of the fake server's admin API
// under /_fake/.
//
//go:embed admin.yaml
var Admin []byte

// DCS is the raw OpenAPI 3 document of the DCS instance status API.
//
//go:embed dcs.yaml
var DCS []byte

// LoadDCS parses and validates the DCS document. Each call returns a new
// *openapi3.T, so callers may change theirs (drop its servers, say)
// without affecting anyone else.
func LoadDCS(ctx context.Context) (*openapi3.T, error) {
	return load(ctx, "dcs.yaml", DCS)
}

// LoadAdmin parses and validates the admin document, a new *openapi3.T
// on each call like LoadDCS.
func LoadAdmin(ctx context.Context) (*openapi3.T, error) {
	return load(ctx, "admin.yaml", Admin)
}

func load(ctx context.Context, name string, data []byte) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	loader.Context = ctx
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("openapi: parse %s: %w", name, err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("openapi: validate %s: %w", name, err)
	}
	return doc, nil
}

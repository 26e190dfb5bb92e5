// Package openapi holds the hand-written OpenAPI documents of dcskit and
// exposes them to the rest of the module.
//
// dcs.yaml describes the Huawei Cloud DCS operation
// ListNumberOfInstancesInDifferentStatus. It is the single source of truth:
// gen/ is generated from it and the fake server validates requests with it.
//
// admin.yaml describes the fake server's own control API under /_fake/;
// gen/admin is generated from it. Its Status and Engine schemas name no
// values of their own: LoadAdmin fills their enums in from dcs.yaml (by
// way of package dcs, which is generated from it), so that the statuses
// are listed in one place only.
//
// iam.yaml describes the two operations of Huawei Cloud IAM that find
// projects (KeystoneListProjects, KeystoneListAuthProjects): client/
// discovers a project id with them, through gen/iam, and the fake serves
// them, through gen/iamserver.
package openapi

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/dcskit/dcskit/dcs"
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

// IAM is the raw OpenAPI 3 document of the IAM project operations.
//
//go:embed iam.yaml
var IAM []byte

// LoadDCS parses and validates the DCS document. Each call returns a new
// *openapi3.T, so callers may change theirs (drop its servers, say)
// without affecting anyone else.
func LoadDCS(ctx context.Context) (*openapi3.T, error) {
	return load(ctx, "dcs.yaml", DCS)
}

// LoadAdmin parses and validates the admin document, a new *openapi3.T
// on each call like LoadDCS. Every schema marked x-dcskit-enum gets the
// enum it names: "statuses" or "engines" of dcs.yaml.
func LoadAdmin(ctx context.Context) (*openapi3.T, error) {
	return load(ctx, "admin.yaml", Admin, fillEnums)
}

// LoadIAM parses and validates the IAM document, a new *openapi3.T on
// each call like LoadDCS.
func LoadIAM(ctx context.Context) (*openapi3.T, error) {
	return load(ctx, "iam.yaml", IAM)
}

// ExtEnum marks a schema of admin.yaml whose enum comes from dcs.yaml.
const ExtEnum = "x-dcskit-enum"

func fillEnums(doc *openapi3.T) error {
	for name, ref := range doc.Components.Schemas {
		if ref.Value == nil {
			continue
		}
		which, ok := ref.Value.Extensions[ExtEnum]
		if !ok {
			continue
		}
		var values []any
		switch which {
		case "statuses":
			for _, s := range dcs.Statuses() {
				values = append(values, string(s))
			}
		case "engines":
			for _, e := range dcs.Engines() {
				values = append(values, string(e))
			}
		default:
			return fmt.Errorf("schema %s: %s %v: want statuses or engines", name, ExtEnum, which)
		}
		ref.Value.Enum = values
	}
	return nil
}

// Docs are the three documents, parsed and validated.
type Docs struct {
	DCS, Admin, IAM *openapi3.T
}

// LoadAll loads each document, new ones on each call, as LoadDCS does.
// The fake and the contract checker call it once per process.
func LoadAll(ctx context.Context) (Docs, error) {
	var d Docs
	var err error
	if d.DCS, err = LoadDCS(ctx); err != nil {
		return d, err
	}
	if d.Admin, err = LoadAdmin(ctx); err != nil {
		return d, err
	}
	d.IAM, err = LoadIAM(ctx)
	return d, err
}

func load(ctx context.Context, name string, data []byte, fixes ...func(*openapi3.T) error) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	loader.Context = ctx
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("openapi: parse %s: %w", name, err)
	}
	for _, fix := range fixes {
		if err := fix(doc); err != nil {
			return nil, fmt.Errorf("openapi: %s: %w", name, err)
		}
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("openapi: validate %s: %w", name, err)
	}
	return doc, nil
}

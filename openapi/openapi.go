// Package openapi holds dcskit's OpenAPI documents, as they are written,
// and parses them once per process.
//
// dcs.yaml describes the Huawei Cloud DCS operation
// ListNumberOfInstancesInDifferentStatus. It is the single source of
// truth: gen/ and package dcs are generated from it, and the fake
// validates requests with it. vocabulary.gen.yaml is generated from it:
// the statuses and engines as enums. admin.yaml describes the fake's own
// control API under /_fake/, iam.yaml the two operations of Huawei Cloud
// IAM that find projects; both refer to dcs.yaml, and admin.yaml to
// vocabulary.gen.yaml.
package openapi

import (
	"context"
	"embed"
	"fmt"
	"net/url"
	"path"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

// Files are the documents, by name: dcs.yaml, admin.yaml, iam.yaml and
// vocabulary.gen.yaml.
//
//go:embed *.yaml
var Files embed.FS

// Docs are the documents, parsed and validated, with their references
// to each other resolved.
type Docs struct {
	DCS, Admin, IAM *openapi3.T
}

// Load returns the documents, parsed once per process and shared by every
// caller, who must not change them: a caller that routes requests without
// the documents' servers routes on a shallow copy.
var Load = sync.OnceValues(func() (*Docs, error) {
	var d Docs
	for name, doc := range map[string]**openapi3.T{"dcs.yaml": &d.DCS, "admin.yaml": &d.Admin, "iam.yaml": &d.IAM} {
		loader := openapi3.NewLoader()
		loader.IsExternalRefsAllowed = true
		loader.ReadFromURIFunc = func(_ *openapi3.Loader, u *url.URL) ([]byte, error) {
			return Files.ReadFile(path.Base(u.Path))
		}
		var err error
		if *doc, err = loader.LoadFromFile(name); err == nil {
			err = (*doc).Validate(context.Background())
		}
		if err != nil {
			return nil, fmt.Errorf("openapi: %s: %w", name, err)
		}
	}
	return &d, nil
})

package dcskit

// Regenerate gen/ from the OpenAPI documents in openapi/ with the
// oapi-codegen version pinned in go.mod (see tools.go).
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config gen/oapi-codegen.yaml openapi/dcs.yaml
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config gen/admin/oapi-codegen.yaml openapi/admin.yaml

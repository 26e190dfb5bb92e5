package dcskit

// Regenerate everything that mirrors the OpenAPI documents in openapi/,
// in this order: internal/cmd/dcsgen first (package dcs's vocabulary,
// openapi/vocabulary.gen.yaml, which admin.yaml refers to, and the fake's
// limits), then gen/ with the oapi-codegen version pinned in go.mod (see
// tools.go).
//go:generate go run ./internal/cmd/dcsgen
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config gen/oapi-codegen.yaml openapi/dcs.yaml
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config gen/vocabulary.oapi-codegen.yaml openapi/vocabulary.gen.yaml
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config gen/dcsclient/oapi-codegen.yaml openapi/dcs.yaml
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config gen/dcsserver/oapi-codegen.yaml openapi/dcs.yaml
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config gen/admin/oapi-codegen.yaml openapi/admin.yaml
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config gen/iam/oapi-codegen.yaml openapi/iam.yaml
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config gen/iamclient/oapi-codegen.yaml openapi/iam.yaml
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config gen/iamserver/oapi-codegen.yaml openapi/iam.yaml

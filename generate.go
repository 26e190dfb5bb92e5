package dcskit

// Regenerate everything that mirrors the OpenAPI documents in openapi/:
// gen/ with the oapi-codegen version pinned in go.mod (see tools.go), then
// the status vocabulary of package dcs, which reads both the spec and the
// types just generated. The order matters.
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config gen/oapi-codegen.yaml openapi/dcs.yaml
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config gen/dcsserver/oapi-codegen.yaml openapi/dcs.yaml
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config gen/admin/oapi-codegen.yaml openapi/admin.yaml
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config gen/iam/oapi-codegen.yaml openapi/iam.yaml
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config gen/iamserver/oapi-codegen.yaml openapi/iam.yaml
//go:generate go run ./internal/cmd/dcsgen -spec openapi/dcs.yaml -types gen/dcs.gen.go -out dcs/spec.gen.go

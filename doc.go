// Package dcskit is a toolkit for one Huawei Cloud DCS API,
// ListNumberOfInstancesInDifferentStatus (GET /v2/{project_id}/instances/status).
//
// The OpenAPI document in openapi/ is the single source of truth; gen/ is
// generated from it, client/ is a signed, retrying client, server/ is a
// stateful fake for contract tests, and cmd/dcskit is the command line tool.
package dcskit

// Package server is a stateful fake of the Huawei Cloud DCS instance
// status API for contract tests, with the two IAM listings that find
// projects and an admin API under /_fake/. openapi/dcs.yaml, iam.yaml and
// admin.yaml say what it answers, errors included; New, Options and the
// Go methods are the way in from a Go test (see also package servertest),
// the admin API from any language.
//
// The files:
//
//	server.go    Options, Server, New, Start, the Go API of the store,
//	             JSON for net/http's own answers (Listener), ManualClock
//	store.go     the store: instances, counters, lazily made changes,
//	             the project table, the errors of bad input
//	http.go      routing, checks (credentials, project id, spec), the
//	             request log, and the one mapping of errors to bodies
//	handlers.go  the operations of dcs.yaml, iam.yaml and admin.yaml
//	fixture.go   fixtures, checked against admin.yaml's Fixture schema
//	fault.go     injected faults
//	journal.go   the request journal
//	limits.gen.go  the limits, from admin.yaml's x-dcskit-limits
package server

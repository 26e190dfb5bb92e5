// Package server is a stateful fake of the Huawei Cloud DCS instance
// status API for contract tests, with the two IAM listings that find
// projects and an admin API under /_fake/. openapi/dcs.yaml, iam.yaml and
// admin.yaml say what it answers, errors included; New, Options and the
// Go methods are the way in from a Go test (see also package servertest),
// the admin API from any language.
//
// The files:
//
//	server.go   Options, Server, New, Start and the Go API of the store
//	store.go    the store: instances, counters, lazily scheduled changes
//	http.go     routing, checks (credentials, project id, spec), request log
//	errors.go   the one mapping from errors to the spec's error bodies
//	admin.go    the operations of dcs.yaml and admin.yaml
//	iam.go      the project table and the operations of iam.yaml
//	fixture.go  fixtures, checked against admin.yaml's Fixture schema
//	fault.go    injected faults
//	journal.go  the request journal
//	listen.go   JSON for net/http's own answers, and ManualClock
//	limits.gen.go  the limits, from admin.yaml's x-dcskit-limits
package server

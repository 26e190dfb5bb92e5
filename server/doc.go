// Package server is a stateful fake of the Huawei Cloud DCS instance status
// API (GET /v2/{project_id}/instances/status) for contract tests. It runs
// in-process (Handler, NewTest) or as `dcskit serve`.
//
// It answers as the spec in openapi/dcs.yaml says, errors included: every
// answer is JSON, carries an X-Request-Id, and every error body is an
// ErrorResponse with a 9-digit DCS code, or the API gateway's body with
// APIGW.0301 for a failed authentication. Requests are validated against
// the spec unless Options.DisableValidation is set. With Options.AccessKey
// and SecretKey it verifies SDK-HMAC-SHA256 signatures as the gateway
// does (package signer); with Options.Token it checks X-Auth-Token.
//
// State is seeded and changed with Go methods (Add, SetStatus, Remove,
// Reset, LoadFixture, InjectFault) or, from any language, with the admin
// API under /_fake/ that openapi/admin.yaml describes. Counters are kept
// per project, engine and status as instances change, so a query costs
// the same whatever the number of instances.
//
// A fixture is JSON:
//
//	{"instances": [
//	  {"project_id": "0605767e...", "engine": "Redis", "status": "RUNNING", "count": 8},
//	  {"project_id": "0605767e...", "engine": "Memcached", "status": "CREATEFAILED",
//	   "id": "optional", "name": "optional"}
//	]}
//
// count (1 to 1,000,000, default 1) stands for that many instances. Parsing
// is strict; a mistake is a *FixtureError naming the entry and the valid
// values, and nothing of that fixture is loaded.
package server

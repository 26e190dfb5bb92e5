// Package server is a stateful fake of the Huawei Cloud DCS instance status
// API (GET /v2/{project_id}/instances/status) for contract tests. It runs
// in-process (Handler, or servertest.New in a Go test) or as `dcskit serve`.
//
// It answers as the spec in openapi/dcs.yaml says, errors included: every
// answer is JSON, carries an X-Request-Id, and every error body is an
// ErrorResponse with a 9-digit DCS code, or the API gateway's body with
// APIGW.0301 for a failed authentication. That holds for the answers
// net/http gives before any handler runs too (400 for a request it cannot
// parse, 431, 501, 505, and 417 for an Expect other than 100-continue),
// when the fake serves through Listener, as Start and `dcskit serve` do;
// OPTIONS * is answered 404 like any URL the fake does not serve. The
// exceptions are those HTTP leaves no room for: a client that never
// finishes its headers gets no answer (net/http closes the connection at
// ReadHeaderTimeout), the interim 100 Continue and any answer to HEAD have
// headers but no body, and a dropped connection (Fault.Drop) has nothing.
//
// Requests are validated against the spec unless
// Options.DisableValidation is set. With Options.AccessKey and SecretKey
// it verifies SDK-HMAC-SHA256 signatures as the gateway does (package
// signer); with Options.Token it checks X-Auth-Token. The admin API then
// demands the same credentials of requests from other hosts, on every
// path but /_fake/healthz; requests from loopback need none.
//
// Every resource a request can ask for is bounded (limits.go): at most
// Options.MaxInstances instances (DefaultMaxInstances), MaxChain changes
// per chain and MaxScheduledChanges in all, MaxAdminBody per admin body,
// MaxPageSize instances per page of GET /_fake/instances. A request over
// a limit changes nothing and gets a 413 whose message names the limit
// (a *LimitError in Go).
//
// State is seeded and changed with Go methods (Add, SetStatus, Schedule,
// UpdateMatching, Remove, Reset, LoadFixture, InjectFault) or, from any
// language, with the admin API under /_fake/ that openapi/admin.yaml
// describes, and that the fake serves at /_fake/openapi/admin.yaml. Its
// bodies are JSON, with Content-Type application/json, none, or what curl
// -d sends. A Fault disturbs the next requests of every project, or of one
// (Fault.ProjectID), and may choose its answer's error code and message
// (within what dcs.yaml allows) and a Retry-After; Faults lists those
// pending. Counters are kept
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
// count (1 to 1,000,000, default 1) stands for that many instances; the
// sum of the counts counts against Options.MaxInstances. An id follows
// the project_id rule (1 to 64 letters, digits, '-' or '_'); a name has
// at most 64 characters, none of them a control character.
//
// becomes schedules a change of status, as moto's state manager does:
//
//	{"project_id": "p", "engine": "Redis", "status": "CREATING", "count": 8,
//	 "becomes": {"status": "RUNNING", "after": "30s",
//	             "then": {"status": "RESTARTING", "after": "1h"}}}
//
// after is a Go duration ("3s", "1m30s", "0s" for at once) counted from
// loading, or in a then from the change before; then is optional. Every
// instance of a count gets the same schedule. The Go API has the same in
// Instance.Becomes and Schedule; SetStatus and Remove cancel a pending
// change. Changes are made on time by a timer, without any request, and a
// query stays as cheap however many are pending. An instance whose
// several changes are all due moves straight to the last of them, and a
// burst of due changes is made 1,000 instances at a time, so that a query
// never waits for all of it: a query during the burst sees some of it
// made and the rest not yet, every count adding up. Options.Clock sets the
// time they follow: a test passes a ManualClock and calls Advance instead
// of sleeping.
//
// The fake also serves the two IAM operations of openapi/iam.yaml with
// which clients find projects: GET /v3/projects?name=<region> and GET
// /v3/auth/projects, with the same signature or token checks as the DCS
// API (injected faults apply to the DCS API only). They answer from a
// project table, which comes from Options.Projects, SetProjects, the admin
// API (/_fake/projects) or a fixture's "projects":
//
//	{"instances": [...],
//	 "projects": [{"id": "0605767e...", "name": "cn-north-4"},
//	              {"id": "other_project", "name": "ap-southeast-1"}]}
//
// A project that has instances but no entry in the table is listed under
// the default region of dcs.yaml's servers, cn-north-4, the region a
// client uses when told none.
//
// The request journal records every request but those to /_fake/: what
// was asked, what was answered, which access key signed it and what the
// fake made of its credentials, with the canonical request and string to
// sign the fake computed for a signature that does not match. A test asks
// it what its code sent with Requests, or from any language with GET
// /_fake/requests. It keeps the last Options.JournalSize requests and holds
// no secret key, token or signature.
//
// Parsing is strict; a mistake (an unknown field or status, a bad or
// negative duration) is a *FixtureError naming the entry and the valid
// values, and nothing of that fixture is loaded.
package server

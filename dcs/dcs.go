// Package dcs names the engines and instance statuses of Huawei Cloud DCS
// and the counter that the instance status API reports for each status.
// The client, the fake server and the commands share these names.
//
// The vocabulary is generated from openapi/dcs.yaml (spec.gen.go): each
// counter of the StatusStatistic schema is a status, and each property of
// InstanceStatusCounts marked x-dcskit-engine is an engine. Nothing here
// lists them by hand, so a status added to the spec reaches every user of
// this package with `make generate`.
package dcs

import (
	"fmt"
	"strings"
)

// Engine is a cache engine, spelled as the DCS API spells it.
type Engine string

type engineInfo struct {
	engine Engine
	key    string
}

// Engines lists the engines in the order of the spec. The slice is the
// caller's own.
func Engines() []Engine {
	out := make([]Engine, NumEngines)
	for i, e := range engines {
		out[i] = e.engine
	}
	return out
}

// ParseEngine accepts an engine spelled exactly as the API spells it.
func ParseEngine(s string) (Engine, error) {
	if i := Engine(s).Index(); i >= 0 {
		return engines[i].engine, nil
	}
	return "", fmt.Errorf("unknown engine %q (valid: %s)", s, join(Engines()))
}

// LookupEngine accepts an engine in any case: "Redis", "redis", "REDIS".
func LookupEngine(s string) (Engine, bool) {
	for _, e := range engines {
		if strings.EqualFold(string(e.engine), s) {
			return e.engine, true
		}
	}
	return "", false
}

// Index is the engine's position in Engines, or -1 for an unknown engine.
func (e Engine) Index() int {
	for i, v := range engines {
		if v.engine == e {
			return i
		}
	}
	return -1
}

// Key is the engine's name in the API's response body and in metrics,
// such as "redis"; "" for an unknown engine.
func (e Engine) Key() string {
	if i := e.Index(); i >= 0 {
		return engines[i].key
	}
	return ""
}

// Status is the status of a DCS instance, spelled as the DCS API spells it.
type Status string

type statusInfo struct {
	status           Status
	counter, label   string
	settled, failure bool
}

// Statuses lists every status in the order of the spec, which is the order
// of the API page's table. Index(s) is a status's position here. The slice
// is the caller's own.
func Statuses() []Status {
	out := make([]Status, NumStatuses)
	for i, s := range statuses {
		out[i] = s.status
	}
	return out
}

// ParseStatus accepts a status spelled exactly as the API spells it.
func ParseStatus(s string) (Status, error) {
	if i := Status(s).Index(); i >= 0 {
		return statuses[i].status, nil
	}
	return "", fmt.Errorf("unknown status %q (valid: %s)", s, join(Statuses()))
}

// LookupStatus accepts a status as a person may write it: its name or its
// counter, in any case ("RUNNING", "running", "running_count").
func LookupStatus(s string) (Status, bool) {
	for _, v := range statuses {
		if strings.EqualFold(string(v.status), s) || strings.EqualFold(v.counter, s) {
			return v.status, true
		}
	}
	return "", false
}

// Index is the status's position in Statuses, or -1 for an unknown status.
func (s Status) Index() int {
	for i, v := range statuses {
		if v.status == s {
			return i
		}
	}
	return -1
}

func (s Status) info() statusInfo {
	if i := s.Index(); i >= 0 {
		return statuses[i]
	}
	return statusInfo{}
}

// Counter is the name of the response field that counts this status,
// such as "running_count"; "" for an unknown status.
func (s Status) Counter() string { return s.info().counter }

// Name is the counter name without "_count", such as "running": the value
// of the status label in metrics; "" for an unknown status.
func (s Status) Name() string { return s.info().label }

// StatusForCounter maps a counter name such as "running_count" back to its
// status.
func StatusForCounter(counter string) (Status, bool) {
	for _, v := range statuses {
		if v.counter == counter {
			return v.status, true
		}
	}
	return "", false
}

// Transitional reports whether an instance in this status is expected to
// move on by itself: it is being created, changed or paid for. A status is
// transitional unless the spec marks its counter x-dcskit-settled, as it
// does RUNNING, ERROR, FROZEN and CREATEFAILED. An unknown status is not.
func (s Status) Transitional() bool {
	i := s.Index()
	return i >= 0 && !statuses[i].settled
}

// Failure reports whether the status is a failure that waiting will not
// mend (x-dcskit-failure in the spec): ERROR and CREATEFAILED.
func (s Status) Failure() bool { return s.info().failure }

func join[T ~string](vs []T) string {
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = string(v)
	}
	return strings.Join(names, ", ")
}

// MaxProjectIDLength bounds a project id.
const MaxProjectIDLength = 64

// ProjectIDRule says in words what ValidProjectID accepts, for messages.
const ProjectIDRule = "1 to 64 letters, digits, '-' or '_'"

// ValidProjectID reports whether s can be a project id: 1 to
// MaxProjectIDLength letters, digits, '-' or '_'. Huawei Cloud's are 32
// hex digits; the rule is looser, so that tests can name their projects,
// and strict enough that an id never needs escaping in a URL path. The
// client refuses any other before it sends anything, and the fake answers
// it with the API's 111400002.
func ValidProjectID(s string) bool {
	if len(s) < 1 || len(s) > MaxProjectIDLength {
		return false
	}
	for _, c := range []byte(s) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
		if !ok {
			return false
		}
	}
	return true
}

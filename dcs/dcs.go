// Package dcs names the engines and instance statuses of Huawei Cloud DCS
// and the counter that the instance status API reports for each status.
// The client, the fake server and the commands share these names.
//
// The vocabulary is generated from openapi/dcs.yaml (spec.gen.go): each
// counter of the StatusStatistic schema is a status, and each property of
// InstanceStatusCounts marked x-dcskit-engine is an engine. Nothing here
// lists them by hand, so a status added to the spec reaches every user of
// this package with `make generate`. So do the project id rule
// (ValidProjectID) and the region rule (RegionPattern).
package dcs

import (
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
	out := make([]Engine, len(engines))
	for i, e := range engines {
		out[i] = e.engine
	}
	return out
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

func (e Engine) index() int {
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
	if i := e.index(); i >= 0 {
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
// of the API page's table, and of a Counters. The slice is the caller's
// own.
func Statuses() []Status {
	out := make([]Status, numStatuses)
	for i, s := range statuses {
		out[i] = s.status
	}
	return out
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

func (s Status) index() int {
	for i, v := range statuses {
		if v.status == s {
			return i
		}
	}
	return -1
}

func (s Status) info() statusInfo {
	if i := s.index(); i >= 0 {
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

// Transitional reports whether an instance in this status is expected to
// move on by itself: it is being created, changed or paid for. A status is
// transitional unless the spec marks its counter x-dcskit-settled, as it
// does RUNNING, ERROR, FROZEN and CREATEFAILED. An unknown status is not.
func (s Status) Transitional() bool { return s.index() >= 0 && !s.info().settled }

// Failure reports whether the status is a failure that waiting will not
// mend (x-dcskit-failure in the spec): ERROR and CREATEFAILED.
func (s Status) Failure() bool { return s.info().failure }

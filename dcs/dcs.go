// Package dcs names the engines and instance statuses of Huawei Cloud DCS
// and the counter that the instance status API reports for each status.
// The client, the fake server and the commands share these names.
package dcs

import (
	"fmt"
	"strings"
)

// Engine is a cache engine, spelled as the DCS API spells it.
type Engine string

const (
	Redis     Engine = "Redis"
	Memcached Engine = "Memcached"
)

// Engines lists the engines in the order the API reports them.
var Engines = []Engine{Redis, Memcached}

// ParseEngine accepts an engine spelled exactly as the API spells it.
func ParseEngine(s string) (Engine, error) {
	for _, e := range Engines {
		if string(e) == s {
			return e, nil
		}
	}
	return "", fmt.Errorf("unknown engine %q (valid: %s)", s, joinEngines())
}

// Key is the engine's name in the API's response body and in metrics:
// "redis" or "memcached".
func (e Engine) Key() string { return strings.ToLower(string(e)) }

func joinEngines() string {
	names := make([]string, len(Engines))
	for i, e := range Engines {
		names[i] = string(e)
	}
	return strings.Join(names, ", ")
}

// Status is the status of a DCS instance, spelled as the DCS API spells it.
type Status string

const (
	Paying       Status = "PAYING"
	Freezing     Status = "FREEZING"
	Migrating    Status = "MIGRATING"
	Flushing     Status = "FLUSHING"
	Upgrading    Status = "UPGRADING"
	Restoring    Status = "RESTORING"
	Extending    Status = "EXTENDING"
	Creating     Status = "CREATING"
	Running      Status = "RUNNING"
	Error        Status = "ERROR"
	Frozen       Status = "FROZEN"
	CreateFailed Status = "CREATEFAILED"
	Restarting   Status = "RESTARTING"
)

// Statuses lists every status in the order of the API page's table.
// Index(s) is a status's position here.
var Statuses = []Status{
	Paying, Freezing, Migrating, Flushing, Upgrading, Restoring, Extending,
	Creating, Running, Error, Frozen, CreateFailed, Restarting,
}

// NumStatuses is len(Statuses), usable as an array length.
const NumStatuses = 13

// ParseStatus accepts a status spelled exactly as the API spells it.
func ParseStatus(s string) (Status, error) {
	if i := Status(s).Index(); i >= 0 {
		return Statuses[i], nil
	}
	return "", fmt.Errorf("unknown status %q (valid: %s)", s, joinStatuses())
}

// Index is the status's position in Statuses, or -1 for an unknown status.
func (s Status) Index() int {
	for i, v := range Statuses {
		if v == s {
			return i
		}
	}
	return -1
}

// Counter is the name of the response field that counts this status,
// such as "running_count".
func (s Status) Counter() string { return strings.ToLower(string(s)) + "_count" }

// Name is the counter name without "_count", such as "running": the value
// of the status label in metrics.
func (s Status) Name() string { return strings.ToLower(string(s)) }

// StatusForCounter maps a counter name such as "running_count" back to its
// status.
func StatusForCounter(counter string) (Status, bool) {
	for _, s := range Statuses {
		if s.Counter() == counter {
			return s, true
		}
	}
	return "", false
}

// Transitional reports whether an instance in this status is expected to
// move on by itself: it is being created, changed or paid for. RUNNING,
// ERROR, FROZEN and CREATEFAILED are where instances settle.
func (s Status) Transitional() bool {
	switch s {
	case Running, Error, Frozen, CreateFailed:
		return false
	}
	return s.Index() >= 0
}

func joinStatuses() string {
	names := make([]string, len(Statuses))
	for i, s := range Statuses {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

package server

import (
	"fmt"
	"time"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/internal/httpserve"
)

// The fake's limits. Every resource that a request can ask for has a
// total bound, so that no request, however hostile, can exhaust the
// process: within them, a fake with a full store stays under 1.5 GB of
// RSS (`make attack` measures it; see docs/performance.md). openapi/
// admin.yaml states each one, and a test holds the two together. A
// request over a limit is answered 413 with a *LimitError that names it,
// or 400 when the admin API's schema catches it first.
const (
	// DefaultMaxInstances is how many instances the store holds at most
	// when Options.MaxInstances is 0. It is checked before anything is
	// allocated, with a fixture's counts summed first.
	DefaultMaxInstances = 1_000_000
	// MaxCount bounds one fixture entry's count.
	MaxCount = 1_000_000
	// MaxChain bounds the length of a chain of Transitions (and so
	// catches a cyclic one).
	MaxChain = 100
	// MaxScheduledChanges bounds the scheduled changes the store holds:
	// the length of every chain some instance is still in. A chain
	// shared by the instances of one fixture entry counts once.
	MaxScheduledChanges = 2_000_000
	// MaxAdminBody bounds the body of a request to the admin API.
	MaxAdminBody = 4 << 20
	// MaxAdminInFlight is how many admin requests (other than healthz)
	// are served at once; more wait their turn. It bounds the memory that
	// reading and decoding admin bodies takes.
	MaxAdminInFlight = 4
	// DefaultPageSize and MaxPageSize are the default and the largest
	// limit of GET /_fake/instances.
	DefaultPageSize = 100
	MaxPageSize     = 1000
	// MaxIDLength bounds an instance id, which follows the project_id
	// rule: 1 to 64 letters, digits, '-' or '_'.
	MaxIDLength = dcs.MaxProjectIDLength
	// MaxNameLength bounds an instance name given in a fixture or to Add,
	// in characters; a count appends "-1", "-2" and so on.
	MaxNameLength = 64
	// MaxPendingFaults bounds the queue of injected faults.
	MaxPendingFaults = 1000
	// MaxFaultDelay bounds Fault.Delay: below httpserve.WriteTimeout, so
	// that the delayed answer can still be written.
	MaxFaultDelay = httpserve.WriteTimeout - 10*time.Second
	// MaxFaultRetryAfter bounds Fault.RetryAfter: a day is past any
	// client's patience, and the header's seconds stay small.
	MaxFaultRetryAfter = 24 * time.Hour
)

// catchUpBatch is how many instances one hold of the store's lock moves
// through their due changes: a query waits for one batch at most, never
// for a whole burst.
const catchUpBatch = 1000

// LimitError is a request that would take the fake past one of its
// limits. Nothing of it is applied.
type LimitError struct {
	Limit string // the constant or option, such as "MaxInstances"
	What  string // what is limited, such as "instances in the store"
	Max   int64
	Want  int64 // what the request would need; 0 if not known
}

func (e *LimitError) Error() string {
	if e.Want > 0 {
		return fmt.Sprintf("limit %s exceeded: %s would be %d, at most %d", e.Limit, e.What, e.Want, e.Max)
	}
	return fmt.Sprintf("limit %s exceeded: %s: at most %d", e.Limit, e.What, e.Max)
}

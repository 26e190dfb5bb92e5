package dcs

import "github.com/dcskit/dcskit/gen"

// Counters holds one count per status, in the order of Statuses().
type Counters [numStatuses]int32

// Get returns the count of status s, 0 for an unknown status.
func (c Counters) Get(s Status) int32 {
	if i := s.index(); i >= 0 {
		return c[i]
	}
	return 0
}

// Add adds n to the count of status s; it does nothing for an unknown
// status.
func (c *Counters) Add(s Status, n int32) {
	if i := s.index(); i >= 0 {
		c[i] += n
	}
}

// Total is the number of instances counted, in any status.
func (c Counters) Total() int64 { return c.sum(func(statusInfo) bool { return true }) }

// Transitional is the number of instances in a transitional status (see
// Status.Transitional).
func (c Counters) Transitional() int64 { return c.sum(func(s statusInfo) bool { return !s.settled }) }

// Failures is the number of instances in a failure status (see
// Status.Failure).
func (c Counters) Failures() int64 { return c.sum(func(s statusInfo) bool { return s.failure }) }

func (c Counters) sum(which func(statusInfo) bool) int64 {
	var n int64
	for i, s := range statuses {
		if which(s) {
			n += int64(c[i])
		}
	}
	return n
}

// Engine returns the counters of engine e; zero counters for an unknown
// engine.
func (c Counts) Engine(e Engine) Counters {
	if i := e.index(); i >= 0 {
		return *c.perEngine()[i]
	}
	return Counters{}
}

// Add counts n more instances of engine e in status s, in e's counters
// and in Total; it does nothing for an unknown engine or status.
func (c *Counts) Add(e Engine, s Status, n int32) {
	if i := e.index(); i >= 0 && s.index() >= 0 {
		c.perEngine()[i].Add(s, n)
		c.Total.Add(s, n)
	}
}

// EngineSum is the sum of the engines' counters. The API's Total should
// equal it, but the live service may count engines that the spec does not
// know, so Total is kept as the API sent it.
func (c Counts) EngineSum() Counters {
	var sum Counters
	for _, e := range c.perEngine() {
		for i, v := range e {
			sum[i] += v
		}
	}
	return sum
}

// FromAPI converts the generated response type.
func FromAPI(in gen.InstanceStatusCounts) Counts {
	var out Counts
	for i, p := range totalFields(&in) {
		out.Total[i] = *p
	}
	for e, st := range engineFields(&in) {
		for i, p := range statisticFields(st) {
			out.perEngine()[e][i] = *p
		}
	}
	return out
}

// API converts to the generated response type, which serialises every
// counter, zeros included.
func (c Counts) API() gen.InstanceStatusCounts {
	var out gen.InstanceStatusCounts
	for i, p := range totalFields(&out) {
		*p = c.Total[i]
	}
	for e, st := range engineFields(&out) {
		for i, p := range statisticFields(st) {
			*p = c.perEngine()[e][i]
		}
	}
	return out
}

package dcs

import "github.com/dcskit/dcskit/gen"

// Counters holds one count per status, indexed by Status.Index().
type Counters [NumStatuses]int32

// Get returns the count of status s, 0 for an unknown status.
func (c Counters) Get(s Status) int32 {
	if i := s.Index(); i >= 0 {
		return c[i]
	}
	return 0
}

// Total is the number of instances counted, in any status.
func (c Counters) Total() int64 {
	var n int64
	for _, v := range c {
		n += int64(v)
	}
	return n
}

// Transitional is the number of instances in a transitional status (see
// Status.Transitional).
func (c Counters) Transitional() int64 {
	var n int64
	for i, s := range Statuses {
		if s.Transitional() {
			n += int64(c[i])
		}
	}
	return n
}

// Counts is what the instance status API reports: counters in total and
// per engine.
type Counts struct {
	Total     Counters
	Redis     Counters
	Memcached Counters
}

// Engine returns the counters of engine e; zero counters for an unknown
// engine.
func (c Counts) Engine(e Engine) Counters {
	switch e {
	case Redis:
		return c.Redis
	case Memcached:
		return c.Memcached
	}
	return Counters{}
}

// FromAPI converts the generated response type.
func FromAPI(in gen.InstanceStatusCounts) Counts {
	var out Counts
	for i, p := range topFields(&in) {
		out.Total[i] = *p
	}
	out.Redis = fromStatistic(in.Redis)
	out.Memcached = fromStatistic(in.Memcached)
	return out
}

// API converts to the generated response type, which serialises every
// counter, zeros included.
func (c Counts) API() gen.InstanceStatusCounts {
	var out gen.InstanceStatusCounts
	for i, p := range topFields(&out) {
		*p = c.Total[i]
	}
	out.Redis = c.Redis.statistic()
	out.Memcached = c.Memcached.statistic()
	return out
}

func fromStatistic(in gen.StatusStatistic) Counters {
	var out Counters
	for i, p := range statisticFields(&in) {
		out[i] = *p
	}
	return out
}

func (c Counters) statistic() gen.StatusStatistic {
	var out gen.StatusStatistic
	for i, p := range statisticFields(&out) {
		*p = c[i]
	}
	return out
}

// topFields and statisticFields list the generated fields in the order of
// Statuses. TestFieldsFollowStatuses pins the two orders together.
func topFields(s *gen.InstanceStatusCounts) [NumStatuses]*int32 {
	return [NumStatuses]*int32{
		&s.PayingCount, &s.FreezingCount, &s.MigratingCount, &s.FlushingCount,
		&s.UpgradingCount, &s.RestoringCount, &s.ExtendingCount, &s.CreatingCount,
		&s.RunningCount, &s.ErrorCount, &s.FrozenCount, &s.CreatefailedCount,
		&s.RestartingCount,
	}
}

func statisticFields(s *gen.StatusStatistic) [NumStatuses]*int32 {
	return [NumStatuses]*int32{
		&s.PayingCount, &s.FreezingCount, &s.MigratingCount, &s.FlushingCount,
		&s.UpgradingCount, &s.RestoringCount, &s.ExtendingCount, &s.CreatingCount,
		&s.RunningCount, &s.ErrorCount, &s.FrozenCount, &s.CreatefailedCount,
		&s.RestartingCount,
	}
}

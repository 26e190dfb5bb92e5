package server

import (
	"fmt"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen/admin"
)

// CountsFixture is a fixture under which a fake answers projectID's
// counts as c, failed creations included: one count-based entry per
// engine and status with instances. `dcskit status -o fixture` writes it
// from a real answer. A count over the fixture's limit of 1,000,000 per
// entry, or a project id a fixture cannot hold, is an *InvalidError.
func CountsFixture(projectID string, c dcs.Counts) (admin.Fixture, error) {
	fx := admin.Fixture{Instances: []admin.FixtureEntry{}}
	for _, e := range dcs.Engines() {
		counters := c.Engine(e)
		for _, st := range dcs.Statuses() {
			n := int(counters.Get(st))
			if n == 0 {
				continue
			}
			field := e.Key() + "." + st.Counter()
			if n < 0 || n > MaxCount {
				return admin.Fixture{}, &InvalidError{Index: -1, Field: field, Err: fmt.Errorf("%d is out of a fixture's range 1 to %d", n, MaxCount)}
			}
			if ie := checkInstance(Instance{ProjectID: projectID, Engine: e, Status: st}); ie != nil {
				ie.Index = -1
				return admin.Fixture{}, ie
			}
			fx.Instances = append(fx.Instances, admin.FixtureEntry{ProjectId: projectID, Engine: e, Status: st, Count: &n})
		}
	}
	return fx, nil
}

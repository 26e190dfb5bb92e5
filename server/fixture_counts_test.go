package server_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/server"
)

func TestCountsFixture(t *testing.T) {
	t.Parallel()
	want := fixtureCounts()
	fx, err := server.CountsFixture(fixtureProject, want)
	require.NoError(t, err)
	// One entry per engine and status with instances, no more.
	n := 0
	for _, e := range dcs.Engines() {
		for _, st := range dcs.Statuses() {
			if want.Engine(e).Get(st) > 0 {
				n++
			}
		}
	}
	assert.Len(t, fx.Instances, n)

	f := startHandler(t, server.Options{})
	assert.Equal(t, 200, f.call(t, "PUT", "/_fake/instances", jsonBody(t, fx)).status, "the admin API takes it as it is")
	assert.Equal(t, want, f.Counts(fixtureProject, true))
	assert.Equal(t, withoutFailed(want), f.Counts(fixtureProject, false))
}

func TestCountsFixtureRefuses(t *testing.T) {
	t.Parallel()
	var big dcs.Counts
	big.Memcached[dcs.Running.Index()] = 1_000_001
	_, err := server.CountsFixture("p", big)
	var ie *server.InvalidError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, "memcached.running_count", ie.Field)

	var one dcs.Counts
	one.Redis[dcs.Running.Index()] = 1
	_, err = server.CountsFixture("no/slash", one)
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, "project_id", ie.Field)

	fx, err := server.CountsFixture("no/slash", dcs.Counts{})
	require.NoError(t, err, "nothing to hold")
	assert.Empty(t, fx.Instances)
}

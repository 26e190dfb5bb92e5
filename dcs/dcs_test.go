package dcs_test

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen"
)

func TestStatusNames(t *testing.T) {
	t.Parallel()
	require.Len(t, dcs.Statuses(), dcs.NumStatuses)
	require.Len(t, dcs.Engines(), dcs.NumEngines)
	seen := map[string]bool{}
	for i, s := range dcs.Statuses() {
		assert.Equal(t, i, s.Index())
		assert.False(t, seen[s.Counter()], "duplicate %s", s)
		seen[s.Counter()] = true
		got, err := dcs.ParseStatus(string(s))
		require.NoError(t, err)
		assert.Equal(t, s, got)
		back, ok := dcs.StatusForCounter(s.Counter())
		assert.True(t, ok)
		assert.Equal(t, s, back)
	}
	assert.Equal(t, "createfailed_count", dcs.CreateFailed.Counter())
	assert.Equal(t, "running", dcs.Running.Name())
	assert.Equal(t, -1, dcs.Status("running").Index(), "statuses are case-sensitive")

	_, err := dcs.ParseStatus("NOPE")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "RESTARTING", "the error lists the valid values")
	_, err = dcs.ParseEngine("redis")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Redis, Memcached")
	assert.Equal(t, "memcached", dcs.Memcached.Key())
}

func TestTransitional(t *testing.T) {
	t.Parallel()
	// Every status is transitional but those the spec marks settled.
	settled := map[dcs.Status]bool{dcs.Running: true, dcs.Error: true, dcs.Frozen: true, dcs.CreateFailed: true}
	failure := map[dcs.Status]bool{dcs.Error: true, dcs.CreateFailed: true}
	for _, s := range dcs.Statuses() {
		assert.Equal(t, !settled[s], s.Transitional(), s)
		assert.Equal(t, failure[s], s.Failure(), s)
	}
	assert.False(t, dcs.Status("NOPE").Transitional())
	assert.False(t, dcs.Status("NOPE").Failure())
}

func TestLookup(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"RUNNING", "running", "Running", "running_count", "RUNNING_COUNT"} {
		s, ok := dcs.LookupStatus(in)
		assert.True(t, ok, in)
		assert.Equal(t, dcs.Running, s, in)
	}
	for _, in := range []string{"", "run", "running_counts", "_count"} {
		_, ok := dcs.LookupStatus(in)
		assert.False(t, ok, in)
	}
	for _, in := range []string{"Redis", "redis", "REDIS"} {
		e, ok := dcs.LookupEngine(in)
		assert.True(t, ok, in)
		assert.Equal(t, dcs.Redis, e)
	}
	_, ok := dcs.LookupEngine("kafka")
	assert.False(t, ok)
	assert.Equal(t, "", dcs.Engine("Kafka").Key())
	assert.Equal(t, "", dcs.Status("NOPE").Counter())
}

// The lists are the caller's own: changing one changes nobody else's.
func TestListsCannotBeChangedFromOutside(t *testing.T) {
	t.Parallel()
	s := dcs.Statuses()
	s[0] = "HACKED"
	assert.NotEqual(t, dcs.Status("HACKED"), dcs.Statuses()[0])
	e := dcs.Engines()
	e[0] = "Kafka"
	assert.Equal(t, dcs.Redis, dcs.Engines()[0])
}

// TestFieldsFollowStatuses proves that each generated field maps to the
// status whose counter is its JSON name, both ways and at both levels.
func TestFieldsFollowStatuses(t *testing.T) {
	t.Parallel()
	var c dcs.Counts
	for i := range dcs.Statuses() {
		c.Total[i] = int32(100 + i)
		c.Redis[i] = int32(200 + i)
		c.Memcached[i] = int32(300 + i)
	}
	data, err := json.Marshal(c.API())
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	for i, s := range dcs.Statuses() {
		assert.EqualValues(t, 100+i, m[s.Counter()], s)
		assert.EqualValues(t, 200+i, m["redis"].(map[string]any)[s.Counter()], s)
		assert.EqualValues(t, 300+i, m["memcached"].(map[string]any)[s.Counter()], s)
	}
	var back gen.InstanceStatusCounts
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, c, dcs.FromAPI(back))
}

func TestCountersHelpers(t *testing.T) {
	t.Parallel()
	var c dcs.Counters
	c[dcs.Running.Index()] = 16
	c[dcs.Creating.Index()] = 2
	c[dcs.Restarting.Index()] = 1
	c[dcs.CreateFailed.Index()] = 44
	assert.EqualValues(t, 16, c.Get(dcs.Running))
	assert.EqualValues(t, 0, c.Get("NOPE"))
	assert.EqualValues(t, 63, c.Total())
	assert.EqualValues(t, 3, c.Transitional())

	c[dcs.Error.Index()] = 2
	assert.EqualValues(t, 46, c.Failures())

	counts := dcs.Counts{Redis: c}
	assert.Equal(t, c, counts.Engine(dcs.Redis))
	assert.Equal(t, dcs.Counters{}, counts.Engine(dcs.Memcached))
	assert.Equal(t, dcs.Counters{}, counts.Engine("Kafka"))

	var m dcs.Counters
	m[dcs.Running.Index()] = 4
	counts.SetEngine(dcs.Memcached, m)
	counts.SetEngine("Kafka", m) // ignored
	sum := counts.EngineSum()
	assert.EqualValues(t, 20, sum.Get(dcs.Running))
	assert.EqualValues(t, 44, sum.Get(dcs.CreateFailed))
	assert.Equal(t, dcs.Counters{}, counts.Total, "EngineSum does not touch Total")
	ptrs := counts.PerEngine()
	assert.Same(t, &counts.Redis, ptrs[dcs.Redis.Index()])
	assert.Same(t, &counts.Memcached, ptrs[dcs.Memcached.Index()])
}

func TestValidProjectID(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]bool{
		"0605767e2c00d5552f8fc01a6f4d3b3a": true,
		"p":                                true,
		"my-project_2":                     true,
		strings.Repeat("a", dcs.MaxProjectIDLength):   true,
		strings.Repeat("a", dcs.MaxProjectIDLength+1): false,
		"":      false,
		"a b":   false,
		"a/b":   false,
		"a%2Fb": false,
		"a.b":   false,
		"é":     false,
		"a\x00": false,
	} {
		assert.Equal(t, want, dcs.ValidProjectID(id), "%q", id)
	}
}

// AppendJSON is generated from the spec to answer queries without
// reflection: it must write exactly what encoding/json writes for the
// generated type, for any counts.
func TestAppendJSONIsEncodingJSON(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		var c dcs.Counts
		engines := c.PerEngine()
		for _, counters := range append([]*dcs.Counters{&c.Total}, engines[:]...) {
			for j := range counters {
				switch i % 3 {
				case 0:
					counters[j] = int32(r.Uint32())
				case 1:
					counters[j] = int32(r.IntN(100))
				}
			}
		}
		want, err := json.Marshal(c.API())
		require.NoError(t, err)
		assert.Equal(t, string(want), string(c.AppendJSON(nil)))
	}
}

package dcs_test

import (
	"encoding/json"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen"
	"github.com/dcskit/dcskit/openapi"
)

func TestStatusNames(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, s := range dcs.Statuses() {
		assert.False(t, seen[s.Counter()], "duplicate %s", s)
		seen[s.Counter()] = true
		assert.Equal(t, strings.ToLower(string(s))+"_count", s.Counter())
		assert.Equal(t, strings.ToLower(string(s)), s.Name())
	}
	assert.Equal(t, "createfailed_count", dcs.CreateFailed.Counter())
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
	var counts dcs.Counts
	counts.Add(dcs.Redis, dcs.Running, 16)
	counts.Add(dcs.Redis, dcs.Creating, 2)
	counts.Add(dcs.Redis, dcs.Restarting, 1)
	counts.Add(dcs.Redis, dcs.CreateFailed, 44)
	counts.Add("Kafka", dcs.Running, 1) // ignored
	counts.Add(dcs.Redis, "NOPE", 1)    // ignored
	c := counts.Redis
	assert.EqualValues(t, 16, c.Get(dcs.Running))
	assert.EqualValues(t, 0, c.Get("NOPE"))
	assert.EqualValues(t, 63, c.Total())
	assert.EqualValues(t, 3, c.Transitional())
	c.Add(dcs.Error, 2)
	assert.EqualValues(t, 46, c.Failures())
	assert.Equal(t, counts.Redis, counts.Total, "Add counts in Total too")

	assert.Equal(t, counts.Redis, counts.Engine(dcs.Redis))
	assert.Equal(t, dcs.Counters{}, counts.Engine(dcs.Memcached))
	assert.Equal(t, dcs.Counters{}, counts.Engine("Kafka"))
	counts.Memcached.Add(dcs.Running, 4)
	sum := counts.EngineSum()
	assert.EqualValues(t, 20, sum.Get(dcs.Running))
	assert.EqualValues(t, 44, sum.Get(dcs.CreateFailed))
	assert.EqualValues(t, 16, counts.Total.Get(dcs.Running), "EngineSum does not touch Total")
}

// ValidProjectID is generated from dcs.yaml's ProjectId pattern, to spare
// the client the regexp package: it must agree with the pattern.
func TestValidProjectIDIsThePattern(t *testing.T) {
	t.Parallel()
	docs, err := openapi.Load()
	require.NoError(t, err)
	pattern := regexp.MustCompile(docs.DCS.Components.Schemas["ProjectId"].Value.Pattern)
	ids := []string{"0605767e2c00d5552f8fc01a6f4d3b3a", "p", "my-project_2", strings.Repeat("a", 64),
		strings.Repeat("a", 65), "", "a b", "a/b", "a%2Fb", "a.b", "é", "a\x00", "-", "_"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, r.IntN(70))
		for i := range b {
			b[i] = byte(r.IntN(128))
		}
		ids = append(ids, string(b))
	}
	for _, id := range ids {
		assert.Equal(t, pattern.MatchString(id), dcs.ValidProjectID(id), "%q", id)
	}
	assert.True(t, dcs.ValidProjectID("my-project_2"))
	assert.Contains(t, dcs.ProjectIDRule, "64")
	assert.True(t, regexp.MustCompile(dcs.RegionPattern).MatchString("cn-north-4"))
}

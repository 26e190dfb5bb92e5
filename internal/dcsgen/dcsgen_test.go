package dcsgen_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/internal/dcsgen"
)

func readSpec(t *testing.T, name string) string {
	t.Helper()
	spec, err := os.ReadFile("../../openapi/" + name)
	require.NoError(t, err)
	return string(spec)
}

func TestReadTheSpec(t *testing.T) {
	t.Parallel()
	spec := readSpec(t, "dcs.yaml")
	v, err := dcsgen.Read([]byte(spec))
	require.NoError(t, err)
	require.NotEmpty(t, v.Statuses)
	byName := map[string]dcsgen.Status{}
	for _, s := range v.Statuses {
		byName[s.Name] = s
		assert.Equal(t, strings.ToLower(s.Name)+"_count", s.Counter)
		assert.Equal(t, s.GoName+"Count", s.Field)
		assert.Contains(t, spec, "        "+s.Counter+":\n", "a property of the spec")
	}
	failed := byName["CREATEFAILED"]
	assert.Equal(t, "CreateFailed", failed.GoName, "x-go-name gives the Go name")
	assert.True(t, failed.Settled && failed.Failure)
	assert.True(t, byName["RUNNING"].Settled)
	assert.False(t, byName["RUNNING"].Failure)
	assert.False(t, byName["CREATING"].Settled)
	assert.Equal(t, "PAYING", v.Statuses[0].Name, "the spec's order")
	assert.Equal(t, []dcsgen.Engine{{Name: "Redis", Key: "redis", Field: "Redis"}, {Name: "Memcached", Key: "memcached", Field: "Memcached"}}, v.Engines)
	assert.Equal(t, dcsgen.Rule{Pattern: "^[A-Za-z0-9_-]{1,64}$", Words: "1 to 64 letters, digits, '-' or '_'"}, v.ProjectID)

	out, err := dcsgen.DCS(v)
	require.NoError(t, err, "the output is Go")
	assert.Contains(t, string(out), "DO NOT EDIT")
	assert.Contains(t, string(out), `CreateFailed Status = "CREATEFAILED"`)
	assert.Contains(t, string(out), "if len(s) < 1 || len(s) > 64 {")
	yaml, err := dcsgen.VocabularyYAML(v)
	require.NoError(t, err)
	assert.Contains(t, string(yaml), "        - CREATEFAILED\n")
}

// A new counter in the spec is a new status; a mistake in its markers, or
// an id rule the generator cannot turn into Go, is an error that says so.
func TestReadRejects(t *testing.T) {
	t.Parallel()
	spec := readSpec(t, "dcs.yaml")
	const counter, pattern = "        restarting_count:\n", `pattern: "^[A-Za-z0-9_-]{1,64}$"`
	require.Contains(t, spec, counter)
	require.Contains(t, spec, pattern)
	for _, tt := range []struct{ name, old, new, want string }{
		{"not a counter", counter, "        zombie:\n          type: integer\n" + counter, "<status>_count"},
		{"failure not settled", counter, "        zombie_count:\n          type: integer\n          x-dcskit-failure: true\n" + counter, "needs x-dcskit-settled"},
		{"marker not a bool", counter, "        zombie_count:\n          type: integer\n          x-dcskit-settled: yes please\n" + counter, "true or false"},
		{"id rule beyond a class", pattern, `pattern: "^[a-z]+(-[a-z]+)*$"`, "want the form"},
		{"id rule beyond ASCII", pattern, `pattern: "^[a-zé]{1,64}$"`, "ASCII"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := dcsgen.Read([]byte(strings.Replace(spec, tt.old, tt.new, 1)))
			assert.ErrorContains(t, err, tt.want)
		})
	}
	v, err := dcsgen.Read([]byte(strings.Replace(spec, counter, "        zombie_count:\n          type: integer\n"+counter, 1)))
	require.NoError(t, err)
	i := slices.IndexFunc(v.Statuses, func(s dcsgen.Status) bool { return s.Counter == "restarting_count" })
	require.Positive(t, i)
	assert.Equal(t, "Zombie", v.Statuses[i-1].GoName, "in the spec's order")
}

func TestReadLimits(t *testing.T) {
	t.Parallel()
	limits, err := dcsgen.ReadLimits([]byte(readSpec(t, "admin.yaml")))
	require.NoError(t, err)
	byName := map[string]dcsgen.Limit{}
	for _, l := range limits {
		byName[l.Name] = l
		assert.NotEmpty(t, l.Description, l.Name)
	}
	assert.Equal(t, "50 * time.Second", byName["MaxFaultDelay"].Value)
	assert.True(t, byName["MaxFaultDelay"].Duration)
	assert.Equal(t, "4194304", byName["MaxAdminBody"].Value)
	out, err := dcsgen.Limits(limits)
	require.NoError(t, err)
	assert.Contains(t, string(out), "MaxFaultRetryAfter = 24 * time.Hour")

	_, err = dcsgen.ReadLimits([]byte("x-dcskit-limits:\n  MaxX:\n    value: lots\n    description: the x.\n"))
	assert.ErrorContains(t, err, "neither an integer nor a duration")
	_, err = dcsgen.ReadLimits([]byte("openapi: 3.0.3\n"))
	assert.ErrorContains(t, err, "no x-dcskit-limits")
}

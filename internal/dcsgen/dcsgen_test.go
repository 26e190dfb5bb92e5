package dcsgen_test

import (
	"bytes"
	"go/format"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/internal/dcsgen"
)

func read(t *testing.T) (spec, types []byte) {
	t.Helper()
	spec, err := os.ReadFile("../../openapi/dcs.yaml")
	require.NoError(t, err)
	types, err = os.ReadFile("../../gen/dcs.gen.go")
	require.NoError(t, err)
	return spec, types
}

func TestReadTheSpec(t *testing.T) {
	t.Parallel()
	spec, types := read(t)
	v, err := dcsgen.Read(spec, types)
	require.NoError(t, err)
	require.NotEmpty(t, v.Statuses)
	byName := map[string]dcsgen.Status{}
	for _, s := range v.Statuses {
		byName[s.Name] = s
		assert.Equal(t, strings.ToLower(s.Name)+"_count", s.Counter)
		assert.Equal(t, s.GoName+"Count", s.Field)
		assert.Contains(t, string(spec), "        "+s.Counter+":\n", "a property of the spec")
	}
	assert.Equal(t, dcsgen.Status{
		Name: "CREATEFAILED", Counter: "createfailed_count", Label: "createfailed", GoName: "CreateFailed",
		Field: "CreateFailedCount", Settled: true, Failure: true,
		Description: byName["CREATEFAILED"].Description,
	}, byName["CREATEFAILED"], "x-go-name gives the Go name")
	assert.True(t, byName["RUNNING"].Settled)
	assert.False(t, byName["RUNNING"].Failure)
	assert.False(t, byName["CREATING"].Settled)
	assert.Equal(t, "PAYING", v.Statuses[0].Name, "the spec's order")
	assert.Equal(t, []dcsgen.Engine{{Name: "Redis", Key: "redis", Field: "Redis"}, {Name: "Memcached", Key: "memcached", Field: "Memcached"}}, v.Engines)

	var buf bytes.Buffer
	require.NoError(t, dcsgen.Write(&buf, v, "openapi/dcs.yaml"))
	_, err = format.Source(buf.Bytes())
	require.NoError(t, err, "the output is Go")
	assert.Contains(t, buf.String(), "DO NOT EDIT")
	assert.Contains(t, buf.String(), `CreateFailed Status = "CREATEFAILED"`)
}

// A new counter in the spec is a new status; a mistake in the markers or
// a spec that gen/ was not regenerated from is an error that says so.
func TestReadRejects(t *testing.T) {
	t.Parallel()
	spec, types := read(t)
	const anchor = "        restarting_count:\n"
	require.Contains(t, string(spec), anchor)
	add := func(prop string) []byte {
		return []byte(strings.Replace(string(spec), anchor, prop+anchor, 1))
	}
	tests := []struct {
		name, prop, want string
	}{
		{"not a counter", "        zombie:\n          type: integer\n", "<status>_count"},
		{"failure not settled", "        zombie_count:\n          type: integer\n          x-dcskit-failure: true\n", "needs x-dcskit-settled"},
		{"marker not a bool", "        zombie_count:\n          type: integer\n          x-dcskit-settled: yes please\n", "true or false"},
		{"types not regenerated", "        zombie_count:\n          type: integer\n", "regenerated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := dcsgen.Read(add(tt.prop), types)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	_, err := dcsgen.Read(spec, []byte("package gen\n"))
	assert.ErrorContains(t, err, "no struct")
}

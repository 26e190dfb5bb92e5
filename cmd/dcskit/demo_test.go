package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDemo(t *testing.T) {
	t.Parallel()
	// No environment at all: the demo needs no configuration.
	r := runCLI(t, nil, nil, "demo")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stderr)
	intro, table, ok := strings.Cut(r.stdout, "\n\n")
	require.True(t, ok, r.stdout)
	assert.Contains(t, intro, "http://127.0.0.1:")
	assert.Contains(t, intro, "include_failure=true")
	assert.Equal(t, [][]string{
		{"STATUS", "REDIS", "MEMCACHED", "TOTAL"},
		{"RUNNING", "8", "8", "16"},
		{"CREATEFAILED", "22", "22", "44"},
	}, rows(table))
}

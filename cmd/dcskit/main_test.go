package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// result is what one dcskit run printed and its exit status.
type result struct {
	stdout, stderr string
	code           int
}

// lockedBuffer lets a command write from several goroutines, as serve's
// request logger does.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runCLI runs dcskit in-process with only the given environment variables
// and returns what it printed and its exit status.
func runCLI(t *testing.T, ctx context.Context, environ map[string]string, args ...string) result {
	t.Helper()
	if ctx == nil {
		ctx = t.Context()
	}
	var stdout, stderr lockedBuffer
	getenv := func(k string) string { return environ[k] }
	err := run(ctx, args, getenv, &stdout, &stderr)
	code := report(err, &stderr)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"nope"}, {"--bogus"}, {"status", "extra"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, nil, nil, args...)
			assert.Equal(t, 2, r.code)
			assert.Contains(t, r.stderr, "dcskit: ")
			assert.Contains(t, r.stderr, "--help")
			assert.Empty(t, r.stdout)
		})
	}
}

func TestHelpExitsZero(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, nil, "--help")
	assert.Equal(t, 0, r.code)
	assert.Contains(t, r.stdout, "dcskit")
	r = runCLI(t, nil, nil)
	assert.Equal(t, 0, r.code)
	assert.Contains(t, r.stdout, "Available Commands")
}

package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/internal/syncbuf"
)

// result is what one dcskit run printed and its exit status.
type result struct {
	stdout, stderr string
	code           int
}

// runCLI runs dcskit in-process with only the given environment variables
// and returns what it printed and its exit status.
func runCLI(t *testing.T, ctx context.Context, environ map[string]string, args ...string) result {
	t.Helper()
	return runEnv(t, ctx, &env{getenv: mapEnv(environ)}, args...)
}

// runEnv is runCLI in e, which may set test hooks; it fills in e's stdout
// and stderr.
func runEnv(t *testing.T, ctx context.Context, e *env, args ...string) result {
	t.Helper()
	if ctx == nil {
		ctx = t.Context()
	}
	var stdout, stderr syncbuf.Buffer
	e.stdout, e.stderr = &stdout, &stderr
	err := e.run(ctx, args)
	code := report(err, &stderr)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// mapEnv is environ as getenv. Unless environ says otherwise, IAM and
// the ECS metadata service are at nowhere, so that no test reaches the
// network, or 169.254.169.254; and with no $HOME, no test reads a real
// profile file.
func mapEnv(environ map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := environ[k]; ok {
			return v
		}
		if k == client.EnvIAMEndpoint || k == client.EnvMetadataEndpoint {
			return nowhere
		}
		return ""
	}
}

// nowhere is a loopback address where nothing listens.
const nowhere = "http://127.0.0.1:1"

// running is a long-running command (serve, exporter) in the background.
type running struct {
	url    string // the first line on stdout
	stderr *syncbuf.Buffer
	stop   func() result // cancels the context and waits for the exit
}

// start runs a command in e in the background and waits for the URL on
// its first stdout line. runCLI cannot be used: it shows the output only
// after the command has returned.
func start(t *testing.T, e *env, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	var stdout, stderr syncbuf.Buffer
	e.stdout, e.stderr = &stdout, &stderr
	done := make(chan result, 1)
	go func() {
		err := e.run(ctx, args)
		code := report(err, &stderr)
		done <- result{stdout: stdout.String(), stderr: stderr.String(), code: code}
	}()
	stop := func() result {
		cancel()
		select {
		case r := <-done:
			return r
		case <-time.After(15 * time.Second):
			t.Fatalf("%s did not stop", args[0])
			return result{}
		}
	}
	t.Cleanup(func() { cancel() })
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if first, _, ok := strings.Cut(stdout.String(), "\n"); ok {
			return &running{url: first, stderr: &stderr, stop: stop}
		}
		select {
		case r := <-done:
			t.Fatalf("%s exited with %d: %s", args[0], r.code, r.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no URL on stdout; stderr: %s", stderr.String())
		}
	}
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

// A usage error points at the help of the command that was mistyped, and a
// mistyped command gets a suggestion.
func TestUsageErrorsPointAtTheRightHelp(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"stauts"}, []string{`unknown command "stauts"; did you mean status?`, "Run 'dcskit --help' for usage."}},
		{[]string{"status", "--bogus"}, []string{"unknown flag: --bogus", "Run 'dcskit status --help' for usage."}},
		{[]string{"wait", "--interval", "0s"}, []string{"--interval must be positive", "Run 'dcskit wait --help' for usage."}},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, nil, nil, tt.args...)
			assert.Equal(t, 2, r.code)
			for _, w := range tt.want {
				assert.Contains(t, r.stderr, w)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, nil, "--version")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `^dcskit \S+.* go1\.\d+`, r.stdout)
}

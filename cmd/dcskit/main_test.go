package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/internal/syncbuf"
)

// TestMain lets tests run this binary as dcskit itself, signals and exit
// status included: with DCSKIT_TEST_MAIN=1 it is main.
func TestMain(m *testing.M) {
	if os.Getenv("DCSKIT_TEST_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// result is what one dcskit run printed and its exit status.
type result struct {
	stdout, stderr string
	code           int
}

// runCLI runs dcskit in-process with only the given environment variables
// and returns what it printed and its exit status. Its clients retry at
// once.
func runCLI(t *testing.T, ctx context.Context, environ map[string]string, args ...string) result {
	t.Helper()
	return runEnv(t, ctx, &env{getenv: mapEnv(environ), clientOptions: []client.Option{instantRetries()}}, args...)
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
	code := report(e.run(ctx, args), &stderr)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// instantRetries is the client's retry policy without its backoff.
func instantRetries() client.Option {
	return client.WithRetry(client.RetryPolicy{Backoff: func(int, *http.Response) time.Duration { return 0 }})
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
		if k == client.EnvIAMEndpoint || k == "DCSKIT_METADATA_ENDPOINT" {
			return nowhere
		}
		return ""
	}
}

// nowhere is a loopback address where nothing listens.
const nowhere = "http://127.0.0.1:1"

// firstLine is a buffer that closes done once its first line is written.
type firstLine struct {
	syncbuf.Buffer
	once sync.Once
	done chan struct{}
}

func newFirstLine() *firstLine { return &firstLine{done: make(chan struct{})} }

func (f *firstLine) Write(p []byte) (int, error) {
	n, err := f.Buffer.Write(p)
	if bytes.ContainsRune(p, '\n') {
		f.once.Do(func() { close(f.done) })
	}
	return n, err
}

func (f *firstLine) line() string {
	first, _, _ := strings.Cut(f.String(), "\n")
	return first
}

// running is a long-running command (serve, exporter, proxy) in the
// background.
type running struct {
	url    string // the first line on stdout
	stderr *syncbuf.Buffer
	// stop cancels the command's context, as a signal does, and waits
	// for its exit.
	stop      func() result
	interrupt func(sig syscall.Signal) result
}

// start runs a command in e in the background and waits for the URL on
// its first stdout line.
func start(t *testing.T, e *env, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancelCause(t.Context())
	stdout, stderr := newFirstLine(), &syncbuf.Buffer{}
	e.stdout, e.stderr = stdout, stderr
	done := make(chan result, 1)
	go func() {
		code := report(e.run(ctx, args), stderr)
		done <- result{stdout: stdout.String(), stderr: stderr.String(), code: code}
	}()
	t.Cleanup(func() { cancel(nil) })
	select {
	case <-stdout.done:
	case r := <-done:
		t.Fatalf("%s exited with %d: %s", args[0], r.code, r.stderr)
	}
	interrupt := func(sig syscall.Signal) result {
		cancel(interrupted{sig})
		return <-done
	}
	return &running{url: stdout.line(), stderr: stderr, interrupt: interrupt, stop: func() result { return interrupt(syscall.SIGINT) }}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"nope"}, []string{`unknown command "nope"`, "Run 'dcskit --help' for usage."}},
		{[]string{"stauts"}, []string{`unknown command "stauts"; did you mean status?`, "Run 'dcskit --help' for usage."}},
		{[]string{"--bogus"}, []string{"unknown flag: --bogus", "Run 'dcskit --help' for usage."}},
		{[]string{"status", "extra"}, []string{"dcskit status takes no arguments", "Run 'dcskit status --help' for usage."}},
		{[]string{"status", "--bogus"}, []string{"unknown flag: --bogus", "Run 'dcskit status --help' for usage."}},
		{[]string{"wait", "--interval", "0s"}, []string{"--interval must be positive", "Run 'dcskit wait --help' for usage."}},
		{[]string{"verify", "--endpoint", nowhere, "--project-id", "p", "-o", "yaml"}, []string{`unknown output "yaml": want text, json`}},
		{[]string{"verify", "extra"}, []string{"dcskit verify takes no arguments"}},
		{[]string{"proxy"}, []string{"--upstream is required"}},
		{[]string{"proxy", "--upstream", "https://dcs.example.com/prefix"}, []string{"no path, user info, query or fragment: the path is signed"}},
		{[]string{"proxy", "--upstream", "dcs.example.com"}, []string{"want http(s)://host[:port]"}},
		{[]string{"proxy", "--upstream", "https://dcs.example.com", "extra"}, []string{"dcskit proxy takes no arguments"}},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, nil, nil, tt.args...)
			assert.Equal(t, 2, r.code)
			assert.Empty(t, r.stdout)
			assert.True(t, strings.HasPrefix(r.stderr, "dcskit: "), r.stderr)
			for _, w := range tt.want {
				assert.Contains(t, r.stderr, w)
			}
		})
	}
}

func TestHelpAndVersionExitZero(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want string // a regular expression
	}{
		{[]string{"--help"}, `dcskit counts Huawei Cloud DCS`},
		{nil, `Available Commands`},
		{[]string{"--version"}, `^dcskit \S+.* go1\.\d+`},
	} {
		r := runCLI(t, nil, nil, tt.args...)
		assert.Equal(t, 0, r.code, r.stderr)
		assert.Regexp(t, tt.want, r.stdout)
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	// No environment at all: the demo needs no configuration.
	r := runCLI(t, nil, nil, "demo")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stderr)
	intro, table, ok := strings.Cut(r.stdout, "\n\n")
	require.True(t, ok, r.stdout)
	assert.Contains(t, intro, "http://127.0.0.1:")
	assert.Contains(t, intro, "seeded with 60 instances")
	assert.Contains(t, intro, "include_failure=true")
	assert.Equal(t, [][]string{
		{"STATUS", "REDIS", "MEMCACHED", "TOTAL"},
		{"RUNNING", "8", "8", "16"},
		{"CREATEFAILED", "22", "22", "44"},
	}, rows(table))
}

package main

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/internal/syncbuf"
)

// signalBinary is dcskit built once for the tests that send it signals.
var signalBinary = sync.OnceValues(func() (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "dcskit-signal")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "dcskit")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		return "", errors.New(string(out))
	}
	return bin, nil
})

// exitCode waits for cmd and returns its exit status.
func exitCode(t *testing.T, cmd *exec.Cmd, exited <-chan error) int {
	t.Helper()
	select {
	case err := <-exited:
		if ee, ok := errors.AsType[*exec.ExitError](err); ok {
			return ee.ExitCode()
		}
		require.NoError(t, err)
		return 0
	case <-time.After(30 * time.Second): // a hang guard, not a timing
		_ = cmd.Process.Kill()
		t.Fatal("did not exit")
		return -1
	}
}

// Ctrl-C during a wait exits 130, with the progress line ended and the
// reason said once.
func TestSIGINTStopsWaitWith130(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin, err := signalBinary()
	if err != nil {
		t.Skip("cannot build dcskit:", err)
	}
	f := startFake(t, rollout)
	cmd := exec.Command(bin, "wait", "--endpoint", f.url, "--project-id", "p", "--interval", "1h")
	cmd.Env = []string{"HUAWEICLOUD_SDK_AK=" + testAK, "HUAWEICLOUD_SDK_SK=" + testSK}
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	lines := bufio.NewReader(stderr)
	first, err := lines.ReadString('\n') // the first poll is done: now waiting an hour
	require.NoError(t, err)
	// Wait closes the pipe: only once everything is read from it.
	restc := make(chan []byte, 1)
	go func() {
		rest, _ := io.ReadAll(lines)
		restc <- rest
		exited <- cmd.Wait()
	}()
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	assert.Equal(t, 130, exitCode(t, cmd, exited))
	rest := <-restc
	assert.Contains(t, first, "moving: creating 16")
	assert.True(t, strings.HasPrefix(string(rest), "last counts:\n"), "%q", rest)
	assert.True(t, strings.HasSuffix(string(rest), "\ndcskit: interrupted (interrupt)\n"), "%q", rest)
	assert.Equal(t, 1, strings.Count(string(rest), "interrupted"), "said once")
}

// A second Ctrl-C ends a command at once, even one that is draining.
func TestSecondSIGINTExitsAtOnce(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin, err := signalBinary()
	if err != nil {
		t.Skip("cannot build dcskit:", err)
	}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr syncbuf.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	url, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	go func() { exited <- cmd.Wait() }()

	// A request held by a fault keeps the drain busy for a minute.
	url = strings.TrimSpace(url)
	resp, err := contractClient(t).Post(url+"/_fake/faults", "application/json", strings.NewReader(`{"delay_ms":50000}`))
	require.NoError(t, err)
	resp.Body.Close()
	wrote := make(chan struct{})
	go func() {
		trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { close(wrote) }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), http.MethodGet, url+"/v2/p/instances/status", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-wrote
	// Give the server a moment to read the request off the wire, so that
	// it is in flight, not on an idle connection that Shutdown closes.
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	time.Sleep(200 * time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	assert.Equal(t, 130, exitCode(t, cmd, exited), stderr.String())
	assert.Contains(t, stderr.String(), "interrupted again, exiting now")
}

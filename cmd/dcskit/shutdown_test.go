package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/internal/httpserve"
	"github.com/dcskit/dcskit/internal/syncbuf"
)

// TestSIGTERMDrainsInFlightRequests runs the real binary, holds requests
// in flight with a fault delay, sends SIGTERM, and expects every one of
// them answered (200, valid per the spec) and the process to exit 0
// within the drain timeout.
func TestSIGTERMDrainsInFlightRequests(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build dcskit with")
	}
	const (
		inFlight = 32
		delay    = 2 * time.Second // well inside httpserve.DrainTimeout
	)
	require.Less(t, delay, httpserve.DrainTimeout)

	bin := filepath.Join(t.TempDir(), "dcskit")
	build := exec.Command(goTool, "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:0", "--fixture", serveFixture)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr syncbuf.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	url, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "stderr: %s", stderr.String())
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	url = strings.TrimSpace(url)

	c := contractClient(t)
	resp, err := c.Post(url+"/_fake/faults", "application/json",
		strings.NewReader(fmt.Sprintf(`{"delay_ms":%d,"times":%d}`, delay.Milliseconds(), inFlight)))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)

	type result struct {
		status int
		err    error
	}
	results := make(chan result, inFlight)
	var written sync.WaitGroup
	written.Add(inFlight)
	for range inFlight {
		go func() {
			trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { written.Done() }}
			req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet,
				url+"/v2/"+serveProject+"/instances/status?include_failure=true", nil)
			if err != nil {
				written.Done()
				results <- result{err: err}
				return
			}
			resp, err := c.Do(req)
			if err != nil {
				results <- result{err: err}
				return
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			results <- result{resp.StatusCode, err}
		}()
	}
	written.Wait()
	// The requests are on the wire; give the server a moment to read
	// them, so that none is still on an idle connection, which Shutdown
	// rightly closes. The fault delay keeps them in flight meanwhile.
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))

	for range inFlight {
		r := <-results
		if assert.NoError(t, r.err, "an in-flight request was cut off") {
			assert.Equal(t, http.StatusOK, r.status)
		}
	}
	select {
	case err := <-exited:
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			t.Fatalf("exit status %d; stderr: %s", exitErr.ExitCode(), stderr.String())
		}
		require.NoError(t, err)
	case <-time.After(httpserve.DrainTimeout + 5*time.Second):
		t.Fatalf("still running after the drain timeout; stderr: %s", stderr.String())
	}
	assert.Equal(t, inFlight+1, strings.Count(stderr.String(), "msg=request "), "every request logged: %s", stderr.String())
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/gen/admin"
	"github.com/dcskit/dcskit/internal/contract/contracttest"
)

// process is dcskit in a process of its own: this test binary, which
// TestMain makes main.
type process struct {
	cmd            *exec.Cmd
	url            string // the first line on stdout, once startProcess has it
	stdout, stderr *firstLine
	exited         chan struct{} // closed once it has exited
}

// startProcess runs dcskit with args and only the environment variables
// environ. Unless await is false, it waits for the first line on stdout.
func startProcess(t *testing.T, environ []string, await bool, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(os.Args[0], args...), stdout: newFirstLine(), stderr: newFirstLine(), exited: make(chan struct{})}
	p.cmd.Env = append(environ, "DCSKIT_TEST_MAIN=1")
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	require.NoError(t, p.cmd.Start())
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
	})
	if await {
		p.url = p.await(t, p.stdout)
	}
	return p
}

// await waits for the first line of out, stdout or stderr.
func (p *process) await(t *testing.T, out *firstLine) string {
	t.Helper()
	select {
	case <-out.done:
		return out.line()
	case <-p.exited:
		t.Fatalf("dcskit %s exited: %s", p.cmd.Args[1], p.stderr)
		return ""
	}
}

// signal sends sig and returns the exit status: 128+n if sig killed it.
func (p *process) signal(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(sig))
	<-p.exited
	return p.cmd.ProcessState.ExitCode()
}

// signals are the two that stop a command, and their words.
var signals = map[syscall.Signal]string{syscall.SIGINT: "interrupt", syscall.SIGTERM: "terminated"}

// awaitFaultsTaken waits until the fake at url has no fault pending: every
// request that took one is in flight.
func awaitFaultsTaken(t *testing.T, url string) {
	t.Helper()
	require.Eventually(t, func() bool {
		resp, err := http.Get(url + "/_fake/faults")
		require.NoError(t, err)
		defer resp.Body.Close()
		var list admin.FaultList
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
		return len(list.Faults) == 0
	}, time.Minute, 5*time.Millisecond)
}

// injectFault posts fault to the fake at url.
func injectFault(t *testing.T, url, fault string) {
	t.Helper()
	resp, err := contractClient(t).Post(url+"/_fake/faults", "application/json", strings.NewReader(fault))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
}

// SIGTERM drains the requests in flight: each is answered (200, valid per
// the spec), and serve exits 0.
func TestSIGTERMDrainsInFlightRequests(t *testing.T) {
	t.Parallel()
	const inFlight = 32
	p := startProcess(t, nil, true, "serve", "--addr", "127.0.0.1:0", "--fixture", serveFixture)
	// Long enough to be in flight when the signal arrives, well inside
	// the drain's 5s.
	injectFault(t, p.url, fmt.Sprintf(`{"delay": "1s", "times": %d}`, inFlight))
	// A transport of their own, with no idle connection that another
	// request left, which would leave a new connection unused: Shutdown
	// waits 5s for one.
	c := &http.Client{Transport: contracttest.New(t).Transport(t, &http.Transport{})}
	statuses := make(chan int, inFlight)
	for range inFlight {
		go func() {
			resp, err := c.Get(p.url + "/v2/" + serveProject + "/instances/status?include_failure=true")
			if !assert.NoError(t, err, "an in-flight request was cut off") {
				statuses <- 0
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	awaitFaultsTaken(t, p.url)
	assert.Equal(t, 0, p.signal(t, syscall.SIGTERM), p.stderr.String())
	for range inFlight {
		assert.Equal(t, http.StatusOK, <-statuses)
	}
	assert.Contains(t, p.stderr.String(), fmt.Sprintf(`msg="shutting down" in_flight=%d`, inFlight))
	assert.Equal(t, inFlight, strings.Count(p.stderr.String(), "path=/v2/"+serveProject+"/instances/status status=200"), "every request logged: %s", p.stderr)
}

// A second SIGINT ends a command at once, even one that is draining.
func TestSecondSIGINTExitsAtOnce(t *testing.T) {
	t.Parallel()
	p := startProcess(t, nil, true, "serve", "--addr", "127.0.0.1:0")
	injectFault(t, p.url, `{"delay": "50s"}`) // a drain of 5s would not see it end
	wrote := make(chan struct{})
	go func() {
		trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { close(wrote) }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), http.MethodGet, p.url+"/v2/p/instances/status", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-wrote
	awaitFaultsTaken(t, p.url)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGINT))
	require.Eventually(t, func() bool { return strings.Contains(p.stderr.String(), `msg="shutting down" in_flight=1`) }, time.Minute, 5*time.Millisecond)
	assert.Equal(t, 130, p.signal(t, syscall.SIGINT), p.stderr.String())
	assert.Contains(t, p.stderr.String(), "interrupted again, exiting now")
}

// Ctrl-C during a wait exits 130, with the progress line ended and the
// reason said once.
func TestSIGINTStopsWaitWith130(t *testing.T) {
	t.Parallel()
	f := startFake(t, rollout)
	p := startProcess(t, []string{"HUAWEICLOUD_SDK_AK=" + testAK, "HUAWEICLOUD_SDK_SK=" + testSK}, false,
		"wait", "--endpoint", f.url, "--project-id", "p", "--interval", "1h")
	first := p.await(t, p.stderr) // the first poll is done: now waiting an hour
	assert.Equal(t, 130, p.signal(t, syscall.SIGINT))
	assert.Contains(t, first, "moving: creating 16")
	rest := strings.TrimPrefix(p.stderr.String(), first+"\n")
	assert.True(t, strings.HasPrefix(rest, "last counts:\n"), "%q", rest)
	assert.True(t, strings.HasSuffix(rest, "\ndcskit: interrupted (interrupt)\n"), "%q", rest)
	assert.Equal(t, 1, strings.Count(rest, "interrupted"), "said once")
}

// hungAPI is an endpoint that answers no request; it says on arrived when
// one has come.
func hungAPI(t *testing.T) (url string, arrived <-chan struct{}) {
	t.Helper()
	c := make(chan struct{}, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c <- struct{}{}
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv.URL, c
}

// interruptCall runs a command that calls a hung API, and stops it with
// sig once its call is under way.
func interruptCall(t *testing.T, sig syscall.Signal, command string, args ...string) result {
	t.Helper()
	url, arrived := hungAPI(t)
	ctx, cancel := context.WithCancelCause(t.Context())
	go func() {
		<-arrived
		cancel(interrupted{sig})
	}()
	return runCLI(t, ctx, credsEnv(), append([]string{command, "--endpoint", url, "--project-id", "p"}, args...)...)
}

// A command that a signal cuts short exits 128+n and says so, once; one
// that stops as it should on a signal keeps its own exit status: serve 0
// after draining, 1 when it cut requests off, exporter 0 (and proxy, in
// TestProxyExitStatusAfterASignal).
func TestExitStatusAfterASignal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(t *testing.T, sig syscall.Signal) result
		code int      // 0: the signal's, 128+n
		want []string // in stderr
	}{
		{"status", func(t *testing.T, sig syscall.Signal) result { return interruptCall(t, sig, "status") }, 0, nil},
		{"verify", func(t *testing.T, sig syscall.Signal) result { return interruptCall(t, sig, "verify") }, 0, nil},
		{"wait", func(t *testing.T, sig syscall.Signal) result { return interruptCall(t, sig, "wait") }, 0, nil},
		{"serve", func(t *testing.T, sig syscall.Signal) result {
			return start(t, &env{getenv: mapEnv(nil)}, "serve", "--addr", "127.0.0.1:0").interrupt(sig)
		}, 0, []string{`msg="shutting down" in_flight=0`}},
		{"serve cutting a request off", func(t *testing.T, sig syscall.Signal) result {
			s := start(t, &env{getenv: mapEnv(nil), drain: 10 * time.Millisecond}, "serve", "--addr", "127.0.0.1:0")
			injectFault(t, s.url, `{"delay": "50s"}`)
			go func() {
				if resp, err := http.Get(s.url + "/v2/p/instances/status"); err == nil {
					resp.Body.Close()
				}
			}()
			awaitFaultsTaken(t, s.url)
			return s.interrupt(sig)
		}, 1, []string{`msg="shutting down" in_flight=1`,
			"dcskit: shut down with 1 request(s) cut off, still in flight after draining for 10ms\n"}},
		{"exporter", func(t *testing.T, sig syscall.Signal) result {
			url, _ := hungAPI(t)
			// It listens once the first pass is over, or --timeout has passed.
			return start(t, &env{getenv: mapEnv(credsEnv())}, "exporter", "--listen", "127.0.0.1:0", "--endpoint", url, "--project-id", "p",
				"--timeout", "200ms").interrupt(sig)
		}, 0, []string{`msg="shutting down" in_flight=0`}},
	}
	for sig, word := range signals {
		for _, tt := range tests {
			t.Run(fmt.Sprint(tt.name, " ", word), func(t *testing.T) {
				t.Parallel()
				r := tt.run(t, sig)
				if tt.want == nil {
					assert.Equal(t, 128+int(sig), r.code)
					assert.Equal(t, "dcskit: interrupted ("+word+")\n", r.stderr)
					return
				}
				assert.Equal(t, tt.code, r.code, r.stderr)
				for _, w := range tt.want {
					assert.Contains(t, r.stderr, w)
				}
				assert.NotContains(t, r.stderr, "interrupted")
			})
		}
	}
}

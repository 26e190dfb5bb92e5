package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/server"
)

// rollout is a project whose 16 new instances come up after 25s (Redis)
// and 45s (Memcached) beside 2 running ones.
const rollout = `{"instances":[
	{"project_id":"p","engine":"Redis","status":"RUNNING","count":2},
	{"project_id":"p","engine":"Redis","status":"CREATING","count":8,"becomes":{"status":"RUNNING","after":"25s"}},
	{"project_id":"p","engine":"Memcached","status":"CREATING","count":8,"becomes":{"status":"RUNNING","after":"45s"}}
]}`

// rolloutPolls is what a wait for rollout at 10s intervals prints to
// stderr: one timestamped line per poll, stderr not being a terminal.
var rolloutPolls = []string{
	"2026-05-01T12:00:00Z moving: creating 16; running 2",
	"2026-05-01T12:00:10Z moving: creating 16; running 2",
	"2026-05-01T12:00:20Z moving: creating 16; running 2",
	"2026-05-01T12:00:30Z moving: creating 8; running 10",
	"2026-05-01T12:00:40Z moving: creating 8; running 10",
	"2026-05-01T12:00:50Z settled: running 18",
}

// waitArgs are the arguments of a wait against f, before args.
func waitArgs(f *fakeDCS, args ...string) []string {
	return append([]string{"wait", "--endpoint", f.url, "--project-id", "p", "--interval", "10s"}, args...)
}

// lines splits output into lines.
func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

func TestWaitSettles(t *testing.T) {
	t.Parallel()
	f := startFake(t, rollout)
	r := runEnv(t, nil, f.env(credsEnv()), waitArgs(f)...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, [][]string{
		{"STATUS", "REDIS", "MEMCACHED", "TOTAL"},
		{"RUNNING", "10", "8", "18"},
	}, rows(r.stdout))
	assert.Equal(t, rolloutPolls, lines(r.stderr))
	assert.Equal(t, int32(6), f.queries.Load())
	assert.Equal(t, epoch.Add(50*time.Second), f.clock.Now(), "no sleep after the last poll")
}

// -o json prints the final counts as status -o json does.
func TestWaitJSON(t *testing.T) {
	t.Parallel()
	f := startFake(t, rollout)
	r := runEnv(t, nil, f.env(credsEnv()), waitArgs(f, "-o", "json")...)
	require.Equal(t, 0, r.code, r.stderr)
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
	assert.EqualValues(t, 18, got["running_count"])
	assert.EqualValues(t, 8, got["memcached"].(map[string]any)["running_count"])
	assert.EqualValues(t, 0, got["createfailed_count"], "asked for, so a number")
	assert.Equal(t, rolloutPolls, lines(r.stderr))

	r = runEnv(t, nil, f.env(credsEnv()), waitArgs(f, "-o", "yaml")...)
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, `unknown output "yaml": want table, json`)
}

// Each --help says what --timeout bounds, and its default.
func TestTimeoutHelp(t *testing.T) {
	t.Parallel()
	for command, want := range map[string]string{
		"status":   "limit for the whole command, retries included (0: none) (default 30s)",
		"wait":     "limit for the whole command, retries included (0: none) (default 30m0s)",
		"verify":   "limit for the whole command, retries included (0: none) (default 1m0s)",
		"exporter": "bound on one API call, retries included (default 8s)",
	} {
		r := runCLI(t, nil, nil, command, "--help")
		require.Equal(t, 0, r.code)
		assert.Regexp(t, `--timeout duration +`+regexp.QuoteMeta(want)+"\n", r.stdout, command)
		assert.Contains(t, r.stdout, "--no-sign-request", command)
		assert.Contains(t, r.stdout, "DCSKIT_IAM_TOKEN", command)
		if command != "verify" {
			assert.Contains(t, r.stdout, "Failed creations (CREATEFAILED) are counted", command)
		}
	}
	r := runCLI(t, nil, nil, "wait", "--help")
	assert.Regexp(t, `--interval duration +time between polls \(default 10s\)`, r.stdout)
	r = runCLI(t, nil, nil, "status", "--help")
	for _, w := range []string{"Examples:", "dcskit status -o json", "--include-failure", "--region", "HUAWEICLOUD_SDK_AK"} {
		assert.Contains(t, r.stdout, w)
	}
}

func TestWaitTimesOut(t *testing.T) {
	t.Parallel()
	f := startFake(t, rollout)
	r := runEnv(t, nil, f.env(credsEnv()), waitArgs(f, "--timeout", "40s")...)
	assert.Equal(t, 1, r.code)
	assert.Empty(t, r.stdout)
	assert.Equal(t, append(rolloutPolls[:4:4],
		"last counts:",
		"STATUS    REDIS  MEMCACHED  TOTAL",
		"CREATING  0      8          8",
		"RUNNING   10     0          10",
		"dcskit: timed out after 40s and 4 polls; not yet: creating 8",
	), lines(r.stderr))
	assert.Equal(t, epoch.Add(40*time.Second), f.clock.Now())
}

func TestWaitUntil(t *testing.T) {
	t.Parallel()
	// One instance restarts for good: only --until can settle this.
	const fixture = `{"instances":[
		{"project_id":"p","engine":"Redis","status":"RESTARTING"},
		{"project_id":"p","engine":"Redis","status":"CREATING","count":16,"becomes":{"status":"RUNNING","after":"15s"}}
	]}`
	tests := []struct {
		name  string
		until []string
		at    time.Duration
	}{
		{"total", []string{"running_count>=16"}, 20 * time.Second},
		{"engine and total", []string{"redis.running_count>=16", "creating==0"}, 20 * time.Second},
		{"already true", []string{"memcached.running_count==0"}, 0},
		// A status as a person writes it serves as well as its counter.
		{"status names", []string{"RUNNING>=16", "running>=16", "Redis.CREATING==0"}, 20 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := startFake(t, fixture)
			var args []string
			for _, u := range tt.until {
				args = append(args, "--until", u)
			}
			r := runEnv(t, nil, f.env(credsEnv()), waitArgs(f, args...)...)
			require.Equal(t, 0, r.code, r.stderr)
			assert.Contains(t, rows(r.stdout), []string{"RESTARTING", "1", "0", "1"})
			assert.Equal(t, epoch.Add(tt.at), f.clock.Now())
		})
	}
}

func TestWaitFailOnError(t *testing.T) {
	t.Parallel()
	f := startFake(t, `{"instances":[
		{"project_id":"p","engine":"Redis","status":"CREATING","count":3,"becomes":{"status":"RUNNING","after":"1m"}},
		{"project_id":"p","engine":"Memcached","status":"CREATING","becomes":{"status":"CREATEFAILED","after":"15s"}}
	]}`)
	r := runEnv(t, nil, f.env(credsEnv()), waitArgs(f, "--fail-on-error")...)
	assert.Equal(t, 1, r.code)
	assert.Empty(t, r.stdout)
	assert.Contains(t, r.stderr, "2026-05-01T12:00:20Z moving: creating 3; createfailed 1\nlast counts:\n")
	assert.Contains(t, r.stderr, "dcskit: instances failed: 1 in CREATEFAILED\n")
	assert.Equal(t, int32(3), f.queries.Load(), "stops at the first poll that sees a failure")
	assert.Equal(t, epoch.Add(20*time.Second), f.clock.Now())

	r = runEnv(t, nil, f.env(credsEnv()), waitArgs(f)...)
	assert.Equal(t, 0, r.code, "without --fail-on-error, a failed creation is settled: %s", r.stderr)
}

func TestWaitRejectedAtOnce(t *testing.T) {
	t.Parallel()
	f := startFake(t, rollout)
	env := f.env(map[string]string{"HUAWEICLOUD_SDK_AK": testAK, "HUAWEICLOUD_SDK_SK": "wrong-" + testSK})
	r := runEnv(t, nil, env, waitArgs(f)...)
	assert.Equal(t, 1, r.code)
	assert.Empty(t, r.stdout)
	assert.Contains(t, r.stderr, "dcskit: stopped after 1 polls: HTTP 401")
	assert.Equal(t, 1, strings.Count(r.stderr, "APIGW.0301"), "the error is printed once")
	assert.NotContains(t, r.stderr, "last counts")
	assert.NotContains(t, r.stderr, testSK)
	assert.Equal(t, int32(1), f.queries.Load(), "a 401 is neither retried nor polled again")
	assert.Equal(t, epoch, f.clock.Now(), "no waiting")
}

func TestWaitRetriesTransientFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		times   int
		queries int32 // good answers plus faults
		failed  int   // polls that failed
	}{
		{"retried by the client", 2, 6 + 2, 0},
		// The first poll's 3 attempts fail; 5 more polls settle.
		{"retried by the next poll", 4, 5 + 4, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := startFake(t, rollout)
			f.InjectFault(server.Fault{Status: 503, Times: tt.times})
			r := runEnv(t, nil, f.env(credsEnv()), waitArgs(f)...)
			require.Equal(t, 0, r.code, r.stderr)
			assert.Contains(t, r.stdout, "RUNNING")
			assert.Equal(t, tt.failed, strings.Count(r.stderr, "poll failed, trying again: after 3 attempts: HTTP 503"), r.stderr)
			assert.Equal(t, tt.queries, f.queries.Load())
		})
	}
}

func TestWaitUsageErrors(t *testing.T) {
	t.Parallel()
	f := startFake(t, rollout)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--until", "running>>16"}, `"running>>16"`},
		{[]string{"--until", "healthy_count>=1"}, "unknown counter"},
		{[]string{"--until", "running_count>=-1"}, "non-negative"},
		{[]string{"--interval", "0s"}, "--interval must be positive"},
		{[]string{"--interval", "-1s"}, "--interval must be positive"},
		{[]string{"--interval", "often"}, "invalid argument"},
		{[]string{"--timeout", "soon"}, "invalid argument"},
		{[]string{"extra"}, "no arguments"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			r := runEnv(t, nil, f.env(credsEnv()), waitArgs(f, tt.args...)...)
			assert.Equal(t, 2, r.code, r.stderr)
			assert.Contains(t, r.stderr, tt.want)
			assert.Empty(t, r.stdout)
		})
	}
	assert.Zero(t, f.queries.Load(), "nothing is sent")
}

// A project with no instances settles at once, which a mistyped project id
// would too: wait says so.
func TestWaitWarnsOnAnEmptyProject(t *testing.T) {
	t.Parallel()
	f := startFake(t, rollout)
	args := waitArgs(f)
	for i, a := range args {
		if a == "--project-id" {
			args[i+1] = "no-such-project"
		}
	}
	r := runEnv(t, nil, f.env(credsEnv()), args...)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "warning: project no-such-project has no instances")
}

func TestWaitCompletesUntil(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, nil, "__complete", "wait", "--until", "")
	require.Equal(t, 0, r.code, r.stderr)
	for _, s := range dcs.Statuses() {
		assert.Contains(t, r.stdout, s.Counter()+"\n")
		assert.Contains(t, r.stdout, "redis."+s.Counter()+"\n")
	}
}

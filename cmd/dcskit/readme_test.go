package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"mvdan.cc/sh/v3/syntax"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/exporter"
	"github.com/dcskit/dcskit/internal/promtest"
	"github.com/dcskit/dcskit/signer"
)

// Every shell example of the README and every Example of a command's
// --help runs here exactly as written, as a user would type it, in one
// shell per README section or per command:
//
//   - dcskit runs in-process. What a user has set is the environment:
//     AK/SK, IAM's endpoint and the endpoint of every region of DCS
//     (HUAWEICLOUD_SDK_REGION_DCS_<REGION>) at a fake that stands for
//     Huawei Cloud; an example's own assignments (VAR=value, export) add
//     to it. The fake's time moves as wait polls, so a wait of minutes
//     takes none.
//   - serve, exporter and proxy are started, checked (healthz, a scrape,
//     a request through the proxy), left running for the lines after
//     them, and stopped at the end, where they must exit 0.
//   - Fixed ports, such as 127.0.0.1:8080, are the harness's to map, as a
//     container's ports are: a command listens on a free port, and
//     dcskit's clients and curl (--connect-to) reach it under the port
//     the example names. proxy's upstream, a real region's host, is the
//     fake too.
//   - curl, jq and grep are the real programs, and go install and go run
//     really build, from the root of the clone, into a scratch GOBIN. A
//     program that is not installed fails the example, unless
//     DCSKIT_SKIP_TOOL_TESTS=1 (which CI never sets) skips it. curl also
//     gets --fail-with-body, so that an HTTP error fails the example.
//   - Relative paths are the clone's, and files an example writes
//     (> file) go to a scratch directory.
//   - make test is the one line not run: it is what runs this.
//
// A ```text block right after a ```sh block is the exact stdout of its
// last line. A page of docs/ that another test of this package reads
// whole, in a world of its own, is left to it.

// examplesFixture is what the fake holds: a project in cn-north-4 (the
// default region) whose Redis instances are being created, and one in
// ap-southeast-1 with the API page's counts.
const examplesFixture = `{
  "instances": [
    {"project_id": "0a1b2c3d4e5f", "engine": "Redis", "status": "CREATING", "count": 16, "becomes": {"status": "RUNNING", "after": "2m"}},
    {"project_id": "0a1b2c3d4e5f", "engine": "Memcached", "status": "RUNNING", "count": 2},
    {"project_id": "p-apse1", "engine": "Redis", "status": "RUNNING", "count": 8},
    {"project_id": "p-apse1", "engine": "Memcached", "status": "RUNNING", "count": 8},
    {"project_id": "p-apse1", "engine": "Redis", "status": "CREATEFAILED", "count": 22},
    {"project_id": "p-apse1", "engine": "Memcached", "status": "CREATEFAILED", "count": 22}
  ],
  "projects": [{"id": "0a1b2c3d4e5f", "name": "cn-north-4"}, {"id": "p-apse1", "name": "ap-southeast-1"}]
}`

// notRun are the example lines the harness does not run, and why.
var notRun = map[string]string{
	"make test": "it is the command that runs this test",
}

// example is a shell example and the output shown after it, if any.
type example struct {
	script string
	output string
}

// docSections are the sh blocks of the README and of docs/*.md, by
// section: the README's by heading, the others' as "docs/page.md: heading".
// A page that another test of this package reads whole is left to it.
func docSections(t *testing.T) map[string][]example {
	t.Helper()
	pages, err := filepath.Glob("../../docs/*.md")
	require.NoError(t, err)
	claimed := claimed(t)
	out := map[string][]example{}
	fence := regexp.MustCompile("(?s)\n```([a-z]*)\n(.*?)```")
	for _, path := range append([]string{"../../README.md"}, pages...) {
		page := strings.TrimPrefix(path, "../../")
		if claimed[page] {
			continue
		}
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		// The title's part, before the first section, is one too.
		for _, part := range regexp.MustCompile(`(?m)^## `).Split(string(data), -1) {
			heading, body, _ := strings.Cut(part, "\n")
			if page != "README.md" {
				heading = page + ": " + heading
			}
			prev := ""
			for _, m := range fence.FindAllStringSubmatch(body, -1) {
				switch {
				case m[1] == "sh":
					out[heading] = append(out[heading], example{script: m[2]})
				case m[1] == "text" && prev == "sh":
					out[heading][len(out[heading])-1].output = m[2]
				}
				prev = m[1]
			}
		}
	}
	return out
}

func TestREADMEExamples(t *testing.T) {
	t.Parallel()
	sections := docSections(t)
	require.NotEmpty(t, sections, "the README shows no example")
	for heading, examples := range sections {
		t.Run(heading, func(t *testing.T) {
			t.Parallel()
			s := newSession(t)
			for _, ex := range examples {
				s.run(ex)
			}
		})
	}
}

// claimed are the pages of docs/ that a test of this package reads whole.
func claimed(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("*_test.go")
	require.NoError(t, err)
	out := map[string]bool{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range regexp.MustCompile(`os\.ReadFile\("\.\./\.\./(docs/[^"]+)"\)`).FindAllSubmatch(src, -1) {
			out[string(m[1])] = true
		}
	}
	return out
}

func TestHelpExamples(t *testing.T) {
	t.Parallel()
	for _, c := range (&env{getenv: mapEnv(nil)}).root().Commands() {
		t.Run(c.Name(), func(t *testing.T) {
			t.Parallel()
			require.NotEmpty(t, c.Example, "every command shows an example")
			s := newSession(t)
			s.run(example{script: c.Example})
		})
	}
}

// session is one shell in which a user runs examples, in order.
type session struct {
	t       *testing.T
	f       *fakeDCS
	environ map[string]string
	ports   *portMap
	dir     string            // where files that examples write go
	files   map[string]string // file name in an example -> path
	servers []*running        // long-running commands, stopped at the end
}

func newSession(t *testing.T) *session {
	t.Helper()
	f := startFake(t, examplesFixture)
	environ := credsEnv(client.EnvIAMEndpoint, f.url)
	for _, r := range sdkRegions() {
		environ[client.EnvEndpointPrefix+strings.ToUpper(strings.ReplaceAll(r, "-", "_"))] = f.url
	}
	s := &session{t: t, f: f, environ: environ, ports: &portMap{ports: map[string]string{}}, dir: t.TempDir(), files: map[string]string{}}
	t.Cleanup(func() {
		for _, r := range s.servers {
			stopped := r.stop()
			assert.Equal(t, 0, stopped.code, "%s stopped: %s", r.url, stopped.stderr)
		}
	})
	return s
}

// sdkRegions are the regions of regions.txt.
func sdkRegions() []string {
	regions, _ := completeRegion(nil, nil, "")
	return regions
}

// env is the environment of one command of s, with assigns added.
func (s *session) env(assigns map[string]string) *env {
	environ := maps.Clone(s.environ)
	maps.Copy(environ, assigns)
	return &env{
		getenv: mapEnv(environ),
		clock:  fakeTime{s.f.clock},
		clientOptions: []client.Option{
			client.WithRetry(client.RetryPolicy{Backoff: func(int, *http.Response) time.Duration { return 0 }}),
			client.WithHTTPClient(&http.Client{Transport: &http.Transport{DialContext: s.ports.dial}}),
		},
		transport: redirect{s.f.url},
		listenOn:  s.ports.listen,
	}
}

// run parses ex as a shell script and runs each of its commands.
func (s *session) run(ex example) {
	t := s.t
	t.Helper()
	file, err := syntax.NewParser().Parse(strings.NewReader(ex.script), "example")
	require.NoError(t, err, ex.script)
	require.NotEmpty(t, file.Stmts, ex.script)
	var last string
	for _, st := range file.Stmts {
		line := strings.TrimSpace(ex.script[st.Pos().Offset():st.End().Offset()])
		if why, ok := notRun[line]; ok {
			t.Logf("not run: %s: %s", line, why)
			continue
		}
		last = s.stmt(line, st)
	}
	if ex.output != "" {
		assert.Equal(t, ex.output, last, "the output the README shows")
	}
}

// stage is one command of a pipeline.
type stage struct {
	assigns map[string]string
	args    []string
}

// stmt runs one statement of an example and returns its stdout.
func (s *session) stmt(line string, st *syntax.Stmt) string {
	t := s.t
	t.Helper()
	require.False(t, st.Negated || st.Coprocess, "shell syntax the harness does not run: %s", line)
	if decl, ok := st.Cmd.(*syntax.DeclClause); ok {
		require.Equal(t, "export", decl.Variant.Value, line)
		for _, a := range decl.Args {
			s.environ[a.Name.Value] = word(t, a.Value, line)
		}
		return ""
	}
	var stages []stage
	redirectTo := ""
	var flatten func(st *syntax.Stmt)
	flatten = func(st *syntax.Stmt) {
		for _, r := range st.Redirs {
			require.Equal(t, syntax.RdrOut, r.Op, "redirection the harness does not run: %s", line)
			redirectTo = word(t, r.Word, line)
		}
		switch cmd := st.Cmd.(type) {
		case *syntax.BinaryCmd:
			require.Equal(t, syntax.Pipe, cmd.Op, "shell syntax the harness does not run: %s", line)
			flatten(cmd.X)
			flatten(cmd.Y)
		case *syntax.CallExpr:
			sg := stage{assigns: map[string]string{}}
			for _, a := range cmd.Assigns {
				sg.assigns[a.Name.Value] = word(t, a.Value, line)
			}
			for _, w := range cmd.Args {
				sg.args = append(sg.args, word(t, w, line))
			}
			stages = append(stages, sg)
		default:
			t.Fatalf("shell syntax the harness does not run: %s", line)
		}
	}
	flatten(st)
	var out string
	for i, sg := range stages {
		out = s.command(line, sg, out, i == len(stages)-1 && redirectTo == "", st.Background)
	}
	if redirectTo != "" {
		s.files[redirectTo] = filepath.Join(s.dir, redirectTo)
		require.NoError(t, os.WriteFile(s.files[redirectTo], []byte(out), 0o600))
	}
	return out
}

// word is the value of a shell word made of literals and quotes only.
func word(t *testing.T, w *syntax.Word, line string) string {
	t.Helper()
	if w == nil {
		return ""
	}
	var b strings.Builder
	for _, p := range w.Parts {
		switch p := p.(type) {
		case *syntax.Lit:
			b.WriteString(p.Value)
		case *syntax.SglQuoted:
			b.WriteString(p.Value)
		case *syntax.DblQuoted:
			for _, q := range p.Parts {
				lit, ok := q.(*syntax.Lit)
				require.True(t, ok, "expansion the harness does not run: %s", line)
				b.WriteString(lit.Value)
			}
		default:
			t.Fatalf("expansion the harness does not run: %s", line)
		}
	}
	return b.String()
}

// longRunning are the commands that serve until they are stopped.
var longRunning = []string{"serve", "exporter", "proxy"}

// command runs one stage with stdin and returns its stdout. A
// long-running command runs in the background, & or not.
func (s *session) command(line string, sg stage, stdin string, last, background bool) string {
	t := s.t
	t.Helper()
	require.NotEmpty(t, sg.args, line)
	long := sg.args[0] == "dcskit" && len(sg.args) > 1 && slices.Contains(longRunning, sg.args[1])
	require.True(t, long || !background, "only a long-running command runs in the background: %s", line)
	switch sg.args[0] {
	case "dcskit":
		args := s.paths(sg.args[1:])
		e := s.env(sg.assigns)
		if long {
			require.True(t, last, "a long-running command ends its line: %s", line)
			r := start(t, e, args...)
			s.check(line, args, r.url)
			s.servers = append(s.servers, r)
			return ""
		}
		r := runEnv(t, nil, e, args...)
		require.Equal(t, 0, r.code, "%s\nstdout: %s\nstderr: %s", line, r.stdout, r.stderr)
		return r.stdout
	case "curl":
		args := []string{"--fail-with-body"}
		for from, to := range s.ports.all() {
			args = append(args, "--connect-to", ":"+from+":127.0.0.1:"+to)
		}
		return s.exec(line, "curl", "", append(args, sg.args[1:]...), stdin)
	case "jq", "grep":
		return s.exec(line, sg.args[0], "", sg.args[1:], stdin)
	case "go":
		require.Contains(t, [][]string{{"install", "./cmd/dcskit"}, {"run", "./cmd/dcskit"}}, sg.args[1:3], "go commands the harness runs: %s", line)
		return s.exec(line, "go", "../..", sg.args[1:], stdin)
	}
	t.Fatalf("a program the harness does not run: %s", line)
	return ""
}

// exec runs prog with args in dir ("" for the session's), and returns
// its stdout.
func (s *session) exec(line, prog, dir string, args []string, stdin string) string {
	t := s.t
	t.Helper()
	path, err := exec.LookPath(prog)
	if err != nil && os.Getenv("DCSKIT_SKIP_TOOL_TESTS") == "1" {
		t.Skipf("DCSKIT_SKIP_TOOL_TESTS=1 and %s is not installed: %s", prog, line)
	}
	require.NoError(t, err, "%s is not installed (DCSKIT_SKIP_TOOL_TESTS=1 skips what needs it): %s", prog, line)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute) // a hang guard, not a timing
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = s.dir
	if dir != "" {
		cmd.Dir = dir
	}
	cmd.Env = append(os.Environ(), "GOBIN="+s.dir)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "%s\nrun: %q\nstdout: %s\nstderr: %s", line, cmd.Args, stdout.String(), stderr.String())
	if prog == "go" && args[0] == "install" {
		_, err := os.Stat(filepath.Join(s.dir, "dcskit"))
		require.NoError(t, err, "go install put dcskit in GOBIN")
	}
	return stdout.String()
}

// paths resolves the file arguments of a dcskit command as a shell in the
// clone would: files the session wrote, then the clone's own.
func (s *session) paths(args []string) []string {
	out := slices.Clone(args)
	for i, a := range out {
		if p, ok := s.files[a]; ok {
			out[i] = p
			continue
		}
		if strings.Contains(a, "/") && !strings.Contains(a, ":") && !filepath.IsAbs(a) {
			if _, err := os.Stat(filepath.Join("../..", a)); err == nil {
				out[i] = filepath.Join("../..", a)
			}
		}
	}
	return out
}

// check makes sure that a long-running command serves: the fake's
// healthz, a scrape that reached the API, a status through the proxy.
func (s *session) check(line string, args []string, base string) {
	t := s.t
	t.Helper()
	switch args[0] {
	case "serve":
		resp, err := http.Get(base + "/_fake/healthz")
		require.NoError(t, err, line)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, line)
		if fixture := flagValue(args, "--fixture"); slices.Contains(slices.Collect(maps.Values(s.files)), fixture) {
			// A fixture that status -o fixture wrote answers as the
			// fake it came from.
			for _, p := range []string{"p-apse1"} {
				want := statusBody(t, s.f.url, p, "?include_failure=true", true)
				assert.Equal(t, want, statusBody(t, base, p, "?include_failure=true", false), line)
			}
		}
	case "exporter":
		families := promtest.Scrape(t, base)
		assert.Equal(t, 1.0, gauge(t, families, exporter.MetricScrapeSuccess), line)
	case "proxy":
		want := statusBody(t, s.f.url, "p-apse1", "?include_failure=true", true)
		assert.Equal(t, want, statusBody(t, base, "p-apse1", "?include_failure=true", true), "through the proxy: %s", line)
	}
}

// flagValue is the value of flag in args, "" if it is not there.
func flagValue(args []string, flag string) string {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v
		}
	}
	return ""
}

// portMap lets commands listen on the fixed ports of examples: each
// listens on a free port instead, and clients that dial the example's
// port reach it.
type portMap struct {
	mu    sync.Mutex
	ports map[string]string // the example's port -> the real one
}

func (m *portMap) listen(addr string) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "0" {
		return net.Listen("tcp", addr)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, err
	}
	_, real, _ := net.SplitHostPort(ln.Addr().String())
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, taken := m.ports[port]; taken {
		_ = ln.Close()
		return nil, fmt.Errorf("listen tcp %s: address already in use in this example", addr)
	}
	m.ports[port] = real
	return ln, nil
}

func (m *portMap) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err == nil && (host == "localhost" || net.ParseIP(host).IsLoopback()) {
		m.mu.Lock()
		real, ok := m.ports[port]
		m.mu.Unlock()
		if ok {
			addr = net.JoinHostPort("127.0.0.1", real)
		}
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func (m *portMap) all() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.ports)
}

// redirect sends every request to base, whatever host it names: proxy's
// upstream is the real service in examples.
type redirect struct{ base string }

func (r redirect) RoundTrip(req *http.Request) (*http.Response, error) {
	u, err := url.Parse(r.base)
	if err != nil {
		return nil, err
	}
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = u.Scheme, u.Host
	return http.DefaultTransport.RoundTrip(req)
}

// statusBody is the DCS API's answer at base for project and query,
// signed with testAK or not.
func statusBody(t *testing.T, base, project, query string, signed bool) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/v2/"+project+"/instances/status"+query, nil)
	require.NoError(t, err)
	if signed {
		require.NoError(t, signer.Sign(req, nil, signer.Credentials{AccessKey: testAK, SecretKey: testSK}, time.Now()))
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(body)
}

// The README's folder table names every top-level folder there is.
func TestREADMEFolderTableIsComplete(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	var table strings.Builder
	for line := range strings.Lines(string(data)) {
		if strings.HasPrefix(line, "| `") {
			table.WriteString(line)
		}
	}
	dirs, err := os.ReadDir("../..")
	require.NoError(t, err)
	for _, d := range dirs {
		if d.IsDir() && !strings.HasPrefix(d.Name(), ".") {
			assert.Contains(t, table.String(), "`"+d.Name()+"/`", "top-level folder %s", d.Name())
		}
	}
}

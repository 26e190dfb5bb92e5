package main

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/signer"
)

// The examples of the README's "Contract testing" section, and of the
// --help of verify, proxy and status -o fixture, run here exactly as
// written, against a fake standing in for the region ap-southeast-1.

// exampleProject is the project of the examples' environment.
const exampleProject = "p"

// exampleEnv is what a user of the examples has set: credentials, the
// project, and the region's endpoint override, which points at f. The
// proxy's upstream, the region's public endpoint, is f too.
func exampleEnv(f *fakeDCS) *env {
	e := f.env(credsEnv(
		"HUAWEICLOUD_SDK_PROJECT_ID", exampleProject,
		"HUAWEICLOUD_SDK_REGION_DCS_AP_SOUTHEAST_1", f.url,
	))
	e.transport = redirect{f.url}
	return e
}

// redirect sends every request to base, whatever host it names.
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

// block is a shell example and the output shown after it, if any.
type block struct {
	lines  []string
	output string
}

// readmeBlocks are the sh blocks of the README's Contract testing section.
func readmeBlocks(t *testing.T) []block {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(data), "\n## Contract testing\n")
	require.True(t, ok, "no Contract testing section")
	section, _, _ = strings.Cut(section, "\n## ")
	fence := regexp.MustCompile("(?s)```(sh|text)\n(.*?)```")
	var out []block
	for _, m := range fence.FindAllStringSubmatch(section, -1) {
		if m[1] == "text" {
			require.NotEmpty(t, out, "output before any example")
			out[len(out)-1].output = m[2]
			continue
		}
		out = append(out, block{lines: strings.Split(strings.TrimSpace(m[2]), "\n")})
	}
	require.Len(t, out, 3, "verify, proxy, fixture")
	return out
}

// helpExamples are the example lines of a command's --help.
func helpExamples(t *testing.T, name string) []string {
	t.Helper()
	for _, c := range commands(&env{getenv: mapEnv(nil)}) {
		if c.Name() == name {
			return exampleLines(c)
		}
	}
	t.Fatalf("no command %s", name)
	return nil
}

func exampleLines(c *cobra.Command) []string {
	var out []string
	for line := range strings.SplitSeq(c.Example, "\n") {
		out = append(out, strings.TrimSpace(line))
	}
	return out
}

func TestREADMEContractTesting(t *testing.T) {
	t.Parallel()
	for _, b := range readmeBlocks(t) {
		t.Run(b.lines[0], func(t *testing.T) {
			t.Parallel()
			runExample(t, b)
		})
	}
}

func TestHelpExamples(t *testing.T) {
	t.Parallel()
	lines := append(helpExamples(t, "verify"), helpExamples(t, "proxy")...)
	for _, l := range helpExamples(t, "status") {
		if strings.Contains(l, "-o fixture") {
			lines = append(lines, l)
		}
	}
	require.Len(t, lines, 4)
	for _, l := range lines {
		t.Run(l, func(t *testing.T) {
			t.Parallel()
			runExample(t, block{lines: []string{l}})
		})
	}
}

// runExample runs the lines of b in order, in a directory of their own,
// against a fake of the examples' region. A long-running command (serve,
// proxy) is started, used, and stopped.
func runExample(t *testing.T, b block) {
	t.Helper()
	f := startFake(t, verifyFixture)
	dir := t.TempDir()
	files := map[string]string{} // file name in the example -> path
	for _, line := range b.lines {
		args, redirectTo := parseExample(t, line)
		for i, a := range args {
			if p, ok := files[a]; ok {
				args[i] = p
			}
		}
		e := exampleEnv(f)
		switch args[0] {
		case "serve", "proxy":
			r := start(t, e, args...)
			useServer(t, f, args[0], r.url)
			stopped := r.stop()
			assert.Equal(t, 0, stopped.code, "%s: %s", line, stopped.stderr)
		default:
			r := runEnv(t, nil, e, args...)
			require.Equal(t, 0, r.code, "%s: %s", line, r.stderr)
			if b.output != "" {
				assert.Equal(t, b.output, r.stdout, line)
			}
			if redirectTo != "" {
				files[redirectTo] = filepath.Join(dir, redirectTo)
				require.NoError(t, os.WriteFile(files[redirectTo], []byte(r.stdout), 0o600))
			}
		}
	}
}

// parseExample splits a line of the form `dcskit word... [> file]`. It
// knows no other shell syntax, and fails on any.
func parseExample(t *testing.T, line string) (args []string, redirectTo string) {
	t.Helper()
	require.False(t, strings.ContainsAny(line, `'"|&;$#<`+"`"), "shell syntax the test does not run: %s", line)
	words := strings.Fields(line)
	require.Greater(t, len(words), 1)
	require.Equal(t, "dcskit", words[0], line)
	words = words[1:]
	if n := len(words); n >= 2 && words[n-2] == ">" {
		return words[:n-2], words[n-1]
	}
	require.NotContains(t, words, ">", line)
	return words, ""
}

// useServer asks a served fake for the examples' project's counts, which
// must be f's, or sends a request through a proxy to f.
func useServer(t *testing.T, f *fakeDCS, command, base string) {
	t.Helper()
	want := statusBody(t, f.url, exampleProject, "?include_failure=true", true)
	switch command {
	case "serve":
		assert.Equal(t, want, statusBody(t, base, exampleProject, "?include_failure=true", false), "the served fixture answers as the fake it came from")
	case "proxy":
		assert.Equal(t, want, statusBody(t, base, exampleProject, "?include_failure=true", true), "through the proxy")
	}
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

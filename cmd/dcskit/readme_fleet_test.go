package main

import (
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/client/profile"
	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/internal/contract/contracttest"
	"github.com/dcskit/dcskit/server"
)

// fence is a code block of the README: its language and text.
type fence struct{ lang, text string }

// fences are the code blocks of text, in order.
func fences(text string) []fence {
	var out []fence
	for _, m := range regexp.MustCompile("(?s)\n```([a-z]*)\n(.*?)\n```").FindAllStringSubmatch(text, -1) {
		out = append(out, fence{m[1], m[2] + "\n"})
	}
	return out
}

// readmeListen is the address the README's exporter listens on, its
// default --listen.
const readmeListen = "127.0.0.1:9787"

// The exporter examples of the README's "Operating many projects" and of
// docs/many-projects.md, as written: each `dcskit exporter ... &` is
// started, each curl line is sent to it, and the text shown after them
// must be among the lines it answered. The exporter has the keys of the
// page's profile in the environment, and IAM and both regions' endpoints
// at a fake; its --listen address is a free port instead of 9787. A
// configuration and its profile file are the page's yaml and ini blocks;
// another yaml block quotes deploy/prometheus-scrape.yaml, or shards it
// (deploy_test.go runs that one).
func TestREADMEExporter(t *testing.T) {
	t.Parallel()
	page, err := os.ReadFile("../../docs/many-projects.md")
	require.NoError(t, err)
	// /probe, --config and --all-projects
	runExporterExamples(t, string(page), codeBlock(t, string(page), "ini"), 3)
}

// runExporterExamples runs the exporter examples of text, at least min.
func runExporterExamples(t *testing.T, text, ini string, min int) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "team-b.ini"), []byte(ini), 0o600))
	keys, err := profile.FileAt(filepath.Join(dir, "team-b.ini")).Retrieve(t.Context())
	require.NoError(t, err)
	s, err := server.New(server.Options{AccessKey: keys.Keys.AccessKey, SecretKey: keys.Keys.SecretKey, Projects: []server.Project{
		{ID: "p-north", Name: "cn-north-4"}, {ID: "p-south", Name: "ap-southeast-1"},
	}})
	require.NoError(t, err)
	_, err = s.Add(server.Instance{ProjectID: "p-south", Engine: dcs.Redis, Status: dcs.Running})
	require.NoError(t, err)
	fake := httptest.NewServer(contracttest.New(t).Handler(t, s.Handler()))
	t.Cleanup(fake.Close)
	environ := map[string]string{
		client.EnvAccessKey: keys.Keys.AccessKey, client.EnvSecretKey: keys.Keys.SecretKey,
		client.EnvIAMEndpoint:                       fake.URL,
		client.EnvEndpointPrefix + "CN_NORTH_4":     fake.URL,
		client.EnvEndpointPrefix + "AP_SOUTHEAST_1": fake.URL,
	}
	blocks := fences(text)
	files := map[string]string{}
	ran := 0
	for i, b := range blocks {
		switch {
		case b.lang == "yaml" && strings.HasPrefix(b.text, "targets:"):
			files["targets.yaml"] = filepath.Join(dir, "targets.yaml")
			require.NoError(t, os.WriteFile(files["targets.yaml"], []byte(b.text), 0o600))
		case b.lang == "yaml" && !strings.Contains(b.text, "hashmod"):
			deploy, err := os.ReadFile("../../deploy/prometheus-scrape.yaml")
			require.NoError(t, err)
			assert.Contains(t, string(deploy), b.text, "quotes deploy/prometheus-scrape.yaml")
		case b.lang == "sh" && strings.HasPrefix(b.text, "dcskit exporter"):
			var shown string
			if i+1 < len(blocks) && blocks[i+1].lang == "text" {
				shown = blocks[i+1].text
			}
			t.Run(strings.SplitN(b.text, "\n", 2)[0], func(t *testing.T) {
				runExporterExample(t, environ, files, b.text, shown)
			})
			ran++
		}
	}
	assert.GreaterOrEqual(t, ran, min)
}

// runExporterExample runs lines, an exporter started in the background
// and curl commands, and checks that every line of shown is among those
// the last curl printed.
func runExporterExample(t *testing.T, environ map[string]string, files map[string]string, lines, shown string) {
	t.Helper()
	var base, answer string
	for line := range strings.SplitSeq(strings.TrimSpace(lines), "\n") {
		words := strings.Fields(line)
		switch {
		case words[0] == "dcskit" && words[len(words)-1] == "&":
			args := words[1 : len(words)-1]
			for i, a := range args {
				if p, ok := files[a]; ok {
					args[i] = p
				}
			}
			e := &env{getenv: mapEnv(environ), listenOn: func(addr string) (net.Listener, error) {
				assert.Equal(t, readmeListen, addr)
				return net.Listen("tcp", "127.0.0.1:0")
			}}
			x := start(t, e, args...)
			t.Cleanup(func() { assert.Equal(t, 0, x.stop().code) })
			base = strings.TrimSuffix(x.url, "/metrics")
		case len(words) == 3 && words[0] == "curl" && words[1] == "-s":
			require.NotEmpty(t, base, "curl before the exporter: %s", line)
			target := strings.Trim(words[2], "'")
			path, ok := strings.CutPrefix(target, readmeListen)
			require.True(t, ok, "curl %s, not the exporter", target)
			var status int
			status, answer = get(t, base+path)
			require.Equal(t, 200, status, "%s: %s", line, answer)
		default:
			t.Fatalf("a line the test does not run: %s", line)
		}
	}
	require.NotEmpty(t, shown, "no output shown after %s", lines)
	got := strings.Split(answer, "\n")
	for want := range strings.SplitSeq(strings.TrimSpace(shown), "\n") {
		assert.Contains(t, got, want)
	}
}

package dcskit_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// listed maps each package of the module to the packages it links, from
// one `go list` for every test here.
var listed = sync.OnceValues(func() (map[string][]string, error) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goTool, "list", "-f", "{{.ImportPath}} {{join .Deps \" \"}}", "github.com/dcskit/dcskit/...").Output()
	if err != nil {
		return nil, err
	}
	m := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		if fields := strings.Fields(line); len(fields) > 0 {
			m[fields[0]] = fields[1:]
		}
	}
	return m, nil
})

// deps lists the packages that pkg links.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	m, err := listed()
	require.NoError(t, err)
	require.Contains(t, m, pkg)
	return m[pkg]
}

// A program that imports only the client links no OpenAPI or YAML
// machinery: the generated types and client live apart from the strict
// server, and no spec is embedded on the client's side.
func TestClientLinksNoOpenAPIMachinery(t *testing.T) {
	t.Parallel()
	forbidden := []string{
		"github.com/getkin/kin-openapi",
		"github.com/santhosh-tekuri/jsonschema",
		"go.yaml.in/yaml", "gopkg.in/yaml", "sigs.k8s.io/yaml", "github.com/oasdiff/yaml",
		"golang.org/x/text",
		// The profile file's INI parser lives in client/profile: in
		// client it would cost every program 290 KB.
		"gopkg.in/ini.v1", "github.com/dcskit/dcskit/client/profile",
		"github.com/dcskit/dcskit/openapi",
		"github.com/dcskit/dcskit/server",
		"testing",
	}
	for _, p := range deps(t, "github.com/dcskit/dcskit/client") {
		for _, f := range forbidden {
			assert.False(t, p == f || strings.HasPrefix(p, f+"/"), "client links %s", p)
		}
	}
}

// The dcskit binary embeds the fake but not package testing: test helpers
// live in servertest, as net/http's do in httptest.
func TestCommandLinksNoTesting(t *testing.T) {
	t.Parallel()
	for _, p := range deps(t, "github.com/dcskit/dcskit/cmd/dcskit") {
		assert.NotEqual(t, "testing", p)
		assert.NotEqual(t, "github.com/dcskit/dcskit/servertest", p)
	}
}

// The layers below run one way: gen/ imports only gen/, openapi nothing of
// ours, dcs only gen, and the fake takes its types from gen/ and its
// documents from openapi, never from the client's side.
func TestLayers(t *testing.T) {
	t.Parallel()
	const mod = "github.com/dcskit/dcskit/"
	fake := []string{"gen", "gen/dcsserver", "gen/admin", "gen/iam", "gen/iamserver", "openapi", "dcs", "signer", "internal/..."}
	allowed := map[string][]string{
		"gen/...": {"gen/..."}, "openapi": nil, "dcs": {"gen"},
		"server": fake, "servertest": append(fake, "server"),
	}
	match := func(pkg, rule string) bool {
		if prefix, ok := strings.CutSuffix(rule, "/..."); ok {
			return pkg == mod+prefix || strings.HasPrefix(pkg, mod+prefix+"/")
		}
		return pkg == mod+rule
	}
	all, err := listed()
	require.NoError(t, err)
	for pkg := range all {
		for layer, rules := range allowed {
			if !match(pkg, layer) {
				continue
			}
			for _, dep := range deps(t, pkg) {
				if dep == pkg || !strings.HasPrefix(dep, mod) {
					continue
				}
				ok := false
				for _, r := range rules {
					ok = ok || match(dep, r)
				}
				assert.True(t, ok, "%s imports %s", pkg, dep)
			}
		}
	}
}

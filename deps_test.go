package dcskit_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deps lists the packages that pkg links, as `go list -deps` does.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goTool, "list", "-deps", pkg).Output()
	require.NoError(t, err)
	return strings.Fields(string(out))
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

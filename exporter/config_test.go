package exporter_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/exporter"
)

// writeConfig writes text as a configuration file in a directory of its
// own, and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "targets.yaml")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	return path
}

func TestReadConfig(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, `
targets:
  - region: cn-north-4
  - region: ap-southeast-1
    project_id: p-south
    profile: team-b.ini
  - region: ap-southeast-1
    profile: /etc/dcskit/team-c.ini
`)
	c, err := exporter.ReadConfig(path)
	require.NoError(t, err)
	assert.Equal(t, []exporter.ConfigTarget{
		{Region: "cn-north-4"},
		{Region: "ap-southeast-1", ProjectID: "p-south", Profile: filepath.Join(filepath.Dir(path), "team-b.ini")},
		{Region: "ap-southeast-1", Profile: "/etc/dcskit/team-c.ini"},
	}, c.Targets, "a relative profile is relative to the file")

	// One Account per profile file; targets without one get the default.
	def := newAccount()
	made := map[string]exporter.Account{}
	specs, err := c.Specs(def, func(path string) (exporter.Account, error) {
		made[path] = newAccount()
		return made[path], nil
	})
	require.NoError(t, err)
	require.Len(t, made, 2)
	assert.Equal(t, exporter.Spec{Region: "cn-north-4", Account: def}, specs[0])
	assert.Same(t, made[c.Targets[1].Profile], specs[1].Account)
	assert.Same(t, made[c.Targets[2].Profile], specs[2].Account)

	_, err = c.Specs(def, func(string) (exporter.Account, error) { return nil, errors.New("no such file") })
	assert.EqualError(t, err, "targets[1].profile: no such file")
}

// A configuration that cannot be served is refused with what is wrong,
// and where.
func TestReadConfigRefuses(t *testing.T) {
	t.Parallel()
	var many strings.Builder
	many.WriteString("targets:\n")
	for i := range exporter.DefaultMaxTargets + 1 {
		fmt.Fprintf(&many, "  - {region: cn-north-4, project_id: p%d}\n", i)
	}
	for _, tt := range []struct{ name, text, want string }{
		{"empty", "", "empty: want targets"},
		{"no targets", "targets: []\n", "no targets"},
		{"not a list", "targets: cn-north-4\n", "not a configuration"},
		{"unknown field", "targets:\n  - region: cn-north-4\n    projectid: p\n", "field projectid not found"},
		{"no region", "targets:\n  - project_id: p\n", "targets[0]: region is required"},
		{"bad region", "targets:\n  - region: cn-north-4\n  - region: North China\n", `targets[1].region: "North China" is not a region id`},
		{"bad project", "targets:\n  - region: cn-north-4\n    project_id: a/b\n", `targets[0].project_id: "a/b" is not a project id`},
		{"twice", "targets:\n  - region: cn-north-4\n  - region: cn-north-4\n", "targets[1]: the same target as targets[0]"},
		{"two documents", "targets:\n  - region: cn-north-4\n---\ntargets: []\n", "more than one YAML document"},
		{"too many", many.String(), fmt.Sprintf("%d targets, more than %d", exporter.DefaultMaxTargets+1, exporter.DefaultMaxTargets)},
		{"too big", "# " + strings.Repeat("x", 1<<20) + "\ntargets: []\n", "larger than 1024 KiB"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeConfig(t, tt.text)
			_, err := exporter.ReadConfig(path)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "configuration "+path+": ")
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "exporter.", "no Go type names")
			assert.NotContains(t, err.Error(), "\n")
		})
	}
	_, err := exporter.ReadConfig(filepath.Join(t.TempDir(), "none.yaml"))
	assert.ErrorContains(t, err, "none.yaml: no such file or directory")
}

package exporter

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readConfig writes text as a configuration file in a directory of its
// own, and reads it with def and a new Account per profile file.
func readTestConfig(t *testing.T, text string) (path string, specs []Spec, made map[string]*Account, err error) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "targets.yaml")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	made = map[string]*Account{}
	specs, err = ReadConfig(path, def, func(file string) (*Account, error) {
		if strings.HasSuffix(file, "broken.ini") {
			return nil, errors.New("no such file")
		}
		made[file] = &Account{}
		return made[file], nil
	})
	return path, specs, made, err
}

var def = &Account{}

func TestReadConfig(t *testing.T) {
	t.Parallel()
	path, specs, made, err := readTestConfig(t, `
targets:
  - region: cn-north-4
  - region: ap-southeast-1
    project_id: p-south
    profile: team-b.ini
  - region: ap-southeast-1
    profile: /etc/dcskit/team-b.ini
  - region: cn-north-1
    profile: team-b.ini
`)
	require.NoError(t, err)
	rel := filepath.Join(filepath.Dir(path), "team-b.ini")
	require.Len(t, made, 2, "one Account per profile file, a relative one relative to the configuration")
	assert.Equal(t, []Spec{
		{Region: "cn-north-4", Account: def},
		{Region: "ap-southeast-1", ProjectID: "p-south", Account: made[rel]},
		{Region: "ap-southeast-1", Account: made["/etc/dcskit/team-b.ini"]},
		{Region: "cn-north-1", Account: made[rel]},
	}, specs)
	assert.Same(t, made[rel], specs[3].Account)
}

// A configuration that cannot be served is refused with what is wrong,
// and where.
func TestReadConfigRefuses(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, text, want string }{
		{"empty", "", "empty: want targets"},
		{"no targets", "targets: []\n", "no targets"},
		{"not a list", "targets: cn-north-4\n", "not a configuration (targets, a list of {region, project_id, profile}): line 1: cannot unmarshal !!str `cn-north-4`"},
		{"unknown field", "targets:\n  - region: cn-north-4\n    projectid: p\n", "field projectid not found"},
		{"no region", "targets:\n  - project_id: p\n", "targets[0]: region is required"},
		{"bad region", "targets:\n  - region: cn-north-4\n  - region: North China\n", `targets[1].region: "North China" is not a region id`},
		{"bad project", "targets:\n  - region: cn-north-4\n    project_id: a/b\n", `targets[0].project_id: "a/b" is not a project id`},
		{"twice", "targets:\n  - region: cn-north-4\n  - region: cn-north-4\n", "targets[1]: the same target as targets[0]"},
		{"two documents", "targets:\n  - region: cn-north-4\n---\ntargets: []\n", "more than one YAML document"},
		{"too big", "# " + strings.Repeat("x", 1<<20) + "\ntargets: []\n", "larger than 1024 KiB"},
		{"bad profile", "targets:\n  - region: cn-north-4\n    profile: broken.ini\n", "targets[0].profile: no such file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path, _, _, err := readTestConfig(t, tt.text)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "configuration "+path+": ")
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "exporter.", "no Go type names")
			assert.NotContains(t, err.Error(), "\n")
		})
	}
	_, err := ReadConfig(filepath.Join(t.TempDir(), "none.yaml"), def, nil)
	assert.ErrorContains(t, err, "none.yaml: no such file or directory")
}

package exporter

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/dcskit/dcskit/dcs"
)

// configTarget is one target of a configuration file.
type configTarget struct {
	Region    string `yaml:"region"`
	ProjectID string `yaml:"project_id"`
	Profile   string `yaml:"profile"`
}

// maxConfigSize bounds a configuration file: DefaultMaxTargets targets
// take some 150 KB.
const maxConfigSize = 1 << 20

// ReadConfig reads the configuration file of `dcskit exporter --config`,
// a YAML list of targets, and returns them: each with account, or with
// the Account that profile makes of its profile file (relative to the
// configuration), once per file. Every error names the file and the
// target at fault.
//
//	targets:
//	  - region: cn-north-4          # required
//	    project_id: 0a1b2c3d...     # optional: else the region's project, from IAM
//	  - region: ap-southeast-1
//	    profile: team-b.ini         # optional: the SDK's INI format, its project_id unused
func ReadConfig(path string, account *Account, profile func(file string) (*Account, error)) ([]Spec, error) {
	specs, err := readConfig(path, account, profile)
	if err != nil {
		return nil, fmt.Errorf("configuration %s: %w", path, err)
	}
	return specs, nil
}

func readConfig(path string, account *Account, profile func(file string) (*Account, error)) ([]Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.Unwrap(err) // the *PathError repeats the path
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, err
	}
	var c struct {
		Targets []configTarget `yaml:"targets"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	switch err := dec.Decode(&c); {
	case len(data) > maxConfigSize:
		return nil, fmt.Errorf("larger than %d KiB", maxConfigSize>>10)
	case errors.Is(err, io.EOF):
		return nil, errors.New("empty: want targets, a list of {region, project_id, profile}")
	case err != nil:
		return nil, fmt.Errorf("not a configuration (targets, a list of {region, project_id, profile}): %s", yamlError(err))
	case !errors.Is(dec.Decode(new(any)), io.EOF):
		return nil, errors.New("more than one YAML document")
	case len(c.Targets) == 0:
		return nil, errors.New("no targets")
	case len(c.Targets) > DefaultMaxTargets:
		return nil, fmt.Errorf("%d targets, more than %d", len(c.Targets), DefaultMaxTargets)
	}
	accounts := map[string]*Account{"": account}
	seen := map[configTarget]int{}
	specs := make([]Spec, len(c.Targets))
	for i, t := range c.Targets {
		at := fmt.Sprintf("targets[%d]", i)
		if t.Region == "" {
			return nil, fmt.Errorf("%s: region is required", at)
		}
		if err := checkRegion(t.Region); err != nil {
			return nil, fmt.Errorf("%s.region: %w", at, err)
		}
		if t.ProjectID != "" && !dcs.ValidProjectID(t.ProjectID) {
			return nil, fmt.Errorf("%s.project_id: %q is not a project id (%s)", at, clip(t.ProjectID), dcs.ProjectIDRule)
		}
		if j, dup := seen[t]; dup {
			return nil, fmt.Errorf("%s: the same target as targets[%d]", at, j)
		}
		seen[t] = i
		if t.Profile != "" && !filepath.IsAbs(t.Profile) {
			t.Profile = filepath.Join(filepath.Dir(path), t.Profile)
		}
		a, ok := accounts[t.Profile]
		if !ok {
			if a, err = profile(t.Profile); err != nil {
				return nil, fmt.Errorf("%s.profile: %w", at, err)
			}
			accounts[t.Profile] = a
		}
		specs[i] = Spec{Region: t.Region, ProjectID: t.ProjectID, Account: a}
	}
	return specs, nil
}

// goType is how yaml names the Go types it decodes into, which mean
// nothing to the author of the file.
var goType = regexp.MustCompile(` (in type|into) [\w.\[\]*{}" :]+`)

// yamlError is err, one line per mistake, in the file's terms.
func yamlError(err error) string {
	if te, ok := errors.AsType[*yaml.TypeError](err); ok {
		return goType.ReplaceAllString(strings.Join(te.Errors, "; "), "")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

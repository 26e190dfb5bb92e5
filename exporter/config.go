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
)

// Config is the file of `dcskit exporter --config`, in YAML: the targets
// to serve on /metrics, all at once.
//
//	targets:
//	  - region: cn-north-4          # required
//	    project_id: 0a1b2c3d...     # optional: else the region's project, from IAM
//	  - region: ap-southeast-1
//	    profile: team-b.ini         # optional: else the default credentials
//
// A profile is a credentials file in the official SDK's INI format, as
// client/profile reads it: section [basic] with ak, sk, and optionally
// security_token and iam_endpoint (where the account's projects are
// found). Its project_id is not used: a target's project is its
// project_id, or the one IAM names after its region. A relative path is
// relative to the configuration file. Targets without a profile use the
// default credentials (the environment, ~/.huaweicloud/credentials, ECS
// metadata).
type Config struct {
	Targets []ConfigTarget `yaml:"targets"`
}

// ConfigTarget is one target of a Config.
type ConfigTarget struct {
	Region    string `yaml:"region"`
	ProjectID string `yaml:"project_id"`
	Profile   string `yaml:"profile"`
}

// maxConfigSize bounds a configuration file: DefaultMaxTargets targets
// take some 150 KB.
const maxConfigSize = 1 << 20

// ReadConfig reads and checks the configuration file at path; see Config.
// Every error names the file, and the target at fault.
func ReadConfig(path string) (*Config, error) {
	c, err := readConfig(path)
	if err != nil {
		return nil, fmt.Errorf("configuration %s: %w", path, err)
	}
	return c, nil
}

func readConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.Unwrap(err) // the *PathError repeats the path
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("larger than %d KiB", maxConfigSize>>10)
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	switch err := dec.Decode(&c); {
	case errors.Is(err, io.EOF):
		return nil, errors.New("empty: want targets, a list of {region, project_id, profile}")
	case err != nil:
		return nil, fmt.Errorf("not a configuration (targets, a list of {region, project_id, profile}): %s", yamlError(err))
	}
	if err := dec.Decode(new(any)); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document")
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	for i, t := range c.Targets {
		if t.Profile != "" && !filepath.IsAbs(t.Profile) {
			c.Targets[i].Profile = filepath.Join(dir, t.Profile)
		}
	}
	return &c, nil
}

// check says what is wrong with c, naming the target.
func (c *Config) check() error {
	switch {
	case len(c.Targets) == 0:
		return errors.New("no targets")
	case len(c.Targets) > DefaultMaxTargets:
		return fmt.Errorf("%d targets, more than %d", len(c.Targets), DefaultMaxTargets)
	}
	seen := map[ConfigTarget]int{}
	for i, t := range c.Targets {
		at := fmt.Sprintf("targets[%d]", i)
		if err := CheckRegion(t.Region); err != nil {
			if t.Region == "" {
				return fmt.Errorf("%s: region is required", at)
			}
			return fmt.Errorf("%s.region: %w", at, err)
		}
		if t.ProjectID != "" {
			if err := CheckProjectID(t.ProjectID); err != nil {
				return fmt.Errorf("%s.project_id: %w", at, err)
			}
		}
		if j, dup := seen[t]; dup {
			return fmt.Errorf("%s: the same target as targets[%d]", at, j)
		}
		seen[t] = i
	}
	return nil
}

// Specs are c's targets for Options.Targets: those without a profile
// with account (nil: Options.Account), the others with the Account that
// profile makes of their file, one per file.
func (c *Config) Specs(account Account, profile func(path string) (Account, error)) ([]Spec, error) {
	accounts := map[string]Account{"": account}
	specs := make([]Spec, len(c.Targets))
	for i, t := range c.Targets {
		a, ok := accounts[t.Profile]
		if !ok {
			var err error
			if a, err = profile(t.Profile); err != nil {
				return nil, fmt.Errorf("targets[%d].profile: %w", i, err)
			}
			accounts[t.Profile] = a
		}
		specs[i] = Spec{Region: t.Region, ProjectID: t.ProjectID, Account: a}
	}
	return specs, nil
}

// goType is how yaml names the Go types it decodes into, which mean
// nothing to the author of the file.
var goType = regexp.MustCompile(` (in type|into) [\w.\[\]*]+`)

// yamlError is err, one line per mistake, in the file's terms.
func yamlError(err error) string {
	if te, ok := errors.AsType[*yaml.TypeError](err); ok {
		return goType.ReplaceAllString(strings.Join(te.Errors, "; "), "")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

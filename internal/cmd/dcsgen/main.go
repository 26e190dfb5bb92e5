// Command dcsgen writes what mirrors the OpenAPI documents beyond the
// reach of oapi-codegen (see package internal/dcsgen): dcs/spec.gen.go
// and openapi/vocabulary.gen.yaml from openapi/dcs.yaml, and
// server/limits.gen.go from openapi/admin.yaml. go generate runs it from
// the root of the module, before oapi-codegen, which reads
// vocabulary.gen.yaml.
package main

import (
	"fmt"
	"os"

	"github.com/dcskit/dcskit/internal/dcsgen"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "dcsgen:", err)
		os.Exit(1)
	}
}

func run() error {
	spec, err := os.ReadFile("openapi/dcs.yaml")
	if err != nil {
		return err
	}
	v, err := dcsgen.Read(spec)
	if err != nil {
		return fmt.Errorf("openapi/dcs.yaml: %w", err)
	}
	admin, err := os.ReadFile("openapi/admin.yaml")
	if err != nil {
		return err
	}
	limits, err := dcsgen.ReadLimits(admin)
	if err != nil {
		return fmt.Errorf("openapi/admin.yaml: %w", err)
	}
	for path, gen := range map[string]func() ([]byte, error){
		"dcs/spec.gen.go":             func() ([]byte, error) { return dcsgen.DCS(v) },
		"openapi/vocabulary.gen.yaml": func() ([]byte, error) { return dcsgen.VocabularyYAML(v) },
		"server/limits.gen.go":        func() ([]byte, error) { return dcsgen.Limits(limits) },
	} {
		out, err := gen()
		if err == nil {
			err = os.WriteFile(path, out, 0o644)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil
}

// Command dcsgen generates the status and engine vocabulary of package dcs
// from openapi/dcs.yaml, so that a status added to the spec reaches the
// client, the fake, the commands and the metrics with no other edit.
//
// It reads two things: the spec, for the statuses (each `<status>_count`
// property of StatusStatistic, in document order, with its
// x-dcskit-settled and x-dcskit-failure markers) and the engines (each
// property of InstanceStatusCounts marked x-dcskit-engine); and the Go
// types that oapi-codegen generated from the same spec, for the name of
// the field behind each counter. go generate runs it after oapi-codegen
// (see generate.go at the root of the module).
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"os"

	"github.com/dcskit/dcskit/internal/dcsgen"
)

func main() {
	spec := flag.String("spec", "openapi/dcs.yaml", "the OpenAPI document")
	types := flag.String("types", "gen/dcs.gen.go", "the Go types oapi-codegen generated from it")
	out := flag.String("out", "dcs/spec.gen.go", "the file to write")
	flag.Parse()
	if err := run(*spec, *types, *out); err != nil {
		fmt.Fprintln(os.Stderr, "dcsgen:", err)
		os.Exit(1)
	}
}

func run(specPath, typesPath, outPath string) error {
	spec, err := os.ReadFile(specPath)
	if err != nil {
		return err
	}
	types, err := os.ReadFile(typesPath)
	if err != nil {
		return err
	}
	v, err := dcsgen.Read(spec, types)
	if err != nil {
		return fmt.Errorf("%s: %w", specPath, err)
	}
	var buf bytes.Buffer
	if err := dcsgen.Write(&buf, v, specPath); err != nil {
		return err
	}
	src, err := format.Source(buf.Bytes())
	if err != nil {
		return errors.Join(errors.New("generated code does not parse"), err)
	}
	return os.WriteFile(outPath, src, 0o644)
}

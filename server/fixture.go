package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/dcskit/dcskit/gen/admin"
)

// FixtureError is a fixture that cannot be loaded. Nothing from it is.
type FixtureError struct {
	File string // the name given to LoadFixture
	InvalidError
}

func (e *FixtureError) Error() string {
	return fmt.Sprintf("fixture %s: %v", e.File, &e.InvalidError)
}

// MaxFixtureSize bounds a fixture file. A fixture that stands for many
// instances does so with "count", so this is plenty.
const MaxFixtureSize = 64 << 20

// LoadFixture replaces every instance with those of the fixture read from
// r (see the package documentation for the format). name identifies the
// fixture in errors. A bad fixture is a *FixtureError and changes nothing.
func (s *Server) LoadFixture(name string, r io.Reader) error {
	data, err := io.ReadAll(io.LimitReader(r, MaxFixtureSize+1))
	if err != nil {
		return fmt.Errorf("fixture %s: %w", name, err)
	}
	if len(data) > MaxFixtureSize {
		return &FixtureError{File: name, InvalidError: InvalidError{Index: -1, Err: fmt.Errorf("larger than %d MiB", MaxFixtureSize>>20)}}
	}
	fx, err := s.decodeFixture(data)
	if err == nil {
		_, err = s.applyFixture(name, fx, s.store.replace)
	}
	if err == nil {
		err = s.applyFixtureProjects(fx, s.projects.replace)
	}
	return asFixtureError(name, err)
}

// LoadFixtureFile is LoadFixture for a file.
func (s *Server) LoadFixtureFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return s.LoadFixture(path, f)
}

// decodeFixture checks data against admin.yaml's Fixture schema, the one
// statement of the format, and decodes it into the generated type.
func (s *Server) decodeFixture(data []byte) (admin.Fixture, error) {
	var fx admin.Fixture
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return fx, &InvalidError{Index: -1, Err: fmt.Errorf("not JSON: %v", err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return fx, &InvalidError{Index: -1, Err: errors.New("data after the JSON object")}
	}
	if err := s.specs.admin.schema("Fixture").VisitJSON(doc); err != nil {
		return fx, schemaInvalid(err)
	}
	if err := json.Unmarshal(data, &fx); err != nil {
		return fx, &InvalidError{Index: -1, Err: err}
	}
	return fx, nil
}

// schemaInvalid turns kin-openapi's verdict on a fixture into an
// InvalidError that names the entry and the field.
func schemaInvalid(err error) *InvalidError {
	se, ok := errors.AsType[*openapi3.SchemaError](err)
	if !ok {
		return &InvalidError{Index: -1, Err: err}
	}
	ie := &InvalidError{Index: -1}
	path := se.JSONPointer()
	if len(path) >= 2 && path[0] == "instances" {
		if i, err := strconv.Atoi(path[1]); err == nil {
			ie.Index, path = i, path[2:]
		}
	}
	reason := se.Reason
	obj, isObject := se.Value.(map[string]any)
	unknown := ""
	if isObject && (se.SchemaField == "properties" || se.SchemaField == "additionalProperties") {
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if _, known := se.Schema.Properties[k]; !known {
				unknown = k
				break
			}
		}
	}
	switch {
	case unknown != "":
		// Name the field, and the fields there are.
		path = append(path, unknown)
		reason = "unknown field"
		ie.Valid = slices.Sorted(maps.Keys(se.Schema.Properties))
	case se.SchemaField == "enum":
		reason = fmt.Sprintf("unknown value %s", jsonText(se.Value))
		for _, v := range se.Schema.Enum {
			ie.Valid = append(ie.Valid, fmt.Sprint(v))
		}
	case se.SchemaField == "pattern":
		// The schema's description states the rule; its first sentence
		// reads better than the regular expression.
		rule, _, _ := strings.Cut(strings.TrimSpace(se.Schema.Description), ".")
		if rule != "" {
			rule = strings.ToLower(rule[:1]) + rule[1:]
		}
		reason = fmt.Sprintf("%s is not %s", jsonText(se.Value), rule)
	default:
		switch se.Value.(type) {
		case map[string]any, []any:
		default:
			reason = jsonText(se.Value) + ": " + reason
		}
	}
	ie.Field = strings.Join(path, ".")
	ie.Err = errors.New(reason)
	return ie
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil || len(b) > 80 {
		return fmt.Sprintf("%.80v", v)
	}
	return string(b)
}

// applyFixture turns a decoded fixture into groups of instances, one per
// entry, and hands them to apply (the store's add or replace). It returns
// the groups as added: each with its first instance. A bad project table
// fails it too, before anything is applied; applyFixtureProjects applies
// the table.
func (s *Server) applyFixture(name string, fx admin.Fixture, apply func([]group) ([]Instance, error)) ([]group, error) {
	if _, ie := fixtureProjects(fx); ie != nil {
		return nil, asFixtureError(name, ie)
	}
	groups := make([]group, len(fx.Instances))
	for i, e := range fx.Instances {
		g, ie := entryGroup(e)
		if ie != nil {
			ie.Index = i
			return nil, asFixtureError(name, ie)
		}
		groups[i] = g
	}
	first, err := apply(groups)
	if err != nil {
		return nil, asFixtureError(name, err)
	}
	for i := range groups {
		groups[i].Instance = first[i]
	}
	return groups, nil
}

// entryGroup is what one fixture entry stands for. The store checks the
// rest.
func entryGroup(e admin.FixtureEntry) (group, *InvalidError) {
	g := group{
		Instance: Instance{ProjectID: e.ProjectId, ID: deref(e.Id), Name: deref(e.Name), Engine: e.Engine, Status: e.Status},
		count:    1,
	}
	if e.Count != nil {
		g.count = *e.Count
	}
	if e.Becomes != nil {
		t, ie := transitionFromAPI(e.Becomes, "becomes")
		if ie != nil {
			return g, ie
		}
		g.Becomes = t // shared by the count's instances; the store copies it
	}
	return g, nil
}

func asFixtureError(name string, err error) error {
	if fe, ok := errors.AsType[*FixtureError](err); ok {
		return fe
	}
	if ie, ok := errors.AsType[*InvalidError](err); ok {
		return &FixtureError{File: name, InvalidError: *ie}
	}
	if le, ok := errors.AsType[*LimitError](err); ok && name != fixtureBodyName {
		return fmt.Errorf("fixture %s: %w", name, le)
	}
	return err
}

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

// maxCount bounds a fixture entry's count; admin.yaml's FixtureEntry
// says the same, and a test holds the two together.
const maxCount = 1_000_000

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

// applyFixture turns a decoded fixture into instances and hands them to
// apply (the store's add or replace). A bad project table fails it too,
// before anything is applied; applyFixtureProjects applies the table.
func (s *Server) applyFixture(name string, fx admin.Fixture, apply func([]Instance) ([]Instance, error)) ([]Instance, error) {
	if _, ie := fixtureProjects(fx); ie != nil {
		return nil, asFixtureError(name, ie)
	}
	var out []Instance
	ids := map[string]bool{}
	for i, e := range fx.Instances {
		insts, ie := entryInstances(e)
		if ie == nil && e.Id != nil && *e.Id != "" {
			if ids[*e.Id] {
				ie = &InvalidError{Field: "id", Err: fmt.Errorf("%q: %w", *e.Id, ErrExists)}
			}
			ids[*e.Id] = true
		}
		if ie != nil {
			ie.Index = i
			return nil, asFixtureError(name, ie)
		}
		out = append(out, insts...)
	}
	insts, err := apply(out)
	return insts, asFixtureError(name, err)
}

// entryInstances is what one fixture entry stands for.
func entryInstances(e admin.FixtureEntry) ([]Instance, *InvalidError) {
	count := 1
	if e.Count != nil {
		count = *e.Count
	}
	if count < 1 || count > maxCount {
		return nil, &InvalidError{Field: "count", Err: fmt.Errorf("%d is out of range 1 to %d", count, maxCount)}
	}
	id, name := deref(e.Id), deref(e.Name)
	if id != "" && count > 1 {
		return nil, &InvalidError{Field: "id", Err: errors.New("an entry with an id must have count 1")}
	}
	in := Instance{ProjectID: e.ProjectId, ID: id, Name: name, Engine: e.Engine, Status: e.Status}
	if ie := checkInstance(in); ie != nil {
		return nil, ie
	}
	if e.Becomes != nil {
		t, ie := transitionFromAPI(e.Becomes, "becomes")
		if ie != nil {
			return nil, ie
		}
		in.Becomes = t // shared by the count's instances; the store copies it
	}
	out := make([]Instance, count)
	for i := range out {
		out[i] = in
		if count > 1 && in.Name != "" {
			out[i].Name = in.Name + "-" + strconv.Itoa(i+1)
		}
	}
	return out, nil
}

func asFixtureError(name string, err error) error {
	if fe, ok := errors.AsType[*FixtureError](err); ok {
		return fe
	}
	if ie, ok := errors.AsType[*InvalidError](err); ok {
		return &FixtureError{File: name, InvalidError: *ie}
	}
	return err
}

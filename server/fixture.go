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

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen"
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

// LoadFixture replaces every instance with those of the fixture read from
// r, in the format of admin.yaml's Fixture schema, and the project table
// with the fixture's, if it has one. name identifies the fixture in
// errors. A bad fixture is a *FixtureError and changes nothing.
func (s *Server) LoadFixture(name string, r io.Reader) error {
	data, err := io.ReadAll(io.LimitReader(r, int64(s.maxFixture)+1))
	if err != nil {
		return fmt.Errorf("fixture %s: %w", name, err)
	}
	var fx admin.Fixture
	if len(data) > s.maxFixture {
		err = invalid("", "larger than %d bytes (MaxFixtureSize)", s.maxFixture)
	} else if fx, err = decodeFixture(data); err == nil {
		_, err = s.loadFixture(fx, true)
	}
	if ie, ok := errors.AsType[*InvalidError](err); ok {
		return &FixtureError{File: name, InvalidError: *ie}
	}
	if err != nil {
		return fmt.Errorf("fixture %s: %w", name, err)
	}
	return nil
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
// statement of the format, and decodes it.
func decodeFixture(data []byte) (admin.Fixture, error) {
	var fx admin.Fixture
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return fx, invalid("", "not JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fx, invalid("", "data after the JSON object")
	}
	if err := specs().Admin.Components.Schemas["Fixture"].Value.VisitJSON(doc); err != nil {
		return fx, schemaInvalid(err)
	}
	if err := json.Unmarshal(data, &fx); err != nil {
		return fx, invalid("", "%v", err)
	}
	return fx, nil
}

// schemaInvalid turns kin-openapi's verdict on a fixture into an
// InvalidError that names the entry and the field, and the valid values.
func schemaInvalid(err error) *InvalidError {
	se, ok := errors.AsType[*openapi3.SchemaError](err)
	if !ok {
		return invalid("", "%v", err)
	}
	ie := &InvalidError{Index: -1}
	path := se.JSONPointer()
	if len(path) >= 2 && path[0] == "instances" {
		if i, err := strconv.Atoi(path[1]); err == nil {
			ie.Index, path = i, path[2:]
		}
	}
	reason := se.Reason
	obj, _ := se.Value.(map[string]any)
	unknown := ""
	if se.SchemaField == "properties" || se.SchemaField == "additionalProperties" {
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if _, known := se.Schema.Properties[k]; !known && unknown == "" {
				unknown = k
			}
		}
	}
	switch {
	case unknown != "":
		path, reason = append(path, unknown), "unknown field"
		ie.Valid = slices.Sorted(maps.Keys(se.Schema.Properties))
	case se.SchemaField == "enum":
		reason = "unknown value " + jsonText(se.Value)
		for _, v := range se.Schema.Enum {
			ie.Valid = append(ie.Valid, fmt.Sprint(v))
		}
	case se.SchemaField == "pattern":
		// The first sentence of the description reads better than the
		// regular expression.
		rule, _, _ := strings.Cut(strings.TrimSpace(se.Schema.Description), ".")
		if rule != "" {
			rule = strings.ToLower(rule[:1]) + rule[1:]
		}
		reason = jsonText(se.Value) + " is not " + rule
	default:
		switch se.Value.(type) {
		case map[string]any, []any:
		default:
			reason = jsonText(se.Value) + ": " + reason
		}
	}
	ie.Field, ie.Err = strings.Join(path, "."), errors.New(reason)
	return ie
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil || len(b) > 80 {
		return fmt.Sprintf("%.80v", v)
	}
	return string(b)
}

// loadFixture adds fx, or with replace puts it in place of every
// instance, and returns its entries as added.
func (s *Server) loadFixture(fx admin.Fixture, replace bool) (admin.AddResult, error) {
	var projects []Project // nil: none given
	if fx.Projects != nil {
		projects = []Project{}
		for _, p := range *fx.Projects {
			projects = append(projects, Project{ID: p.Id, Name: p.Name})
		}
		if err := checkProjects(projects, "projects"); err != nil {
			return admin.AddResult{}, err
		}
	}
	groups := make([]group, len(fx.Instances))
	for i, e := range fx.Instances {
		g := group{Instance{ProjectID: e.ProjectId, ID: deref(e.Id), Name: deref(e.Name), Engine: dcs.Engine(e.Engine), Status: dcs.Status(e.Status)}, 1}
		if e.Count != nil {
			g.count = *e.Count
		}
		var ie *InvalidError
		if g.Becomes, ie = transitionFromAPI(e.Becomes); ie != nil {
			ie.Index = i
			return admin.AddResult{}, ie
		}
		groups[i] = g
	}
	add := s.store.add
	if replace {
		add = s.store.replace
	}
	added, err := add(groups, projects)
	if err != nil {
		return admin.AddResult{}, err
	}
	// One item per entry: the answer grows with the request, not its counts.
	out := admin.AddResult{Instances: make([]admin.AddedEntry, len(groups))}
	for i, in := range added {
		out.Added += groups[i].count
		out.Instances[i] = admin.AddedEntry{ProjectId: in.ProjectID, Id: in.ID, Name: in.Name,
			Engine: gen.Engine(in.Engine), Status: gen.Status(in.Status), Count: groups[i].count, Becomes: transitionToAPI(in.Becomes)}
	}
	return out, nil
}

// CountsFixture is a fixture under which a fake answers projectID's
// counts as c, failed creations included: one entry with a count per
// engine and status with instances. `dcskit status -o fixture` writes it
// from a real answer. A count out of a fixture's range, or a project id a
// fixture cannot hold, is an *InvalidError.
func CountsFixture(projectID string, c dcs.Counts) (admin.Fixture, error) {
	fx := admin.Fixture{Instances: []admin.FixtureEntry{}}
	for _, e := range dcs.Engines() {
		for _, st := range dcs.Statuses() {
			n := int(c.Engine(e).Get(st))
			switch {
			case n == 0:
				continue
			case n < 0 || n > MaxCount:
				return admin.Fixture{}, invalid(e.Key()+"."+st.Counter(), "%d is out of a fixture's range 1 to %d", n, MaxCount)
			case !dcs.ValidProjectID(projectID):
				return admin.Fixture{}, invalidID("project_id", projectID)
			}
			fx.Instances = append(fx.Instances, admin.FixtureEntry{ProjectId: projectID, Engine: gen.Engine(e), Status: gen.Status(st), Count: &n})
		}
	}
	return fx, nil
}

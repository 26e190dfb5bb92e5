package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"

	"github.com/dcskit/dcskit/dcs"
)

// FixtureError is a fixture that cannot be loaded. Nothing from it is.
type FixtureError struct {
	File string // the name given to LoadFixture
	InvalidError
}

func (e *FixtureError) Error() string {
	return fmt.Sprintf("fixture %s: %v", e.File, &e.InvalidError)
}

// maxCount bounds a fixture entry's count.
const maxCount = 1_000_000

// entryFields are the fields of a fixture entry; any other is an error.
var entryFields = []string{"project_id", "engine", "status", "id", "name", "count", "becomes"}

type fixtureEntry struct {
	ProjectID string     `json:"project_id"`
	Engine    dcs.Engine `json:"engine"`
	Status    dcs.Status `json:"status"`
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Count     *int       `json:"count"`
	// Becomes is parsed by parseTransition.
	Becomes json.RawMessage `json:"becomes"`
}

// LoadFixture replaces every instance with those of the fixture read from
// r (see the package documentation for the format). name identifies the
// fixture in errors. A bad fixture is a *FixtureError and changes nothing.
func (s *Server) LoadFixture(name string, r io.Reader) error {
	_, err := s.loadFixture(name, r, s.store.replace)
	return err
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

func (s *Server) loadFixture(name string, r io.Reader, apply func([]Instance) ([]Instance, error)) ([]Instance, error) {
	insts, err := parseFixture(r)
	if err == nil {
		insts, err = apply(insts)
	}
	if ie, ok := errors.AsType[*InvalidError](err); ok {
		return nil, &FixtureError{File: name, InvalidError: *ie}
	}
	return insts, err
}

// parseFixture reads a whole fixture strictly, so that every mistake is
// reported before anything is loaded.
func parseFixture(r io.Reader) ([]Instance, error) {
	dec := json.NewDecoder(r)
	var doc map[string]json.RawMessage
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return nil, &InvalidError{Index: -1, Err: fmt.Errorf("not a JSON object: %v", err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &InvalidError{Index: -1, Err: errors.New("data after the JSON object")}
	}
	if e := checkFields(doc, []string{"instances"}); e != nil {
		e.Index = -1
		return nil, e
	}
	var entries []json.RawMessage
	if raw, ok := doc["instances"]; !ok {
		return nil, &InvalidError{Index: -1, Field: "instances", Err: errors.New("missing")}
	} else if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, &InvalidError{Index: -1, Field: "instances", Err: errors.New("not an array")}
	}
	var out []Instance
	ids := map[string]bool{}
	for i, raw := range entries {
		insts, e := parseEntry(raw)
		if e == nil && len(insts) == 1 && insts[0].ID != "" {
			if ids[insts[0].ID] {
				e = &InvalidError{Field: "id", Err: fmt.Errorf("%q: %w", insts[0].ID, ErrExists)}
			}
			ids[insts[0].ID] = true
		}
		if e != nil {
			e.Index = i
			return nil, e
		}
		out = append(out, insts...)
	}
	return out, nil
}

func parseEntry(raw json.RawMessage) ([]Instance, *InvalidError) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return nil, &InvalidError{Err: errors.New("not a JSON object")}
	}
	if e := checkFields(fields, entryFields); e != nil {
		return nil, e
	}
	var e fixtureEntry
	if err := json.Unmarshal(raw, &e); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			return nil, &InvalidError{Field: te.Field, Err: fmt.Errorf("%s is not a %s", te.Value, te.Type)}
		}
		return nil, &InvalidError{Err: err}
	}
	count := 1
	if e.Count != nil {
		count = *e.Count
	}
	if count < 1 || count > maxCount {
		return nil, &InvalidError{Field: "count", Err: fmt.Errorf("%d is out of range 1 to %d", count, maxCount)}
	}
	if e.ID != "" && count > 1 {
		return nil, &InvalidError{Field: "id", Err: errors.New("an entry with an id must have count 1")}
	}
	in := Instance{ProjectID: e.ProjectID, ID: e.ID, Name: e.Name, Engine: e.Engine, Status: e.Status}
	if ie := checkInstance(in); ie != nil {
		return nil, ie
	}
	if e.Becomes != nil {
		t, ie := parseTransition(e.Becomes, "becomes", 0)
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

// checkFields rejects the first (in sorted order) field not in allowed.
func checkFields(fields map[string]json.RawMessage, allowed []string) *InvalidError {
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if !slices.Contains(allowed, k) {
			return &InvalidError{Field: k, Valid: allowed, Err: errors.New("unknown field")}
		}
	}
	return nil
}

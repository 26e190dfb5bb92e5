// Package dcsgen reads the status and engine vocabulary out of the DCS
// OpenAPI document and the Go types generated from it, and writes it as
// Go for package dcs. internal/cmd/dcsgen is its command; go generate runs
// it.
package dcsgen

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"text/template"

	"go.yaml.in/yaml/v3"
)

// Markers that the spec's counters and engine properties may carry.
const (
	// ExtSettled on a counter: instances in its status stay there until
	// someone acts. Without it, a status is transitional.
	ExtSettled = "x-dcskit-settled"
	// ExtFailure on a settled counter: its status is a failure, which
	// `dcskit wait --fail-on-error` stops on.
	ExtFailure = "x-dcskit-failure"
	// ExtEngine on a property of InstanceStatusCounts: the property holds
	// one engine's counters; the value is the engine's name as the DCS
	// API spells it, such as "Redis".
	ExtEngine = "x-dcskit-engine"
)

// Schema names in the spec.
const (
	statisticSchema = "StatusStatistic"
	countsSchema    = "InstanceStatusCounts"
)

// Status is one status, from one counter of StatusStatistic.
type Status struct {
	Name        string // as the API spells it: "RUNNING"
	Counter     string // the JSON property: "running_count"
	Label       string // the counter without "_count": "running"
	GoName      string // the Go constant: "Running"
	Field       string // the field of the generated types: "RunningCount"
	Description string
	Settled     bool
	Failure     bool
}

// Engine is one engine, from one property of InstanceStatusCounts.
type Engine struct {
	Name  string // as the API spells it: "Redis"
	Key   string // the JSON property: "redis"
	Field string // the field of the generated type, and the Go constant: "Redis"
}

// Vocabulary is what the spec says about statuses and engines.
type Vocabulary struct {
	Statuses []Status
	Engines  []Engine
	// TotalJSON and EngineJSON are the members of InstanceStatusCounts and
	// StatusStatistic in the order encoding/json writes them: the order
	// of the generated struct fields.
	TotalJSON  []Member
	EngineJSON []Member
}

// Member is one member of a JSON object the API answers: a counter (a
// status's index) or an engine's object (an engine's index).
type Member struct {
	// Lit is the Go literal of what comes before the value: the object's
	// "{" or the "," before, the quoted name and its colon.
	Lit    string
	Status int // index in Statuses, or -1
	Engine int // index in Engines, or -1
}

var counterName = regexp.MustCompile(`^([a-z][a-z0-9]*)_count$`)

// Read takes the statuses and engines from spec (YAML or JSON) and the
// field names from types, the Go source oapi-codegen generated from spec.
func Read(spec, types []byte) (Vocabulary, error) {
	var v Vocabulary
	var root yaml.Node
	if err := yaml.Unmarshal(spec, &root); err != nil {
		return v, err
	}
	schemas := lookup(&root, "components", "schemas")
	if schemas == nil {
		return v, errors.New("no components.schemas")
	}
	fields, order, err := structFields(types, statisticSchema, countsSchema)
	if err != nil {
		return v, err
	}

	props := lookup(schemas, statisticSchema, "properties")
	if props == nil || props.Kind != yaml.MappingNode {
		return v, fmt.Errorf("no %s.properties", statisticSchema)
	}
	for i := 0; i < len(props.Content); i += 2 {
		name, prop := props.Content[i].Value, props.Content[i+1]
		where := statisticSchema + ".properties." + name
		m := counterName.FindStringSubmatch(name)
		if m == nil {
			return v, fmt.Errorf("%s: a counter must be named <status>_count, lower case", where)
		}
		settled, err := flag(prop, ExtSettled)
		if err != nil {
			return v, fmt.Errorf("%s: %w", where, err)
		}
		failure, err := flag(prop, ExtFailure)
		if err != nil {
			return v, fmt.Errorf("%s: %w", where, err)
		}
		if failure && !settled {
			return v, fmt.Errorf("%s: %s needs %s: a failure is where an instance stays", where, ExtFailure, ExtSettled)
		}
		field := fields[statisticSchema][name]
		if field == "" || fields[countsSchema][name] != field {
			return v, fmt.Errorf("%s: no field %q in both %s and %s of the generated types; is %s an allOf of %s, and gen/ regenerated?",
				where, name, statisticSchema, countsSchema, countsSchema, statisticSchema)
		}
		goName, ok := strings.CutSuffix(field, "Count")
		if !ok || goName == "" {
			return v, fmt.Errorf("%s: field %s does not end in Count; give x-go-name <Name>Count", where, field)
		}
		v.Statuses = append(v.Statuses, Status{
			Name:        strings.ToUpper(m[1]),
			Counter:     name,
			Label:       m[1],
			GoName:      goName,
			Field:       field,
			Description: strings.Join(strings.Fields(scalar(prop, "description")), " "),
			Settled:     settled,
			Failure:     failure,
		})
	}
	if len(v.Statuses) == 0 {
		return v, fmt.Errorf("%s has no counters", statisticSchema)
	}

	counts := lookup(schemas, countsSchema)
	if counts == nil {
		return v, fmt.Errorf("no schema %s", countsSchema)
	}
	// The engines may sit in the schema's own properties or in an allOf.
	parts := []*yaml.Node{counts}
	if all := lookup(counts, "allOf"); all != nil {
		parts = append(parts, all.Content...)
	}
	for _, part := range parts {
		props := lookup(part, "properties")
		if props == nil {
			continue
		}
		for i := 0; i < len(props.Content); i += 2 {
			key, prop := props.Content[i].Value, props.Content[i+1]
			name := scalar(prop, ExtEngine)
			if name == "" {
				continue
			}
			field := fields[countsSchema][key]
			if field == "" {
				return v, fmt.Errorf("%s.properties.%s: no such field in the generated types", countsSchema, key)
			}
			v.Engines = append(v.Engines, Engine{Name: name, Key: key, Field: field})
		}
	}
	if len(v.Engines) == 0 {
		return v, fmt.Errorf("%s has no property marked %s", countsSchema, ExtEngine)
	}
	if v.TotalJSON, err = v.members(order[countsSchema], countsSchema); err != nil {
		return v, err
	}
	if v.EngineJSON, err = v.members(order[statisticSchema], statisticSchema); err != nil {
		return v, err
	}
	return v, nil
}

// members maps the JSON names of a generated struct, in field order, to
// the statuses and engines they hold. A field that is neither would be
// written by encoding/json and not by the generated encoder: an error.
func (v Vocabulary) members(names []string, schema string) ([]Member, error) {
	var out []Member
	for _, name := range names {
		before := ","
		if len(out) == 0 {
			before = "{"
		}
		m := Member{Lit: strconv.Quote(before + strconv.Quote(name) + ":"), Status: -1, Engine: -1}
		for i, s := range v.Statuses {
			if s.Counter == name {
				m.Status = i
			}
		}
		for i, e := range v.Engines {
			if e.Key == name {
				m.Engine = i
			}
		}
		if m.Status < 0 && m.Engine < 0 {
			return nil, fmt.Errorf("%s: the generated field %q is neither a counter nor an engine", schema, name)
		}
		out = append(out, m)
	}
	return out, nil
}

// node is a yaml.Node with lookups.
type node = yaml.Node

func lookup(n *node, path ...string) *node {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	for _, k := range path {
		if n = (*mapping)(n).lookup(k); n == nil {
			return nil
		}
	}
	return n
}

type mapping node

func (m *mapping) lookup(key string) *node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalar(n *node, key string) string {
	if v := (*mapping)(n).lookup(key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

func flag(n *node, key string) (bool, error) {
	v := (*mapping)(n).lookup(key)
	if v == nil {
		return false, nil
	}
	b, err := strconv.ParseBool(v.Value)
	if v.Kind != yaml.ScalarNode || err != nil {
		return false, fmt.Errorf("%s must be true or false", key)
	}
	return b, nil
}

// structFields maps, for each named struct type in src, each field's JSON
// name to its Go name, and lists the JSON names in field order.
func structFields(src []byte, names ...string) (map[string]map[string]string, map[string][]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), "types.go", src, parser.SkipObjectResolution)
	if err != nil {
		return nil, nil, err
	}
	out, order := map[string]map[string]string{}, map[string][]string{}
	for _, name := range names {
		out[name] = nil
	}
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok {
			return true
		}
		st, ok := ts.Type.(*ast.StructType)
		if _, want := out[ts.Name.Name]; !ok || !want {
			return true
		}
		m := map[string]string{}
		for _, fld := range st.Fields.List {
			if len(fld.Names) != 1 || !fld.Names[0].IsExported() {
				continue
			}
			// encoding/json's name for the field: its tag's, else its own.
			jsonName := fld.Names[0].Name
			if fld.Tag != nil {
				if tag, err := strconv.Unquote(fld.Tag.Value); err == nil {
					if n, _, _ := strings.Cut(reflect.StructTag(tag).Get("json"), ","); n != "" {
						jsonName = n
					}
				}
			}
			if jsonName == "-" {
				continue
			}
			m[jsonName] = fld.Names[0].Name
			order[ts.Name.Name] = append(order[ts.Name.Name], jsonName)
		}
		out[ts.Name.Name] = m
		return false
	})
	for name, m := range out {
		if m == nil {
			return nil, nil, fmt.Errorf("the generated types have no struct %s", name)
		}
	}
	return out, order, nil
}

// Write writes v as the Go source of package dcs; source names the spec
// in the header.
func Write(w io.Writer, v Vocabulary, source string) error {
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, struct {
		Vocabulary
		Source string
	}{v, source}); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

var tmpl = template.Must(template.New("dcs").Funcs(template.FuncMap{"quote": strconv.Quote}).Parse(`// Code generated by internal/cmd/dcsgen from {{.Source}}. DO NOT EDIT.

package dcs

import (
	"strconv"

	"github.com/dcskit/dcskit/gen"
)

// The engines: the properties of InstanceStatusCounts marked x-dcskit-engine.
const (
{{- range .Engines}}
	{{.Field}} Engine = {{quote .Name}}
{{- end}}
)

// NumEngines is the number of engines, usable as an array length.
const NumEngines = {{len .Engines}}

var engines = [NumEngines]engineInfo{
{{- range .Engines}}
	{ {{- .Field}}, {{quote .Key}}},
{{- end}}
}

// The statuses: one per counter of StatusStatistic, in the spec's order.
const (
{{- range .Statuses}}
	// {{.GoName}}: {{.Description}}
	{{.GoName}} Status = {{quote .Name}}
{{- end}}
)

// NumStatuses is the number of statuses, usable as an array length.
const NumStatuses = {{len .Statuses}}

var statuses = [NumStatuses]statusInfo{
{{- range .Statuses}}
	{status: {{.GoName}}, counter: {{quote .Counter}}, label: {{quote .Label}}, settled: {{.Settled}}, failure: {{.Failure}}},
{{- end}}
}

// Counts is what the instance status API reports: counters in total and
// per engine.
type Counts struct {
	Total Counters
{{- range .Engines}}
	{{.Field}} Counters
{{- end}}
}

// PerEngine points at c's per-engine counters, in the order of Engines().
func (c *Counts) PerEngine() [NumEngines]*Counters {
	return [NumEngines]*Counters{ {{- range $i, $e := .Engines}}{{if $i}}, {{end}}&c.{{$e.Field}}{{end -}} }
}

// engineFields lists the per-engine objects of s in the order of engines.
func engineFields(s *gen.InstanceStatusCounts) [NumEngines]*gen.StatusStatistic {
	return [NumEngines]*gen.StatusStatistic{ {{- range $i, $e := .Engines}}{{if $i}}, {{end}}&s.{{$e.Field}}{{end -}} }
}

// totalFields lists the top-level counters of s in the order of statuses.
func totalFields(s *gen.InstanceStatusCounts) [NumStatuses]*int32 {
	return [NumStatuses]*int32{
{{- range .Statuses}}
		&s.{{.Field}},
{{- end}}
	}
}

// AppendJSON appends c as the API's JSON body: byte for byte what
// encoding/json writes for c.API() (TestAppendJSONIsEncodingJSON), in the
// order of the generated struct fields, without reflection. The fake
// answers every query with it.
func (c *Counts) AppendJSON(b []byte) []byte {
	engines := c.PerEngine()
{{- range .TotalJSON}}{{$m := .}}
	b = append(b, {{$m.Lit}}...)
	{{- if ge $m.Engine 0}}
	b = engines[{{$m.Engine}}].appendJSON(b)
	{{- else}}
	b = strconv.AppendInt(b, int64(c.Total[{{$m.Status}}]), 10)
	{{- end}}
{{- end}}
	return append(b, '}')
}

// appendJSON appends c as a StatusStatistic object, as encoding/json
// writes the generated type.
func (c *Counters) appendJSON(b []byte) []byte {
{{- range .EngineJSON}}{{$m := .}}
	b = append(b, {{$m.Lit}}...)
	b = strconv.AppendInt(b, int64(c[{{$m.Status}}]), 10)
{{- end}}
	return append(b, '}')
}

// statisticFields lists the counters of s in the order of statuses.
func statisticFields(s *gen.StatusStatistic) [NumStatuses]*int32 {
	return [NumStatuses]*int32{
{{- range .Statuses}}
		&s.{{.Field}},
{{- end}}
	}
}
`))

// Package dcsgen generates what mirrors the OpenAPI documents beyond the
// reach of oapi-codegen: from dcs.yaml, the statuses, engines and id rules
// of package dcs (dcs/spec.gen.go) and the Status and Engine enums that
// admin.yaml refers to (openapi/vocabulary.gen.yaml); from admin.yaml, the
// fake's limits (server/limits.gen.go). internal/cmd/dcsgen is its
// command; go generate runs it before oapi-codegen.
package dcsgen

import (
	"bytes"
	"errors"
	"fmt"
	"go/format"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode"

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
	// ExtLimits, at the top of admin.yaml, names each limit of the fake.
	ExtLimits = "x-dcskit-limits"
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
	Name string // as the API spells it, and the Go constant: "Redis"
	Key  string // the JSON property: "redis"
	// Field is the field of the generated type: "Redis".
	Field string
}

// Rule is a string schema of dcs.yaml: its pattern, and its description's
// first sentence, which says the same in words.
type Rule struct {
	Pattern, Words string
}

// Vocabulary is what dcs.yaml says about statuses, engines and ids.
type Vocabulary struct {
	Statuses  []Status
	Engines   []Engine
	ProjectID Rule
	Region    Rule
	// ValidProjectID is the body of a check that needs no regexp
	// package: the client links none.
	ValidProjectID string
}

var counterName = regexp.MustCompile(`^([a-z][a-z0-9]*)_count$`)

// Read takes the vocabulary from dcs.yaml.
func Read(spec []byte) (Vocabulary, error) {
	var v Vocabulary
	var root yaml.Node
	if err := yaml.Unmarshal(spec, &root); err != nil {
		return v, err
	}
	schemas := lookup(&root, "components", "schemas")
	props := lookup(schemas, "StatusStatistic", "properties")
	if props == nil || props.Kind != yaml.MappingNode {
		return v, errors.New("no components.schemas.StatusStatistic.properties")
	}
	for i := 0; i < len(props.Content); i += 2 {
		name, prop := props.Content[i].Value, props.Content[i+1]
		where := "StatusStatistic.properties." + name
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
		field := goField(prop, name)
		goName, ok := strings.CutSuffix(field, "Count")
		if !ok || goName == "" {
			return v, fmt.Errorf("%s: x-go-name must be <Name>Count", where)
		}
		v.Statuses = append(v.Statuses, Status{
			Name: strings.ToUpper(m[1]), Counter: name, Label: m[1], GoName: goName, Field: field,
			Description: strings.Join(strings.Fields(scalar(prop, "description")), " "),
			Settled:     settled, Failure: failure,
		})
	}
	if len(v.Statuses) == 0 {
		return v, errors.New("StatusStatistic has no counters")
	}
	// The engines may sit in the schema's own properties or in an allOf.
	counts := lookup(schemas, "InstanceStatusCounts")
	parts := []*yaml.Node{counts}
	if all := lookup(counts, "allOf"); all != nil {
		parts = append(parts, all.Content...)
	}
	for _, part := range parts {
		props := lookup(part, "properties")
		for i := 0; props != nil && i < len(props.Content); i += 2 {
			if name := scalar(props.Content[i+1], ExtEngine); name != "" {
				key := props.Content[i].Value
				v.Engines = append(v.Engines, Engine{Name: name, Key: key, Field: goField(props.Content[i+1], key)})
			}
		}
	}
	if len(v.Engines) == 0 {
		return v, fmt.Errorf("InstanceStatusCounts has no property marked %s", ExtEngine)
	}
	var err error
	if v.ProjectID, err = rule(schemas, "ProjectId"); err != nil {
		return v, err
	}
	if v.Region, err = rule(schemas, "Region"); err != nil {
		return v, err
	}
	v.ValidProjectID, err = byteCheck(v.ProjectID.Pattern)
	return v, err
}

// goField is the name oapi-codegen gives the field of property name:
// its x-go-name, else the name in camel case. Should the two ever part,
// dcs/spec.gen.go stops compiling, which says so.
func goField(prop *yaml.Node, name string) string {
	if f := scalar(prop, "x-go-name"); f != "" {
		return f
	}
	var b strings.Builder
	for part := range strings.SplitSeq(name, "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

func rule(schemas *yaml.Node, name string) (Rule, error) {
	s := lookup(schemas, name)
	r := Rule{Pattern: scalar(s, "pattern")}
	words, _, _ := strings.Cut(strings.Join(strings.Fields(scalar(s, "description")), " "), ". ")
	r.Words = strings.TrimSuffix(words, ".")
	if r.Pattern == "" || r.Words == "" {
		return r, fmt.Errorf("components.schemas.%s needs a pattern and a description", name)
	}
	if _, err := regexp.Compile(r.Pattern); err != nil {
		return r, fmt.Errorf("components.schemas.%s: %w", name, err)
	}
	r.Words = strings.ToLower(r.Words[:1]) + r.Words[1:]
	return r, nil
}

// byteCheck turns a pattern of the form ^[class]{min,max}$, with an ASCII
// class, into Go that checks a string s against it.
func byteCheck(pattern string) (string, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return "", err
	}
	bad := fmt.Errorf("pattern %q: want the form ^[class]{min,max}$ with an ASCII class", pattern)
	if re.Op != syntax.OpConcat || len(re.Sub) != 3 || re.Sub[0].Op != syntax.OpBeginText || re.Sub[2].Op != syntax.OpEndText {
		return "", bad
	}
	rep := re.Sub[1]
	if rep.Op != syntax.OpRepeat || rep.Max < rep.Min || rep.Sub[0].Op != syntax.OpCharClass {
		return "", bad
	}
	min, max, class := rep.Min, rep.Max, rep.Sub[0]
	var conds []string
	for i := 0; i < len(class.Rune); i += 2 {
		lo, hi := class.Rune[i], class.Rune[i+1]
		if hi > unicode.MaxASCII {
			return "", bad
		}
		if lo == hi {
			conds = append(conds, fmt.Sprintf("c == %q", lo))
		} else {
			conds = append(conds, fmt.Sprintf("%q <= c && c <= %q", lo, hi))
		}
	}
	return fmt.Sprintf(`if len(s) < %d || len(s) > %d {
		return false
	}
	for _, c := range []byte(s) {
		if !(%s) {
			return false
		}
	}
	return true`, min, max, strings.Join(conds, " || ")), nil
}

// Limit is one entry of admin.yaml's x-dcskit-limits.
type Limit struct {
	Name, Description string
	Value             string // a Go constant expression
	Duration          bool
}

// ReadLimits takes x-dcskit-limits from admin.yaml: each a value, an
// integer or a Go duration such as "50s", and a description.
func ReadLimits(spec []byte) ([]Limit, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(spec, &root); err != nil {
		return nil, err
	}
	m := lookup(&root, ExtLimits)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("no %s", ExtLimits)
	}
	var out []Limit
	for i := 0; i < len(m.Content); i += 2 {
		l := Limit{Name: m.Content[i].Value, Description: strings.TrimSpace(scalar(m.Content[i+1], "description"))}
		raw := scalar(m.Content[i+1], "value")
		if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
			l.Value = strconv.FormatInt(n, 10)
		} else if d, err := time.ParseDuration(raw); err == nil && d > 0 {
			l.Value, l.Duration = durationExpr(d), true
		} else {
			return nil, fmt.Errorf("%s.%s: value %q is neither an integer nor a duration", ExtLimits, l.Name, raw)
		}
		if l.Description == "" {
			return nil, fmt.Errorf("%s.%s: no description", ExtLimits, l.Name)
		}
		out = append(out, l)
	}
	return out, nil
}

func durationExpr(d time.Duration) string {
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{time.Hour, "Hour"}, {time.Minute, "Minute"}, {time.Second, "Second"}, {time.Millisecond, "Millisecond"}} {
		if d%u.d == 0 {
			return fmt.Sprintf("%d * time.%s", d/u.d, u.name)
		}
	}
	return strconv.FormatInt(int64(d), 10)
}

// DCS is dcs/spec.gen.go.
func DCS(v Vocabulary) ([]byte, error) { return execute(dcsTmpl, v, true) }

// VocabularyYAML is openapi/vocabulary.gen.yaml.
func VocabularyYAML(v Vocabulary) ([]byte, error) { return execute(yamlTmpl, v, false) }

// Limits is server/limits.gen.go.
func Limits(ls []Limit) ([]byte, error) {
	durations := false
	for _, l := range ls {
		durations = durations || l.Duration
	}
	return execute(limitsTmpl, struct {
		Limits    []Limit
		Durations bool
	}{ls, durations}, true)
}

func execute(t *template.Template, data any, gofmt bool) ([]byte, error) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return nil, err
	}
	if !gofmt {
		return buf.Bytes(), nil
	}
	return format.Source(buf.Bytes())
}

func lookup(n *yaml.Node, path ...string) *yaml.Node {
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	for _, k := range path {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n
}

func scalar(n *yaml.Node, key string) string {
	if v := lookup(n, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

func flag(n *yaml.Node, key string) (bool, error) {
	v := lookup(n, key)
	if v == nil {
		return false, nil
	}
	b, err := strconv.ParseBool(v.Value)
	if v.Kind != yaml.ScalarNode || err != nil {
		return false, fmt.Errorf("%s must be true or false", key)
	}
	return b, nil
}

var funcs = template.FuncMap{
	"quote":     strconv.Quote,
	"backquote": func(s string) string { return "`" + s + "`" },
	// comment keeps the description's own lines.
	"comment": func(s string) string { return strings.ReplaceAll(s, "\n", "\n\t// ") },
}

var dcsTmpl = template.Must(template.New("dcs").Funcs(funcs).Parse(`// Code generated by internal/cmd/dcsgen from openapi/dcs.yaml. DO NOT EDIT.

package dcs

import "github.com/dcskit/dcskit/gen"

// The engines: the properties of InstanceStatusCounts marked x-dcskit-engine.
const (
{{- range .Engines}}
	{{.Name}} Engine = {{quote .Name}}
{{- end}}
)

var engines = [...]engineInfo{
{{- range .Engines}}
	{ {{- .Name}}, {{quote .Key}}},
{{- end}}
}

// The statuses: one per counter of StatusStatistic, in the spec's order.
const (
{{- range .Statuses}}
	// {{.GoName}}: {{.Description}}
	{{.GoName}} Status = {{quote .Name}}
{{- end}}
)

const numStatuses = {{len .Statuses}}

var statuses = [numStatuses]statusInfo{
{{- range .Statuses}}
	{status: {{.GoName}}, counter: {{quote .Counter}}, label: {{quote .Label}}, settled: {{.Settled}}, failure: {{.Failure}}},
{{- end}}
}

// Counts is what the instance status API reports: counters in total and
// per engine.
type Counts struct {
	Total Counters
{{- range .Engines}}
	{{.Name}} Counters
{{- end}}
}

// perEngine points at c's per-engine counters, in the order of Engines().
func (c *Counts) perEngine() [len(engines)]*Counters {
	return [...]*Counters{ {{- range $i, $e := .Engines}}{{if $i}}, {{end}}&c.{{$e.Name}}{{end -}} }
}

// engineFields points at the per-engine objects of s, in the order of
// Engines().
func engineFields(s *gen.InstanceStatusCounts) [len(engines)]*gen.StatusStatistic {
	return [...]*gen.StatusStatistic{ {{- range $i, $e := .Engines}}{{if $i}}, {{end}}&s.{{$e.Field}}{{end -}} }
}

// totalFields points at the top-level counters of s, in the order of
// Statuses().
func totalFields(s *gen.InstanceStatusCounts) [numStatuses]*int32 {
	return [...]*int32{
{{- range .Statuses}}
		&s.{{.Field}},
{{- end}}
	}
}

// statisticFields points at the counters of s, in the order of Statuses().
func statisticFields(s *gen.StatusStatistic) [numStatuses]*int32 {
	return [...]*int32{
{{- range .Statuses}}
		&s.{{.Field}},
{{- end}}
	}
}

// ProjectIDRule is dcs.yaml's ProjectId rule in words, for messages.
const ProjectIDRule = {{quote .ProjectID.Words}}

// ValidProjectID reports whether s follows dcs.yaml's ProjectId pattern,
// {{.ProjectID.Pattern}}.
func ValidProjectID(s string) bool {
	{{.ValidProjectID}}
}

// RegionPattern is dcs.yaml's Region pattern; RegionRule says it in words.
const (
	RegionPattern = {{backquote .Region.Pattern}}
	RegionRule    = {{quote .Region.Words}}
)
`))

var yamlTmpl = template.Must(template.New("yaml").Funcs(funcs).Parse(`# Code generated by internal/cmd/dcsgen from dcs.yaml. DO NOT EDIT.
openapi: 3.0.3
info:
  title: DCS statuses and engines
  version: "2.0"
  description: |
    The statuses and engines of dcs.yaml as enums, for the documents that
    name one: each counter <status>_count of StatusStatistic is the status
    <STATUS>, and each property of InstanceStatusCounts marked
    x-dcskit-engine is an engine.
paths: {}
components:
  schemas:
    Status:
      type: string
      description: An instance status as the DCS API spells it.
      enum:
{{- range .Statuses}}
        - {{.Name}}
{{- end}}
    Engine:
      type: string
      description: A cache engine as the DCS API spells it.
      enum:
{{- range .Engines}}
        - {{.Name}}
{{- end}}
`))

var limitsTmpl = template.Must(template.New("limits").Funcs(funcs).Parse(`// Code generated by internal/cmd/dcsgen from openapi/admin.yaml. DO NOT EDIT.

package server
{{if .Durations}}
import "time"
{{end}}
// The fake's limits, as x-dcskit-limits in openapi/admin.yaml states them.
// A request over one is refused whole with 413 and a *LimitError naming
// it, or with 400 when admin.yaml's schema catches it first.
const (
{{- range .Limits}}
	// {{.Name}} bounds {{comment .Description}}
	{{.Name}} = {{.Value}}
{{- end}}
)
`))

package server

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"time"
)

// secretOptions are the fields of Options that are never shown.
var secretOptions = []string{"SecretKey", "Token"}

// String shows the options with the secret key and token redacted.
func (o Options) String() string {
	var b []byte
	b = append(b, "server.Options{"...)
	for i, f := range o.fields() {
		if i > 0 {
			b = append(b, ' ')
		}
		b = fmt.Appendf(b, "%s:%v", f.name, f.value)
	}
	return string(append(b, '}'))
}

// GoString keeps %#v from printing the fields.
func (o Options) GoString() string { return o.String() }

// Format makes every verb print String: without it, verbs that skip
// Stringer, such as %x, would print the fields.
func (o Options) Format(f fmt.State, _ rune) { fmt.Fprint(f, o.String()) }

// MarshalJSON writes the options that are plain values, secrets redacted;
// funcs, loggers and clocks are left out.
func (o Options) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	for _, f := range o.fields() {
		if f.plain {
			m[f.name] = f.value
		}
	}
	return json.Marshal(m)
}

// LogValue implements slog.LogValuer, with secrets redacted.
func (o Options) LogValue() slog.Value {
	var attrs []slog.Attr
	for _, f := range o.fields() {
		if f.plain {
			attrs = append(attrs, slog.Any(f.name, f.value))
		}
	}
	return slog.GroupValue(attrs...)
}

type optionField struct {
	name  string
	value any
	plain bool // a string, number, bool or duration, not a func or an interface
}

// fields walks the fields of Options, so that a field added later is
// shown without a change here, and redacts the secret ones.
func (o Options) fields() []optionField {
	v := reflect.ValueOf(o)
	var out []optionField
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		fv := v.Field(i)
		f := optionField{name: sf.Name, value: fv.Interface()}
		switch fv.Kind() {
		case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint64, reflect.Float64:
			f.plain = true
		case reflect.Func, reflect.Interface, reflect.Pointer, reflect.Map, reflect.Slice, reflect.Chan:
			// Show only whether it is set: a func or a logger prints as
			// an address, a slice could be long.
			f.value = !fv.IsNil()
		}
		if d, ok := f.value.(time.Duration); ok {
			f.value = d.String()
		}
		if slices.Contains(secretOptions, sf.Name) && fv.Kind() == reflect.String {
			if fv.String() != "" {
				f.value = "REDACTED"
			}
		}
		out = append(out, f)
	}
	return out
}

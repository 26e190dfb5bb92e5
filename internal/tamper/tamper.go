// Package tamper changes the answers of a handler, so that tests can
// build a server that breaks one rule of the spec from one that keeps
// them all.
package tamper

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
)

// Answer is a response on its way out, to be changed.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// Handler serves h, with change applied to each answer before it goes
// out.
func Handler(h http.Handler, change func(r *http.Request, a *Answer)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		a := &Answer{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
		change(r, a)
		for k, v := range a.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(a.Status)
		_, _ = w.Write(a.Body)
	})
}

// Counts is a change that edits the JSON object of every 200 answer. A
// body that is no JSON object is left as it is.
func Counts(edit func(top map[string]any)) func(*http.Request, *Answer) {
	return func(_ *http.Request, a *Answer) {
		var top map[string]any
		if a.Status != http.StatusOK || json.Unmarshal(a.Body, &top) != nil {
			return
		}
		edit(top)
		if b, err := json.Marshal(top); err == nil {
			a.Body = b
		}
	}
}

// Engine is top's object of counters for the engine whose key is key
// ("redis"), made if missing.
func Engine(top map[string]any, key string) map[string]any {
	m, ok := top[key].(map[string]any)
	if !ok {
		m = map[string]any{}
		top[key] = m
	}
	return m
}

// Package conformance checks that an endpoint of the DCS instance status
// API answers as openapi/dcs.yaml says: the logic behind `dcskit verify`.
//
// Check holds each answer to the spec and to what the API page says beyond
// it: each top-level counter is the sum of the engines'; only the exact
// include_failure=true counts failed creations; every answer has an
// X-Request-Id; a bad signature gets the gateway's 401. Fields of other
// API versions are notes.
package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen"
	"github.com/dcskit/dcskit/internal/contract"
	"github.com/dcskit/dcskit/signer"
)

// Severity says whether a finding breaks conformance.
type Severity string

const (
	Error Severity = "error" // the endpoint does not answer as the spec says
	Note  Severity = "note"  // worth knowing, conformant all the same
)

// Finding is one result of Check: about the request Check, such as
// "include_failure=true", at Field: a body field as a dotted path
// ("redis.running_count"), a header, "status", or "" for the whole.
type Finding struct {
	Severity Severity `json:"severity"`
	Check    string   `json:"check"`
	Field    string   `json:"field"`
	Message  string   `json:"message"`
}

// Report is what Check found. Findings are in the order of Checks.
type Report struct {
	Findings []Finding `json:"findings"`
	Checks   []string  `json:"-"` // the requests made, in order
}

// Conformant reports whether no finding is an error.
func (r Report) Conformant() bool {
	return !slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Severity == Error })
}

const checkWrongSignature = "wrong signature"

// queries are the include_failure values asked: "TRUE" catches leniency.
var queries = []*string{nil, new("true"), new("false"), new("TRUE")}

// Check asks the endpoint of a client made with opts, through
// http.DefaultTransport and once (WithHTTPClient and WithRetry give way),
// and judges its answers. The error is for a broken setup; what the
// endpoint does wrong, unreachable included, is in the Report.
func Check(ctx context.Context, opts ...client.Option) (Report, error) {
	checker, err := contract.New()
	if err != nil {
		return Report{}, err
	}
	rec := &recorder{}
	c, err := client.New(append(slices.Clip(opts), client.WithHTTPClient(&http.Client{Transport: rec}), client.WithRetry(client.RetryPolicy{MaxAttempts: 1}))...)
	if err != nil {
		return Report{}, err
	}
	r := &run{checker: checker, report: Report{Findings: []Finding{}}, noted: map[string]bool{}}
	_, projectErr := c.ProjectID(ctx) // IAM's answers are not judged here
	ask := func(name string, q *string) (*http.Response, []byte) {
		r.report.Checks = append(r.report.Checks, name)
		rec.resp, rec.body = nil, nil
		err := projectErr
		if err == nil {
			_, err = c.InstanceStatus(ctx, func(p *gen.ListNumberOfInstancesInDifferentStatusParams) { p.IncludeFailure = q })
		}
		if rec.resp == nil {
			r.add(Error, name, "", fmt.Sprintf("no answer: %v", err))
		}
		return rec.resp, rec.body
	}
	for _, q := range queries {
		name := "include_failure absent"
		if q != nil {
			name = "include_failure=" + *q
		}
		if resp, body := ask(name, q); resp != nil {
			r.counts(ctx, name, q, resp, body)
		}
	}
	if rec.spoil = rec.signed || rec.token; !rec.spoil {
		r.report.Checks = append(r.report.Checks, checkWrongSignature)
		r.add(Note, checkWrongSignature, "", "not checked: the requests carry no credentials to spoil")
	} else if resp, body := ask(checkWrongSignature, nil); resp != nil {
		r.answer(ctx, checkWrongSignature, resp, body, http.StatusUnauthorized)
	}
	return r.report, nil
}

// recorder sends the client's requests, spoiling their credentials when
// asked, and keeps the last answer, its body read up to
// client.MaxBodySize, and how the requests are authenticated.
type recorder struct {
	resp                 *http.Response
	body                 []byte
	signed, token, spoil bool
}

func (rec *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	rec.signed, rec.token = req.Header.Get(signer.HeaderAuthorization) != "", req.Header.Get("X-Auth-Token") != ""
	if rec.spoil {
		req = req.Clone(req.Context())
		spoil(req)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, client.MaxBodySize+1))
	if err != nil {
		return nil, err
	}
	rec.resp, rec.body = resp, body[:min(len(body), client.MaxBodySize)]
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

type run struct {
	checker *contract.Checker
	report  Report
	noted   map[string]bool // field and message of the notes made
}

func (c *run) add(sev Severity, check, field, msg string) {
	// A field the spec does not know is the endpoint's, not the request's:
	// say so once.
	if key := field + "\x00" + msg; sev == Note && c.noted[key] {
		return
	} else if sev == Note {
		c.noted[key] = true
	}
	c.report.Findings = append(c.report.Findings, Finding{Severity: sev, Check: check, Field: field, Message: msg})
}

// answer checks what every answer must have (the spec's status, headers
// and body, an X-Request-Id), and reports whether the status was want.
func (c *run) answer(ctx context.Context, check string, resp *http.Response, body []byte, want int) bool {
	for _, v := range c.checker.ResponseViolations(ctx, resp.Request, resp.StatusCode, resp.Header, body) {
		c.add(Error, check, v.Field, v.Message)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		c.add(Error, check, "X-Request-Id", "missing: every answer must name its request")
	}
	if resp.StatusCode != want {
		c.add(Error, check, "status", fmt.Sprintf("answered %s, want %d", describe(resp, body), want))
		return false
	}
	return true
}

// describe is a status and, for an error body, its code and message.
func describe(resp *http.Response, body []byte) string {
	var e struct {
		Code string `json:"error_code"`
		Msg  string `json:"error_msg"`
	}
	if json.Unmarshal(body, &e) != nil || e.Code == "" && e.Msg == "" {
		return fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	return fmt.Sprintf("HTTP %d with error_code %.64q: %.200q", resp.StatusCode, e.Code, e.Msg)
}

// counts checks a 200 answer to the operation.
func (c *run) counts(ctx context.Context, check string, includeFailure *string, resp *http.Response, body []byte) {
	if !c.answer(ctx, check, resp, body, http.StatusOK) {
		return
	}
	var top map[string]any
	if json.Unmarshal(body, &top) != nil {
		return // not a JSON object: the spec's check has said so
	}
	engines := map[string]map[string]any{}
	for _, e := range dcs.Engines() {
		engines[e.Key()], _ = top[e.Key()].(map[string]any)
		c.unknown(check, e.Key()+".", engines[e.Key()], nil)
	}
	c.unknown(check, "", top, engines)
	failuresCount, asked := includeFailure != nil && *includeFailure == "true", "absent"
	if includeFailure != nil {
		asked = strconv.Quote(*includeFailure)
	}
	const failures = "%d failed creations counted with include_failure %s; only the exact value \"true\" counts them"
	for _, s := range dcs.Statuses() {
		name := s.Counter()
		total, ok := counter(top, name)
		sum, parts := int64(0), []string{}
		for _, e := range dcs.Engines() {
			n, isInt := counter(engines[e.Key()], name)
			ok, sum, parts = ok && isInt, sum+n, append(parts, fmt.Sprintf("%s %d", e.Key(), n))
			if s == dcs.CreateFailed && !failuresCount && n > 0 {
				c.add(Error, check, e.Key()+"."+name, fmt.Sprintf(failures, n, asked))
			}
		}
		if s == dcs.CreateFailed && !failuresCount && total > 0 {
			c.add(Error, check, name, fmt.Sprintf(failures, total, asked))
		}
		// A counter that is no integer: the spec's check has said so.
		if ok && total != sum {
			c.add(Error, check, name, fmt.Sprintf("%d is not the sum of the engines' counters (%s)", total, strings.Join(parts, " + ")))
		}
		if _, present := top[name]; !present {
			c.add(Note, check, name, "absent; read as 0 (the API page's own example leaves restoring_count out)")
		}
	}
}

// unknown notes the fields of obj that are no counter, nor an engine.
func (c *run) unknown(check, prefix string, obj map[string]any, engines map[string]map[string]any) {
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		_, isEngine := engines[k]
		if s, known := dcs.LookupStatus(k); (!known || s.Counter() != k) && !isEngine {
			c.add(Note, check, prefix+k, "not in the spec; other API versions send it")
		}
	}
}

// counter is obj[name] as an integer; an absent counter is 0.
func counter(obj map[string]any, name string) (int64, bool) {
	v, present := obj[name]
	f, ok := v.(float64)
	if ok = !present || ok && f == float64(int64(f)); !ok {
		return 0, false
	}
	return int64(f), true
}

// spoil changes one hex digit of a request's signature, or its token.
func spoil(r *http.Request) {
	if a, err := signer.ParseAuthorization(r.Header.Get(signer.HeaderAuthorization)); err == nil {
		sig := []byte(a.Signature)
		sig[0] = "1032547698badcfe"[strings.IndexByte("0123456789abcdef", sig[0])]
		a.Signature = string(sig)
		r.Header.Set(signer.HeaderAuthorization, a.String())
		return
	}
	if r.Header.Get("X-Auth-Token") != "" {
		r.Header.Set("X-Auth-Token", "dcskit-verify-not-a-token")
	}
}

// WriteText writes the report for a person: each check, ok or its
// errors, then the notes, then the verdict.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, check := range r.Checks {
		errs := slices.DeleteFunc(slices.Clone(r.Findings), func(f Finding) bool { return f.Check != check || f.Severity != Error })
		fmt.Fprintf(&b, "%-6s %s\n", map[bool]string{true: "ok", false: "FAIL"}[len(errs) == 0], check)
		for _, f := range errs {
			fmt.Fprintf(&b, "         %s\n", f.where())
		}
	}
	notes := slices.DeleteFunc(slices.Clone(r.Findings), func(f Finding) bool { return f.Severity != Note })
	for _, f := range notes {
		fmt.Fprintf(&b, "note   %s\n", f.where())
	}
	verdict := "conformant"
	if !r.Conformant() {
		verdict = "NOT conformant"
	}
	fmt.Fprintf(&b, "%s: %d errors, %d notes\n", verdict, len(r.Findings)-len(notes), len(notes))
	_, err := io.WriteString(w, b.String())
	return err
}

// where is the field and the message, which may quote the endpoint, on
// one printable line.
func (f Finding) where() string {
	s := f.Message
	if f.Field != "" {
		s = f.Field + ": " + s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, s)
}

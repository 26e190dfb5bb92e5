// Package conformance checks that an endpoint of the DCS instance status
// API answers as openapi/dcs.yaml says: the logic behind `dcskit verify`.
//
// Check asks the endpoint with include_failure absent, "true", "false"
// and "TRUE" (only the exact value "true" counts failed creations, so a
// server that folds case is caught), then once with a spoiled signature.
// It validates each answer against the spec with kin-openapi (status,
// Content-Type, body), checks what the API page states beyond the schema
// (each top-level counter is the sum of the engines' counters;
// createfailed_count is 0 unless "true" was sent; every answer has an
// X-Request-Id; a bad signature gets the API gateway's 401), and notes the
// fields the spec does not know, which other API versions send, without
// failing on them.
package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"unicode"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/internal/contract"
	"github.com/dcskit/dcskit/signer"
)

// Endpoint makes one authenticated attempt at the operation and returns
// the answer as it came, with edit (if not nil) applied to the request
// after authentication. *client.Client is one.
type Endpoint interface {
	RawInstanceStatus(ctx context.Context, includeFailure *string, edit func(*http.Request)) (*http.Response, []byte, error)
}

// Severity says whether a finding breaks conformance.
type Severity string

const (
	// Error: the endpoint does not answer as the spec says.
	Error Severity = "error"
	// Note: worth knowing, conformant all the same.
	Note Severity = "note"
)

// Finding is one result of Check.
type Finding struct {
	Severity Severity `json:"severity"`
	// Check is the request it is about, such as "include_failure=true" or
	// "wrong signature".
	Check string `json:"check"`
	// Field is where: a body field as a dotted path
	// ("redis.running_count"), a header ("Content-Type", "X-Request-Id"),
	// "status", or "" for the answer as a whole.
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Report is what Check found. Findings are in the order of Checks.
type Report struct {
	Findings []Finding `json:"findings"`
	// Checks names the requests made, in order.
	Checks []string `json:"-"`
}

// Conformant reports whether no finding is an error.
func (r Report) Conformant() bool {
	return !slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Severity == Error })
}

// The names of the checks.
const (
	checkWrongSignature = "wrong signature"
	// otherValue is the include_failure value that is neither "true" nor
	// "false": close enough to "true" to catch a server that is lenient.
	otherValue = "TRUE"
)

// queries are the include_failure values asked, nil for none.
var queries = []*string{nil, new("true"), new("false"), new(otherValue)}

func checkName(includeFailure *string) string {
	if includeFailure == nil {
		return "include_failure absent"
	}
	return "include_failure=" + *includeFailure
}

// Check asks ep and judges its answers. The error is only for a broken
// setup (the spec cannot be loaded); what the endpoint does wrong,
// unreachable included, is in the Report.
func Check(ctx context.Context, ep Endpoint) (Report, error) {
	checker, err := contract.New()
	if err != nil {
		return Report{}, err
	}
	c := &run{checker: checker, report: Report{Findings: []Finding{}}}
	var creds credentialKind
	for _, q := range queries {
		name := checkName(q)
		c.report.Checks = append(c.report.Checks, name)
		resp, body, err := ep.RawInstanceStatus(ctx, q, creds.observe)
		if err != nil {
			c.add(Error, name, "", fmt.Sprintf("no answer: %v", err))
			continue
		}
		c.counts(ctx, name, q, resp, body)
	}
	c.report.Checks = append(c.report.Checks, checkWrongSignature)
	c.wrongSignature(ctx, ep, creds)
	return c.report, nil
}

// run is one Check in progress.
type run struct {
	checker *contract.Checker
	report  Report
	noted   map[string]bool // field and message of the notes made
}

func (c *run) add(sev Severity, check, field, msg string) {
	if sev == Note {
		// A field the spec does not know is the endpoint's, not the
		// request's: say so once.
		key := field + "\x00" + msg
		if c.noted[key] {
			return
		}
		if c.noted == nil {
			c.noted = map[string]bool{}
		}
		c.noted[key] = true
	}
	c.report.Findings = append(c.report.Findings, Finding{Severity: sev, Check: check, Field: field, Message: msg})
}

// answer checks what every answer must have: the spec's status, headers
// and body, and an X-Request-Id. It reports whether the status was want.
func (c *run) answer(ctx context.Context, check string, resp *http.Response, body []byte, want int) bool {
	if resp.Request == nil {
		c.add(Error, check, "", "an answer without its request: cannot route it in the spec")
		return false
	}
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
	s := fmt.Sprintf("HTTP %d", resp.StatusCode)
	var e struct {
		Code string `json:"error_code"`
		Msg  string `json:"error_msg"`
	}
	if json.Unmarshal(body, &e) == nil && (e.Code != "" || e.Msg != "") {
		s += fmt.Sprintf(" with error_code %.64q: %.200q", e.Code, e.Msg)
	}
	return s
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
	counters := map[string]bool{}
	for _, s := range dcs.Statuses() {
		counters[s.Counter()] = true
	}
	engines := map[string]map[string]any{}
	for _, e := range dcs.Engines() {
		obj, _ := top[e.Key()].(map[string]any)
		engines[e.Key()] = obj
		for _, k := range sortedKeys(obj) {
			if !counters[k] {
				c.add(Note, check, e.Key()+"."+k, "not in the spec; other API versions send it")
			}
		}
	}
	for _, k := range sortedKeys(top) {
		if _, isEngine := engines[k]; !isEngine && !counters[k] {
			c.add(Note, check, k, "not in the spec; other API versions send it")
		}
	}
	failuresCount := includeFailure != nil && *includeFailure == "true"
	for _, s := range dcs.Statuses() {
		name := s.Counter()
		total, ok := counter(top, name)
		var sum int64
		var parts []string
		for _, e := range dcs.Engines() {
			n, isInt := counter(engines[e.Key()], name)
			ok = ok && isInt
			sum += n
			parts = append(parts, fmt.Sprintf("%s %d", e.Key(), n))
			if s == dcs.CreateFailed && !failuresCount && n > 0 {
				c.add(Error, check, e.Key()+"."+name, failureMessage(n, includeFailure))
			}
		}
		if s == dcs.CreateFailed && !failuresCount && total > 0 {
			c.add(Error, check, name, failureMessage(total, includeFailure))
		}
		// A counter that is no integer: the spec's check has said so.
		if ok && total != sum {
			c.add(Error, check, name, fmt.Sprintf("%d is not the sum of the engines' counters (%s)", total, strings.Join(parts, " + ")))
		}
	}
	for _, s := range dcs.Statuses() {
		if _, present := top[s.Counter()]; !present {
			c.add(Note, check, s.Counter(), "absent; read as 0 (the API page's own example leaves restoring_count out)")
		}
	}
}

func failureMessage(n int64, includeFailure *string) string {
	asked := "absent"
	if includeFailure != nil {
		asked = fmt.Sprintf("%q", *includeFailure)
	}
	return fmt.Sprintf("%d failed creations counted with include_failure %s; only the exact value \"true\" counts them", n, asked)
}

// counter is obj[name] as an integer; a counter that is absent is 0.
func counter(obj map[string]any, name string) (int64, bool) {
	v, present := obj[name]
	if !present {
		return 0, true
	}
	f, ok := v.(float64)
	if !ok || f != float64(int64(f)) {
		return 0, false
	}
	return int64(f), true
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// credentialKind is how the endpoint's requests are authenticated, as
// seen on the first one.
type credentialKind struct{ signed, token, seen bool }

func (k *credentialKind) observe(r *http.Request) {
	if k.seen {
		return
	}
	k.seen = true
	k.signed = r.Header.Get(signer.HeaderAuthorization) != ""
	k.token = r.Header.Get("X-Auth-Token") != ""
}

// wrongSignature sends the request with its proof of identity spoiled and
// expects the API gateway's 401.
func (c *run) wrongSignature(ctx context.Context, ep Endpoint, creds credentialKind) {
	if !creds.signed && !creds.token {
		c.add(Note, checkWrongSignature, "", "not checked: the requests carry no credentials to spoil")
		return
	}
	resp, body, err := ep.RawInstanceStatus(ctx, nil, spoil)
	if err != nil {
		c.add(Error, checkWrongSignature, "", fmt.Sprintf("no answer: %v", err))
		return
	}
	c.answer(ctx, checkWrongSignature, resp, body, http.StatusUnauthorized)
}

// spoil breaks the signature of a signed request, or the token of
// another: one hex digit of the signature changes.
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
// findings, then notes, then the verdict.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, check := range r.Checks {
		var errs []Finding
		for _, f := range r.Findings {
			if f.Check == check && f.Severity == Error {
				errs = append(errs, f)
			}
		}
		if len(errs) == 0 {
			fmt.Fprintf(&b, "ok     %s\n", check)
			continue
		}
		fmt.Fprintf(&b, "FAIL   %s\n", check)
		for _, f := range errs {
			fmt.Fprintf(&b, "         %s\n", f.where())
		}
	}
	nerr, nnote := 0, 0
	for _, f := range r.Findings {
		if f.Severity == Note {
			nnote++
			fmt.Fprintf(&b, "note   %s\n", f.where())
		} else {
			nerr++
		}
	}
	verdict := "conformant"
	if nerr > 0 {
		verdict = "NOT conformant"
	}
	fmt.Fprintf(&b, "%s: %d errors, %d notes\n", verdict, nerr, nnote)
	_, err := io.WriteString(w, b.String())
	return err
}

// where is the field and the message, on one printable line: both may
// quote the endpoint.
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

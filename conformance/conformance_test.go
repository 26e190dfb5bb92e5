package conformance_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/conformance"
	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/internal/contract/contracttest"
	"github.com/dcskit/dcskit/internal/tamper"
	"github.com/dcskit/dcskit/server"
	"github.com/dcskit/dcskit/servertest"
)

const (
	testAK      = "AKVERIFY"
	testSK      = "sk-verify-SECRET"
	testToken   = "tok-verify-SECRET"
	testProject = "p"
)

// newFake is a credential-checking fake with one instance of each engine
// in each status, failed creations included, whose every answer is held
// to the spec.
func newFake(t *testing.T, opts server.Options) (*server.Server, http.Handler) {
	t.Helper()
	s, err := server.New(opts)
	require.NoError(t, err)
	_, err = s.Add(servertest.OneOfEach(testProject)...)
	require.NoError(t, err)
	return s, contracttest.New(t).Handler(t, s.Handler())
}

func signedFake(t *testing.T) (*server.Server, http.Handler) {
	t.Helper()
	return newFake(t, server.Options{AccessKey: testAK, SecretKey: testSK})
}

func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL
}

// check runs conformance.Check against url with a signing client.
func check(t *testing.T, url string, opts ...client.Option) conformance.Report {
	t.Helper()
	base := []client.Option{client.WithEndpoint(url), client.WithProjectID(testProject)}
	if len(opts) == 0 {
		opts = []client.Option{client.WithCredentials(testAK, testSK)}
	}
	r, err := conformance.Check(t.Context(), append(base, opts...)...)
	require.NoError(t, err)
	return r
}

// hostile serves h, with breakIt applied to each answer.
func hostile(t *testing.T, h http.Handler, breakIt func(*http.Request, *tamper.Answer)) string {
	t.Helper()
	return serve(t, tamper.Handler(h, breakIt))
}

func fields(fs []conformance.Finding, sev conformance.Severity) []string {
	var out []string
	for _, f := range fs {
		if f.Severity == sev {
			out = append(out, f.Field)
		}
	}
	return out
}

func TestTheFakeIsConformant(t *testing.T) {
	t.Parallel()
	t.Run("signed", func(t *testing.T) {
		t.Parallel()
		fake, h := signedFake(t)
		r := check(t, serve(t, h))
		assert.True(t, r.Conformant(), "%+v", r.Findings)
		assert.Empty(t, r.Findings)
		assert.Equal(t, []string{"include_failure absent", "include_failure=true", "include_failure=false", "include_failure=TRUE", "wrong signature"}, r.Checks)
		var sent []string
		for _, rr := range fake.Requests() {
			sent = append(sent, rr.RawQuery+" "+string(rr.Auth.Result))
		}
		assert.Equal(t, []string{" ok", "include_failure=true ok", "include_failure=false ok", "include_failure=TRUE ok", " rejected"}, sent)
	})
	t.Run("token", func(t *testing.T) {
		t.Parallel()
		fake, h := newFake(t, server.Options{Token: testToken})
		r := check(t, serve(t, h), client.WithIAMToken(testToken))
		assert.True(t, r.Conformant(), "%+v", r.Findings)
		assert.Empty(t, r.Findings)
		last := fake.Requests()[len(fake.Requests())-1]
		assert.Equal(t, server.AuthRejected, last.Auth.Result, "the token was spoiled")
	})
}

// Each hostile server breaks one rule; Check names the field. The servers
// of issue 12 (a negative counter, a wrong total, a long error_code, HTML,
// a DCS body on a 401) are run through the command, in
// cmd/dcskit/verify_test.go.
func TestHostileServers(t *testing.T) {
	t.Parallel()
	engines := dcs.Engines()
	redis, memcached := engines[0], engines[len(engines)-1]
	failed := dcs.CreateFailed.Counter()
	tests := []struct {
		name    string
		breakIt func(*http.Request, *tamper.Answer)
		field   string
		message string
	}{
		{"failed creations counted without true", func(r *http.Request, a *tamper.Answer) {
			if r.URL.Query().Get("include_failure") == "TRUE" {
				tamper.Counts(func(top map[string]any) {
					top[failed] = 2
					tamper.Engine(top, redis.Key())[failed] = 1
					tamper.Engine(top, memcached.Key())[failed] = 1
				})(r, a)
			}
		}, failed, `only the exact value "true" counts them`},
		{"no X-Request-Id", func(_ *http.Request, a *tamper.Answer) { a.Header.Del("X-Request-Id") }, "X-Request-Id", "missing"},
		{"wrong signature accepted", func(_ *http.Request, a *tamper.Answer) {
			if a.Status == http.StatusUnauthorized {
				a.Status = http.StatusOK
				a.Header.Set("Content-Type", "application/json")
				a.Body = []byte("{}")
			}
		}, "status", "answered HTTP 200, want 401"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, h := signedFake(t)
			r := check(t, hostile(t, h, tt.breakIt))
			assert.False(t, r.Conformant())
			var found bool
			for _, f := range r.Findings {
				if f.Severity == conformance.Error && f.Field == tt.field && strings.Contains(f.Message, tt.message) {
					found = true
				}
			}
			assert.True(t, found, "no error at %s with %q in %+v", tt.field, tt.message, r.Findings)
		})
	}
}

// Other API versions add counters: a note, not a failure.
func TestUnknownFieldsAreNotes(t *testing.T) {
	t.Parallel()
	extra := unknownCounter(t)
	_, h := signedFake(t)
	url := hostile(t, h, tamper.Counts(func(top map[string]any) {
		top[extra] = 0
		for _, e := range dcs.Engines() {
			tamper.Engine(top, e.Key())[extra] = 0
		}
	}))
	r := check(t, url)
	assert.True(t, r.Conformant(), "%+v", r.Findings)
	want := []string{}
	for _, e := range dcs.Engines() {
		want = append(want, e.Key()+"."+extra)
	}
	want = append(want, extra)
	assert.Equal(t, want, fields(r.Findings, conformance.Note), "once each, though four answers had them")
	for _, f := range r.Findings {
		assert.Contains(t, f.Message, "not in the spec")
	}
}

// unknownCounter is a counter of other API versions that the spec does
// not have: deleting_count, unless the spec has it (as in the drill that
// adds a status).
func unknownCounter(t *testing.T) string {
	t.Helper()
	for _, c := range []string{"deleting_count", "closed_count"} {
		if _, known := dcs.LookupStatus(c); !known {
			return c
		}
	}
	t.Fatal("the spec knows every counter of other API versions")
	return ""
}

func TestUnreachableEndpoint(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close()
	r := check(t, url)
	assert.False(t, r.Conformant())
	assert.Len(t, r.Findings, 5, "one per request: %+v", r.Findings)
}

func TestUnsignedRequestsSkipTheSignatureCheck(t *testing.T) {
	t.Parallel()
	_, h := newFake(t, server.Options{})
	r := check(t, serve(t, h), client.WithoutSigning())
	assert.True(t, r.Conformant(), "%+v", r.Findings)
	require.Len(t, r.Findings, 1)
	assert.Equal(t, conformance.Finding{Severity: conformance.Note, Check: "wrong signature", Message: "not checked: the requests carry no credentials to spoil"}, r.Findings[0])
}

// A project that cannot be found is no answer to any request; options
// that make no client are a broken setup.
func TestNoProjectAndBadOptions(t *testing.T) {
	t.Parallel()
	_, h := signedFake(t)
	url := serve(t, h)
	r, err := conformance.Check(t.Context(), client.WithEndpoint(url), client.WithIAMEndpoint(url), client.WithRegion("eu-west-0"), client.WithCredentials(testAK, testSK))
	require.NoError(t, err)
	assert.Len(t, r.Findings, 5, "%+v", r.Findings)
	assert.Contains(t, r.Findings[0].Message, `no answer: IAM at `+url+` has no project named "eu-west-0"`)
	_, err = conformance.Check(t.Context(), client.WithEndpoint("ftp://x"), client.WithCredentials(testAK, testSK))
	assert.ErrorContains(t, err, "invalid endpoint")
}

func TestReportText(t *testing.T) {
	t.Parallel()
	r := conformance.Report{
		Checks: []string{"include_failure absent", "wrong signature"},
		Findings: []conformance.Finding{
			{Severity: conformance.Error, Check: "wrong signature", Field: "error_code", Message: "bad\x1b[31m code"},
			{Severity: conformance.Note, Check: "include_failure absent", Field: "deleting_count", Message: "not in the spec"},
		},
	}
	var b bytes.Buffer
	require.NoError(t, r.WriteText(&b))
	assert.Equal(t, "ok     include_failure absent\n"+
		"FAIL   wrong signature\n"+
		"         error_code: bad [31m code\n"+
		"note   deleting_count: not in the spec\n"+
		"NOT conformant: 1 errors, 1 notes\n", b.String())

	data, err := json.Marshal(r)
	require.NoError(t, err)
	assert.JSONEq(t, `{"findings":[
		{"severity":"error","check":"wrong signature","field":"error_code","message":"bad\u001b[31m code"},
		{"severity":"note","check":"include_failure absent","field":"deleting_count","message":"not in the spec"}]}`, string(data))
}

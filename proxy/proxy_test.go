package proxy_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"log/slog"
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
	"github.com/dcskit/dcskit/internal/syncbuf"
	"github.com/dcskit/dcskit/internal/tamper"
	"github.com/dcskit/dcskit/proxy"
	"github.com/dcskit/dcskit/server"
	"github.com/dcskit/dcskit/servertest"
	"github.com/dcskit/dcskit/signer"
)

const (
	testAK      = "AKPROXY"
	testSK      = "sk-proxy-SECRET"
	testToken   = "tok-proxy-SECRET"
	testProject = "p"
)

// upstream is a fake that checks signatures and tokens, one instance of
// each engine in each status, every answer held to the spec.
func upstream(t *testing.T) (*server.Server, http.Handler) {
	t.Helper()
	s, err := server.New(server.Options{AccessKey: testAK, SecretKey: testSK, Token: testToken})
	require.NoError(t, err)
	_, err = s.Add(servertest.OneOfEach(testProject)...)
	require.NoError(t, err)
	return s, contracttest.New(t).Handler(t, s.Handler())
}

func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL
}

// start runs a proxy to up and returns it, its URL and its log.
func start(t *testing.T, up string) (*proxy.Proxy, string, *syncbuf.Buffer) {
	t.Helper()
	logs := &syncbuf.Buffer{}
	p, err := proxy.New(proxy.Options{Upstream: up, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	require.NoError(t, err)
	return p, serve(t, p), logs
}

func newClient(t *testing.T, url string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(append([]client.Option{client.WithEndpoint(url), client.WithProjectID(testProject), client.WithRetry(client.RetryPolicy{MaxAttempts: 1})}, opts...)...)
	require.NoError(t, err)
	return c
}

func TestClientRequestsPassThroughSigned(t *testing.T) {
	t.Parallel()
	fake, h := upstream(t)
	p, url, logs := start(t, serve(t, h))

	for _, cred := range []client.Option{client.WithCredentials(testAK, testSK), client.WithIAMToken(testToken)} {
		st, err := newClient(t, url, cred).InstanceStatus(t.Context(), client.IncludeFailure())
		require.NoError(t, err)
		assert.EqualValues(t, len(dcs.Engines()), st.Count(dcs.Running))
	}
	var results []server.AuthResult
	for _, rr := range fake.Requests() {
		results = append(results, rr.Auth.Result)
	}
	assert.Equal(t, []server.AuthResult{server.AuthOK, server.AuthOK}, results, "the signature survived the change of host")
	assert.Equal(t, proxy.Summary{Requests: 2}, p.Summary())
	assert.Equal(t, 2, strings.Count(logs.String(), `"msg":"exchange"`))
	assert.NotContains(t, logs.String(), `"msg":"violation"`)
}

// verify through the proxy: the endpoint stays conformant and the proxy
// flags nothing, its wrong signature included.
func TestVerifyThroughTheProxy(t *testing.T) {
	t.Parallel()
	_, h := upstream(t)
	p, url, _ := start(t, serve(t, h))
	r, err := conformance.Check(t.Context(), client.WithEndpoint(url), client.WithProjectID(testProject), client.WithCredentials(testAK, testSK))
	require.NoError(t, err)
	assert.True(t, r.Conformant(), "%+v", r.Findings)
	assert.Equal(t, proxy.Summary{Requests: 5}, p.Summary())
}

func TestTamperedAnswerIsFlagged(t *testing.T) {
	t.Parallel()
	_, h := upstream(t)
	tampered := serve(t, tamper.Handler(h, tamper.Counts(func(top map[string]any) {
		tamper.Engine(top, dcs.Redis.Key())[dcs.Creating.Counter()] = -1
	})))
	p, url, logs := start(t, tampered)

	_, err := newClient(t, url, client.WithCredentials(testAK, testSK)).InstanceStatus(t.Context())
	var invalid *client.InvalidResponseError
	require.ErrorAs(t, err, &invalid, "the answer is forwarded as it came")
	assert.Equal(t, proxy.Summary{Requests: 1, Flagged: 1, Violations: 1}, p.Summary())

	var line map[string]any
	for l := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		if strings.Contains(l, `"msg":"violation"`) {
			require.NoError(t, json.Unmarshal([]byte(l), &line))
		}
	}
	require.NotNil(t, line, logs.String())
	assert.Equal(t, invalid.RequestID, line["request_id"])
	assert.Equal(t, dcs.Redis.Key()+"."+dcs.Creating.Counter(), line["field"])
	assert.Contains(t, line["message"], "number must be at least 0 (got -1)")
	assert.Equal(t, "WARN", line["level"])
}

func TestRequestViolationsAreFlagged(t *testing.T) {
	t.Parallel()
	_, h := upstream(t)
	p, url, logs := start(t, serve(t, h))
	for _, path := range []string{"/v2/p/instances/status", "/v3/nothing"} {
		resp, err := http.Get(url + path)
		require.NoError(t, err)
		resp.Body.Close()
	}
	assert.Equal(t, proxy.Summary{Requests: 2, Flagged: 2, Violations: 2}, p.Summary())
	assert.Contains(t, logs.String(), "no credentials the spec accepts")
	assert.Contains(t, logs.String(), "no operation of the spec is GET /v3/nothing")
}

// No header value reaches the log: not the signature, not a token.
func TestLogsHoldNoCredentials(t *testing.T) {
	t.Parallel()
	_, h := upstream(t)
	_, url, logs := start(t, serve(t, h))
	var signature string
	signed := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		a, err := signer.ParseAuthorization(r.Header.Get("Authorization"))
		require.NoError(t, err)
		signature = a.Signature
		return http.DefaultTransport.RoundTrip(r)
	})}
	_, err := newClient(t, url, client.WithCredentials(testAK, testSK+"-wrong"), client.WithHTTPClient(signed)).InstanceStatus(t.Context())
	require.Error(t, err)
	_, err = newClient(t, url, client.WithIAMToken(testToken+"-wrong")).InstanceStatus(t.Context())
	require.Error(t, err)
	require.NotEmpty(t, signature)
	for _, secret := range []string{signature, testSK, testToken, "SDK-HMAC-SHA256"} {
		assert.NotContains(t, logs.String(), secret)
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat(" ", client.MaxBodySize) + "{}"
	up := serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "r1")
		_, _ = io.WriteString(w, huge)
	}))
	p, url, logs := start(t, up)
	req, err := http.NewRequest(http.MethodGet, url+"/v2/p/instances/status", nil)
	require.NoError(t, err)
	req.Header.Set("X-Auth-Token", "t")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Len(t, got, len(huge), "forwarded in full")
	assert.Equal(t, proxy.Summary{Requests: 1, Flagged: 1, Violations: 1}, p.Summary())
	assert.Contains(t, logs.String(), "response body over 1048576 bytes")
}

func TestGzipAnswersAreChecked(t *testing.T) {
	t.Parallel()
	_, h := upstream(t)
	up := serve(t, tamper.Handler(h, func(_ *http.Request, a *tamper.Answer) {
		var zipped bytes.Buffer
		zw := gzip.NewWriter(&zipped)
		_, _ = zw.Write(a.Body)
		_ = zw.Close()
		a.Header.Set("Content-Encoding", "gzip")
		a.Body = zipped.Bytes()
	}))
	p, url, logs := start(t, up)
	_, err := newClient(t, url, client.WithCredentials(testAK, testSK)).InstanceStatus(t.Context())
	require.NoError(t, err)
	assert.Equal(t, proxy.Summary{Requests: 1}, p.Summary(), logs.String())

	req, err := http.NewRequest(http.MethodGet, url+"/v2/p/instances/status", nil)
	require.NoError(t, err)
	req.Header.Set("Accept-Encoding", "gzip") // the client's own: passed through, not decoded
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
	assert.Equal(t, 2, p.Summary().Requests)
}

func TestUpstreamUnreachable(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.NotFoundHandler())
	ts.Close()
	p, url, logs := start(t, ts.URL)
	resp, err := http.Get(url + "/v2/p/instances/status")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	assert.Equal(t, proxy.Summary{Requests: 1, Failed: 1}, p.Summary())
	assert.Contains(t, logs.String(), "no answer from upstream")
}

func TestBadUpstream(t *testing.T) {
	t.Parallel()
	for _, up := range []string{"", "dcs.example.com", "ftp://dcs.example.com", "https://dcs.example.com/prefix",
		"https://user:pass@dcs.example.com", "https://dcs.example.com?x=1", "http://[::1"} {
		_, err := proxy.New(proxy.Options{Upstream: up})
		assert.Error(t, err, up)
		if err != nil {
			assert.NotContains(t, err.Error(), "pass@", "no password in errors")
		}
	}
	_, err := proxy.New(proxy.Options{Upstream: "https://dcs.example.com/"})
	assert.NoError(t, err)
}

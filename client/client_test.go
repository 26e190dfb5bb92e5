package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/signer"
)

const (
	testAK      = "TESTACCESSKEY"
	testSK      = "test-secret-key-never-printed"
	testToken   = "test-token-never-printed"
	testProject = "0a1b2c3d4e5f"
)

// api is an httptest server that counts requests and keeps the last one's
// headers.
type api struct {
	*httptest.Server
	hits atomic.Int32
	mu   sync.Mutex
	last *http.Request
}

func serve(t *testing.T, h http.HandlerFunc) *api {
	t.Helper()
	a := &api{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := a.hits.Add(1)
		a.mu.Lock()
		a.last = r.Clone(context.Background())
		a.mu.Unlock()
		w.Header().Set("X-Request-Id", fmt.Sprintf("req-%d", n))
		h(w, r)
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *api) lastRequest() *http.Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

// noWait retries at once, so that tests do not sleep.
func noWait(int, *http.Response) time.Duration { return 0 }

// newClient returns a client of endpoint, signing with the test keys,
// that retries without waiting; opts come last, and a repeated option
// wins.
func newClient(t *testing.T, endpoint string, opts ...client.Option) *client.Client {
	t.Helper()
	return newClientAs(t, endpoint, client.WithCredentials(testAK, testSK), opts...)
}

// newClientAs is newClient with credentials of another kind.
func newClientAs(t *testing.T, endpoint string, creds client.Option, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(append([]client.Option{client.WithEndpoint(endpoint), client.WithProjectID(testProject),
		creds, client.WithRetry(client.RetryPolicy{Backoff: noWait})}, opts...)...)
	require.NoError(t, err)
	return c
}

// once makes every call a single attempt.
var once = client.WithRetry(client.RetryPolicy{MaxAttempts: 1})

// temporary signs with ak and sk and testToken, as temporary keys do.
func temporary(ak, sk string) client.Option {
	return client.WithCredentialsProvider(&stubProvider{name: "temporary", cred: client.Credentials{
		Keys: signer.Credentials{AccessKey: ak, SecretKey: sk, SecurityToken: testToken}, Expires: time.Now().Add(time.Hour), Source: "temporary"}})
}

// projectOf is c's project, which must be known.
func projectOf(t *testing.T, c *client.Client) string {
	t.Helper()
	id, err := c.ProjectID(t.Context())
	require.NoError(t, err)
	return id
}

func jsonBody(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

func seed(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../openapi/testdata/seed_example_200.json")
	require.NoError(t, err)
	return b
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	// valid prepends a project id and AK/SK to opts.
	valid := func(opts ...client.Option) []client.Option {
		return append([]client.Option{client.WithProjectID(testProject), client.WithCredentials(testAK, testSK)}, opts...)
	}
	tests := []struct {
		name string
		opts []client.Option
		want string // in the error; "" for success
	}{
		{"minimal", valid(), ""},
		{"token instead of AK/SK", []client.Option{client.WithProjectID(testProject), client.WithIAMToken(testToken)}, ""},
		{"explicit keys win over the environment's half pair", valid(client.FromEnv(env(map[string]string{client.EnvAccessKey: testAK}))), ""},
		{"no project: found later", []client.Option{client.WithCredentials(testAK, testSK)}, ""},
		{"bad IAM endpoint", []client.Option{client.WithCredentials(testAK, testSK), client.WithIAMEndpoint("ftp://iam")}, "IAM endpoint: invalid endpoint"},
		{"bad IAM endpoint from the environment", []client.Option{client.WithCredentials(testAK, testSK), client.FromEnv(env(map[string]string{client.EnvIAMEndpoint: "https://iam/?x"}))}, client.EnvIAMEndpoint},
		{"nil provider", valid(client.WithCredentialsProvider(nil)), "nil CredentialsProvider"},
		{"nil IAM", valid(client.WithIAM(nil)), "nil *IAM"},
		{"provider and token", []client.Option{client.WithProjectID(testProject), client.WithCredentialsProvider(client.EnvCredentials(nil)), client.WithIAMToken(testToken)}, "WithCredentialsProvider and WithIAMToken each give credentials: use one"},
		{"keys and no signing", valid(client.WithoutSigning()), "WithCredentials and WithoutSigning each give credentials: use one"},
		{"keys and a provider", valid(client.WithCredentialsProvider(client.EnvCredentials(nil))), "WithCredentials and WithCredentialsProvider each"},
		{"bad template", valid(client.WithEndpointTemplate("dcs.{region}.example")), "endpoint template: invalid endpoint"},
		{"template with a query", valid(client.WithEndpointTemplate("https://dcs.example/?r={region}")), "endpoint template"},
		{"empty project", valid(client.WithProjectID("")), `invalid project id ""`},
		{"project id with a space", valid(client.WithProjectID("a b")), `invalid project id "a b": want 1 to 64 letters, digits, '-' or '_'`},
		{"project id with a slash", valid(client.WithProjectID("a/b")), `invalid project id "a/b"`},
		{"project id from the environment", []client.Option{client.WithCredentials(testAK, testSK), client.FromEnv(env(map[string]string{client.EnvProjectID: "a b"}))}, client.EnvProjectID + `: invalid project id "a b"`},
		{"endpoint without a scheme", valid(client.WithEndpoint("127.0.0.1:8080")), "invalid endpoint: no scheme: want http:// or https:// before the host, as in http://127.0.0.1:8080"},
		{"endpoint without a scheme, with a password", valid(client.WithEndpoint("user:" + testSK + "@h:8080")), "no scheme"},
		{"no credentials", []client.Option{client.WithProjectID(testProject)}, "no credentials"},
		{"empty SK", valid(client.WithCredentials(testAK, "")), "empty secret key"},
		{"empty AK", valid(client.WithCredentials("", testSK)), "empty access key"},
		{"AK/SK and token", valid(client.WithIAMToken(testToken)), "WithCredentials and WithIAMToken each give credentials: use one"},
		{"empty IAM token", valid(client.WithIAMToken("")), "empty IAM token"},
		{"half a pair in the environment", []client.Option{client.WithProjectID(testProject), client.FromEnv(env(map[string]string{client.EnvAccessKey: testAK}))}, "environment: HUAWEICLOUD_SDK_AK/HUAWEICLOUD_SDK_SK: invalid credentials: empty secret key"},
		{"bad scheme", valid(client.WithEndpoint("ftp://dcs.example.com")), "invalid endpoint"},
		{"no host", valid(client.WithEndpoint("https://")), "invalid endpoint"},
		{"unparsable", valid(client.WithEndpoint("http://host:port")), "invalid endpoint"},
		{"query", valid(client.WithEndpoint("https://h/?a=b")), "no user info, query"},
		{"user info", valid(client.WithEndpoint("https://user:" + testSK + "@h/")), "no user info"},
		{"unparsable user info", valid(client.WithEndpoint("https://user:" + testSK + "@h:port/")), "invalid endpoint"},
		{"empty region", valid(client.WithRegion("")), "invalid region"},
		{"region with slash", valid(client.WithRegion("a/b")), "invalid region"},
		{"nil http client", valid(client.WithHTTPClient(nil)), "nil *http.Client"},
		{"negative attempts", valid(client.WithRetry(client.RetryPolicy{MaxAttempts: -1})), "negative"},
		{"nil logger", valid(client.WithLogger(nil)), "nil *slog.Logger"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := client.New(tt.opts...)
			if tt.want == "" {
				require.NoError(t, err)
				assert.NotNil(t, c)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), testSK)
			assert.NotContains(t, err.Error(), testToken)
			assert.False(t, strings.HasPrefix(err.Error(), "client:"), "no package name: commands show it as it is")
		})
	}
}

func TestEndpoint(t *testing.T) {
	t.Parallel()
	override := client.EnvEndpointPrefix + "AP_SOUTHEAST_1"
	tests := []struct {
		name string
		opts []client.Option
		want string
	}{
		{"default region", nil, "https://dcs.cn-north-4.myhuaweicloud.com/"},
		{"region", []client.Option{client.WithRegion("ap-southeast-1")}, "https://dcs.ap-southeast-1.myhuaweicloud.com/"},
		{"endpoint wins over region", []client.Option{client.WithEndpoint("http://127.0.0.1:8080"), client.WithRegion("ap-southeast-1")}, "http://127.0.0.1:8080/"},
		{"env override for the region", []client.Option{
			client.FromEnv(env(map[string]string{override: "https://a.example.com, https://b.example.com"})),
			client.WithRegion("ap-southeast-1"),
		}, "https://a.example.com/"},
		{"env override in either order", []client.Option{
			client.WithRegion("ap-southeast-1"),
			client.FromEnv(env(map[string]string{override: "https://a.example.com"})),
		}, "https://a.example.com/"},
		{"env override of another region", []client.Option{
			client.FromEnv(env(map[string]string{override: "https://a.example.com"})),
		}, "https://dcs.cn-north-4.myhuaweicloud.com/"},
		{"endpoint wins over env", []client.Option{
			client.WithEndpoint("https://mine.example.com/prefix"),
			client.FromEnv(env(map[string]string{override: "https://a.example.com"})),
			client.WithRegion("ap-southeast-1"),
		}, "https://mine.example.com/prefix/"},
		{"template", []client.Option{
			client.WithEndpointTemplate("https://dcs.{region}.example.com/v"),
			client.WithRegion("ap-southeast-1"),
		}, "https://dcs.ap-southeast-1.example.com/v/"},
		{"template without placeholder", []client.Option{
			client.WithEndpointTemplate("http://127.0.0.1:8080"),
			client.WithRegion("ap-southeast-1"),
		}, "http://127.0.0.1:8080/"},
		{"template wins over env", []client.Option{
			client.FromEnv(env(map[string]string{override: "https://a.example.com"})),
			client.WithEndpointTemplate("https://dcs.{region}.example.com"),
			client.WithRegion("ap-southeast-1"),
		}, "https://dcs.ap-southeast-1.example.com/"},
		{"endpoint wins over template", []client.Option{
			client.WithEndpoint("https://mine.example.com"),
			client.WithEndpointTemplate("https://dcs.{region}.example.com"),
		}, "https://mine.example.com/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := client.New(append(tt.opts, client.WithProjectID(testProject), client.WithCredentials(testAK, testSK))...)
			require.NoError(t, err)
			assert.Equal(t, tt.want, c.Endpoint())
		})
	}

	_, err := client.New(client.WithProjectID(testProject), client.WithCredentials(testAK, testSK),
		client.FromEnv(env(map[string]string{client.EnvEndpointPrefix + "CN_NORTH_4": "not a url"})))
	require.Error(t, err)
	assert.Contains(t, err.Error(), client.EnvEndpointPrefix+"CN_NORTH_4")
}

// One environment serves clients of several regions: each finds its own
// region's endpoint override.
func TestEnvEndpointOverridePerRegion(t *testing.T) {
	t.Parallel()
	north, south := serve(t, jsonBody(200, "{}")), serve(t, jsonBody(200, "{}"))
	getenv := env(map[string]string{
		client.EnvAccessKey: testAK, client.EnvSecretKey: testSK, client.EnvProjectID: testProject,
		client.EnvEndpointPrefix + "CN_NORTH_4":     north.URL,
		client.EnvEndpointPrefix + "AP_SOUTHEAST_1": south.URL,
	})
	for _, region := range []string{"cn-north-4", "ap-southeast-1", "cn-north-4"} {
		c, err := client.New(client.FromEnv(getenv), client.WithRegion(region))
		require.NoError(t, err)
		_, err = c.InstanceStatus(t.Context())
		require.NoError(t, err)
	}
	assert.EqualValues(t, 2, north.hits.Load())
	assert.EqualValues(t, 1, south.hits.Load())
}

func TestEndpointPathPrefixIsKept(t *testing.T) {
	t.Parallel()
	a := serve(t, jsonBody(200, "{}"))
	c := newClient(t, a.URL+"/dcs-proxy")
	_, err := c.InstanceStatus(t.Context(), client.IncludeFailure())
	require.NoError(t, err)
	r := a.lastRequest()
	assert.Equal(t, "/dcs-proxy/v2/"+testProject+"/instances/status", r.URL.Path)
	assert.Equal(t, "include_failure=true", r.URL.RawQuery)
}

func TestFromEnv(t *testing.T) {
	t.Parallel()
	a := serve(t, jsonBody(200, "{}"))
	c, err := client.New(client.FromEnv(env(map[string]string{
		client.EnvAccessKey:                     testAK,
		client.EnvSecretKey:                     testSK,
		client.EnvSecurityToken:                 testToken,
		client.EnvProjectID:                     "from-env",
		client.EnvEndpointPrefix + "CN_NORTH_4": a.URL,
	})))
	require.NoError(t, err)
	assert.Equal(t, "from-env", projectOf(t, c))
	assert.Equal(t, a.URL+"/", c.Endpoint())
	_, err = c.InstanceStatus(t.Context())
	require.NoError(t, err)
	r := a.lastRequest()
	assert.Equal(t, "/v2/from-env/instances/status", r.URL.Path)
	assert.Empty(t, r.URL.RawQuery, "include_failure is left out unless asked for")
	assert.Equal(t, testToken, r.Header.Get("X-Security-Token"))
	assert.Contains(t, r.Header.Get("Authorization"), "Access="+testAK+",")

	// Explicit options win, before FromEnv or after it.
	fromEnv := client.FromEnv(env(map[string]string{client.EnvAccessKey: "ENVAK", client.EnvSecretKey: testSK, client.EnvProjectID: "from-env"}))
	explicit := []client.Option{client.WithProjectID("explicit"), client.WithCredentials(testAK, testSK)}
	for _, opts := range [][]client.Option{append([]client.Option{fromEnv}, explicit...), append(explicit, fromEnv)} {
		c, err = client.New(opts...)
		require.NoError(t, err)
		assert.Equal(t, "explicit", projectOf(t, c))
		cred, err := c.Credentials(t.Context())
		require.NoError(t, err)
		assert.Equal(t, testAK, cred.Keys.AccessKey)
	}

	for name, vars := range map[string]map[string]string{
		"AK without SK":         {client.EnvAccessKey: testAK, client.EnvProjectID: "p"},
		"SK without AK":         {client.EnvSecretKey: testSK, client.EnvProjectID: "p"},
		"token without AK/SK":   {client.EnvSecurityToken: testToken, client.EnvProjectID: "p"},
		"nothing at all is set": {},
	} {
		_, err := client.New(client.FromEnv(env(vars)))
		require.Error(t, err, name)
		assert.NotContains(t, err.Error(), testSK, name)
		assert.NotContains(t, err.Error(), testToken, name)
	}
}

func TestSignedRequestHeaders(t *testing.T) {
	t.Parallel()
	a := serve(t, jsonBody(200, "{}"))
	c := newClientAs(t, a.URL, temporary(testAK, testSK))
	_, err := c.InstanceStatus(t.Context())
	require.NoError(t, err)
	r := a.lastRequest()
	assert.Equal(t, testProject, r.Header.Get("X-Project-Id"))
	assert.Equal(t, "dcskit", r.Header.Get("User-Agent"))
	assert.Equal(t, testToken, r.Header.Get("X-Security-Token"))
	assert.Regexp(t, `^\d{8}T\d{6}Z$`, r.Header.Get("X-Sdk-Date"))
	assert.Regexp(t, `^SDK-HMAC-SHA256 Access=`+testAK+`, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]+$`, r.Header.Get("Authorization"))
	assert.Empty(t, r.Header.Get("X-Auth-Token"))
	assert.NotContains(t, fmt.Sprint(r.Header), testSK)
}

func TestTokenAuth(t *testing.T) {
	t.Parallel()
	a := serve(t, jsonBody(200, "{}"))
	c, err := client.New(client.WithEndpoint(a.URL), client.WithProjectID(testProject), client.WithIAMToken(testToken))
	require.NoError(t, err)
	_, err = c.InstanceStatus(t.Context())
	require.NoError(t, err)
	r := a.lastRequest()
	assert.Equal(t, testToken, r.Header.Get("X-Auth-Token"))
	assert.Equal(t, testProject, r.Header.Get("X-Project-Id"))
	assert.Empty(t, r.Header.Get("Authorization"))
	assert.Empty(t, r.Header.Get("X-Sdk-Date"))
}

// countingTransport counts round trips and passes them on.
type countingTransport struct {
	n    atomic.Int32
	next http.RoundTripper
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	if r.Header.Get("Authorization") == "" && r.Header.Get("X-Auth-Token") == "" {
		return nil, errors.New("request reached the caller's transport unauthenticated")
	}
	return t.next.RoundTrip(r)
}

func TestCallersHTTPClientIsNotMutated(t *testing.T) {
	t.Parallel()
	a := serve(t, jsonBody(200, "{}"))
	rt := &countingTransport{next: http.DefaultTransport}
	hc := &http.Client{Transport: rt, Timeout: 7 * time.Second}
	before := *hc
	defaultTransport := http.DefaultTransport
	c := newClient(t, a.URL, client.WithHTTPClient(hc))
	_, err := c.InstanceStatus(t.Context())
	require.NoError(t, err)
	assert.Equal(t, int32(1), rt.n.Load(), "requests go through the caller's transport")
	assert.Same(t, rt, hc.Transport.(*countingTransport))
	assert.Equal(t, before.Timeout, hc.Timeout)
	assert.Same(t, defaultTransport, http.DefaultTransport)
}

func TestSecretsStayOut(t *testing.T) {
	t.Parallel()
	for _, opt := range []client.Option{client.WithCredentials(testAK, testSK), client.WithIAMToken(testToken), temporary(testAK, testSK)} {
		c, err := client.New(client.WithProjectID(testProject), opt)
		require.NoError(t, err)
		for _, s := range []string{c.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%+v", *c)} {
			assert.NotContains(t, s, testSK)
			assert.NotContains(t, s, testToken)
		}
		assert.Contains(t, c.String(), testProject)
	}
}

func TestAPIErrors(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("x", client.MaxBodySize+10)
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    client.APIError
	}{
		{"DCS 400", jsonBody(400, `{"error_code":"111400063","error_msg":"Invalid parameter.","error_ext_msg":null}`),
			client.APIError{StatusCode: 400, Code: "111400063", Message: "Invalid parameter.", RequestID: "req-1"}},
		{"DCS 500 with ext message", jsonBody(500, `{"error_code":"111500000","error_msg":"Internal error.","error_ext_msg":"more"}`),
			client.APIError{StatusCode: 500, Code: "111500000", Message: "Internal error.", ExtMessage: "more", RequestID: "req-1"}},
		{"gateway 401", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Del("X-Request-Id")
			jsonBody(401, `{"error_msg":"Incorrect IAM authentication information: verify aksk signature fail","error_code":"APIGW.0301","request_id":"gw-42"}`)(w, r)
		},
			client.APIError{StatusCode: 401, Code: "APIGW.0301", Message: "Incorrect IAM authentication information: verify aksk signature fail", RequestID: "gw-42"}},
		{"HTML 502 from a proxy", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			_, _ = w.Write([]byte("<html>\r\n<head><title>502 Bad Gateway</title></head>\n<body>\x1b[31m<h1>502 Bad Gateway</h1><hr>nginx</body></html>"))
		}, client.APIError{StatusCode: 502, Message: "502 Bad Gateway [31m 502 Bad Gateway nginx", RequestID: "req-1"}},
		{"empty body", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(404) },
			client.APIError{StatusCode: 404, Message: "Not Found", RequestID: "req-1"}},
		{"JSON that is not an error", jsonBody(403, `{"running_count": 1}`),
			client.APIError{StatusCode: 403, Message: `{"running_count": 1}`, RequestID: "req-1"}},
		{"oversized error body", jsonBody(500, `{"error_code":"111500000","error_msg":"`+huge+`"}`),
			client.APIError{StatusCode: 500, Message: `{"error_code":"111500000","error_msg":"` + strings.Repeat("x", 200-39) + "…", RequestID: "req-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := serve(t, tt.handler)
			_, err := newClient(t, a.URL, once).InstanceStatus(t.Context())
			require.Error(t, err)
			var apiErr *client.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.want, *apiErr)
			assert.Contains(t, err.Error(), fmt.Sprintf("HTTP %d", tt.want.StatusCode))
			assert.NotContains(t, err.Error(), testSK)
			assert.NotContains(t, err.Error(), "\x1b", "control characters are removed")
		})
	}
}

func TestAPIErrorMessage(t *testing.T) {
	t.Parallel()
	e := &client.APIError{StatusCode: 401, Code: "APIGW.0301", Message: `verify "aksk" fail`, RequestID: "r1"}
	assert.Equal(t, `HTTP 401 Unauthorized: error_code="APIGW.0301" error_msg="verify \"aksk\" fail" request_id="r1"`, e.Error())
	assert.Equal(t, "HTTP 599:", (&client.APIError{StatusCode: 599}).Error())
}

func TestNeverNilErrorOnNon2xx(t *testing.T) {
	t.Parallel()
	for _, code := range []int{304, 400, 401, 403, 404, 405, 409, 418, 429, 500, 501, 503, 505, 599} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Parallel()
			a := serve(t, jsonBody(code, "{}"))
			_, err := newClient(t, a.URL, once).InstanceStatus(t.Context())
			var apiErr *client.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, code, apiErr.StatusCode)
		})
	}
}

func TestOversizedSuccessBody(t *testing.T) {
	t.Parallel()
	a := serve(t, jsonBody(200, `{"running_count": 1, "pad": "`+strings.Repeat(" ", client.MaxBodySize)+`"}`))
	_, err := newClient(t, a.URL).InstanceStatus(t.Context())
	require.ErrorIs(t, err, client.ErrResponseTooLarge)
	assert.Equal(t, int32(1), a.hits.Load(), "not retried")
}

func TestUndecodableSuccessBody(t *testing.T) {
	t.Parallel()
	a := serve(t, jsonBody(200, `<html>`))
	_, err := newClient(t, a.URL).InstanceStatus(t.Context())
	var invalid *client.InvalidResponseError
	require.ErrorAs(t, err, &invalid)
	assert.Equal(t, 200, invalid.StatusCode)
	assert.Empty(t, invalid.Field)
	assert.Contains(t, err.Error(), "HTTP 200 with an invalid body: not the API's JSON")
}

// A count that cannot be true is a failed call that names the counter,
// never a Status: signed sums of impossible counters must not settle a
// wait or reach a dashboard.
func TestImpossibleCountersAreRefused(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, body, field, reason string }{
		{"negative top-level", `{"creating_count":1,"restarting_count":-1}`, "restarting_count", "-1 is negative"},
		{"negative per engine", `{"memcached":{"createfailed_count":-1},"redis":{"error_count":1}}`, "memcached.createfailed_count", "-1 is negative"},
		{"over int32", `{"redis":{"running_count":2147483648}}`, "redis.running_count", "not an int32 counter"},
		{"a string", `{"running_count":"16"}`, "running_count", "not an int32 counter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := serve(t, jsonBody(200, tt.body))
			st, err := newClient(t, a.URL).InstanceStatus(t.Context())
			var invalid *client.InvalidResponseError
			require.ErrorAs(t, err, &invalid)
			assert.Equal(t, tt.field, invalid.Field)
			assert.Contains(t, invalid.Reason, tt.reason)
			assert.Contains(t, err.Error(), tt.field)
			assert.Equal(t, client.Status{}, st)
			assert.Equal(t, int32(1), a.hits.Load(), "not retried: the server meant it")
		})
	}
}

func TestDecodesSeedExample(t *testing.T) {
	t.Parallel()
	raw := seed(t)
	var withExtra map[string]any
	require.NoError(t, json.Unmarshal(raw, &withExtra))
	withExtra["closing_count"] = 3 // a counter of another API version
	withExtra["redis"].(map[string]any)["closed_count"] = 1
	body, err := json.Marshal(withExtra)
	require.NoError(t, err)

	a := serve(t, jsonBody(200, string(body)))
	st, err := newClient(t, a.URL).InstanceStatus(t.Context(), client.IncludeFailure())
	require.NoError(t, err)
	assert.Equal(t, "req-1", st.RequestID)
	assert.EqualValues(t, 16, st.Count(dcs.Running))
	assert.EqualValues(t, 44, st.Count(dcs.CreateFailed))
	assert.EqualValues(t, 8, st.Redis.Get(dcs.Running))
	assert.EqualValues(t, 22, st.Engine(dcs.Memcached).Get(dcs.CreateFailed))
	assert.EqualValues(t, 60, st.Total.Total())
	assert.EqualValues(t, 0, st.Transitional())

	// Nothing is lost: the seed round-trips, plus the counters that it
	// leaves out (restoring_count), as zeros.
	out, err := json.Marshal(st)
	require.NoError(t, err)
	var want map[string]any
	require.NoError(t, json.Unmarshal(raw, &want))
	for _, m := range []any{want, want["redis"], want["memcached"]} {
		for _, s := range dcs.Statuses() {
			if _, ok := m.(map[string]any)[s.Counter()]; !ok {
				m.(map[string]any)[s.Counter()] = 0.0
			}
		}
	}
	assert.NotContains(t, string(raw), "restoring_count", "the page's example leaves one out")
	var got map[string]any
	require.NoError(t, json.Unmarshal(out, &got))
	assert.Equal(t, want, got)
}

func TestRetries(t *testing.T) {
	t.Parallel()
	unavailable := `{"error_code":"111503000","error_msg":"busy"}`
	tests := []struct {
		name     string
		statuses []int // answers in turn; the last one repeats
		opts     []client.Option
		hits     int32
		wantCode int // 0 for success
	}{
		{"503 twice then 200", []int{503, 503, 200}, nil, 3, 0},
		{"503 three times", []int{503}, nil, 3, 503},
		{"429 then 200", []int{429, 200}, nil, 2, 0},
		{"each retryable status", []int{500, 502, 504, 200}, []client.Option{client.WithRetry(client.RetryPolicy{MaxAttempts: 4, Backoff: noWait})}, 4, 0},
		{"400 is not retried", []int{400}, nil, 1, 400},
		{"401 is not retried", []int{401}, nil, 1, 401},
		{"501 is not retried", []int{501}, nil, 1, 501},
		{"WithoutRetry", []int{503, 200}, []client.Option{once}, 1, 503},
		{"custom policy", []int{404, 404, 200}, []client.Option{client.WithRetry(client.RetryPolicy{
			CheckRetry: func(_ context.Context, resp *http.Response, _ error) bool { return resp.StatusCode == 404 },
			Backoff:    noWait,
		})}, 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var a *api
			a = serve(t, func(w http.ResponseWriter, r *http.Request) {
				i := min(int(a.hits.Load()), len(tt.statuses)) - 1
				if s := tt.statuses[i]; s != 200 {
					jsonBody(s, unavailable)(w, r)
					return
				}
				jsonBody(200, string(seed(t)))(w, r)
			})
			st, err := newClient(t, a.URL, tt.opts...).InstanceStatus(t.Context())
			assert.Equal(t, tt.hits, a.hits.Load())
			if tt.wantCode == 0 {
				require.NoError(t, err)
				assert.EqualValues(t, 16, st.Count(dcs.Running))
				assert.Equal(t, fmt.Sprintf("req-%d", tt.hits), st.RequestID)
				return
			}
			var apiErr *client.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.wantCode, apiErr.StatusCode)
			assert.Equal(t, fmt.Sprintf("req-%d", tt.hits), apiErr.RequestID, "the last attempt's error")
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	a := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("X-Sdk-Date"); a == "" {
			http.Error(w, "unsigned", 500)
		}
		w.Header().Set("Retry-After", "7")
		jsonBody(429, `{"error_code":"111429000","error_msg":"slow down"}`)(w, r)
	})
	var waits []time.Duration
	c := newClient(t, a.URL, client.WithRetry(client.RetryPolicy{Backoff: func(n int, resp *http.Response) time.Duration {
		waits = append(waits, client.DefaultBackoff(n, resp))
		return 0
	}}))
	_, err := c.InstanceStatus(t.Context())
	require.Error(t, err)
	assert.Equal(t, []time.Duration{7 * time.Second, 7 * time.Second}, waits)
}

func TestContextStopsRetries(t *testing.T) {
	t.Parallel()
	t.Run("cancelled before the first attempt", func(t *testing.T) {
		t.Parallel()
		a := serve(t, jsonBody(200, "{}"))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := newClient(t, a.URL).InstanceStatus(ctx)
		require.ErrorIs(t, err, context.Canceled)
		assert.Zero(t, a.hits.Load())
	})
	t.Run("cancelled during the backoff", func(t *testing.T) {
		t.Parallel()
		a := serve(t, jsonBody(503, `{"error_code":"111503000","error_msg":"busy"}`))
		ctx, cancel := context.WithCancel(t.Context())
		c := newClient(t, a.URL, client.WithRetry(client.RetryPolicy{Backoff: func(int, *http.Response) time.Duration {
			cancel()
			return time.Hour // the test would time out if this were slept
		}}))
		_, err := c.InstanceStatus(ctx)
		require.ErrorIs(t, err, context.Canceled)
		var apiErr *client.APIError
		require.ErrorAs(t, err, &apiErr, "the last attempt's error is kept")
		assert.Equal(t, 503, apiErr.StatusCode)
		assert.Equal(t, int32(1), a.hits.Load())
	})
	t.Run("cancelled between attempts", func(t *testing.T) {
		t.Parallel()
		a := serve(t, jsonBody(503, `{}`))
		ctx, cancel := context.WithCancel(t.Context())
		c := newClient(t, a.URL, client.WithRetry(client.RetryPolicy{Backoff: func(int, *http.Response) time.Duration {
			cancel()
			return 0
		}}))
		_, err := c.InstanceStatus(ctx)
		require.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, int32(1), a.hits.Load())
	})
	t.Run("deadline during the request", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		a := serve(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		})
		t.Cleanup(func() { close(release) })
		ctx, cancel := context.WithCancel(t.Context())
		c := newClient(t, a.URL, client.WithHTTPClient(&http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			cancel()
			return http.DefaultTransport.RoundTrip(r)
		})}))
		_, err := c.InstanceStatus(ctx)
		require.ErrorIs(t, err, context.Canceled)
		assert.LessOrEqual(t, a.hits.Load(), int32(1))
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestConnectionRefusedIsRetried(t *testing.T) {
	t.Parallel()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	rt := &countingTransport{next: http.DefaultTransport}
	c := newClient(t, dead.URL, client.WithHTTPClient(&http.Client{Transport: rt}))
	_, err := c.InstanceStatus(t.Context())
	require.Error(t, err)
	assert.Equal(t, int32(3), rt.n.Load())
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
	assert.Contains(t, err.Error(), "after 3 attempts")
	var apiErr *client.APIError
	assert.False(t, errors.As(err, &apiErr), "no response, no APIError")
}

func TestSignatureIsAcceptedByVerifier(t *testing.T) {
	t.Parallel()
	v := &signer.Verifier{SecretKey: func(ak string) (string, bool) { return testSK, ak == testAK }}
	a := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if err := v.Verify(r, nil); err != nil {
			jsonBody(401, `{"error_code":"APIGW.0301","error_msg":"verify aksk signature fail"}`)(w, r)
			return
		}
		jsonBody(200, "{}")(w, r)
	})
	for _, tt := range []struct {
		name   string
		sk     string
		status int
	}{{"right SK", testSK, 200}, {"wrong SK", "another-secret", 401}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := newClientAs(t, a.URL, temporary(testAK, tt.sk)).InstanceStatus(t.Context(), client.IncludeFailure())
			if tt.status == 200 {
				require.NoError(t, err)
				return
			}
			var apiErr *client.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.status, apiErr.StatusCode)
			assert.Equal(t, "APIGW.0301", apiErr.Code)
			assert.NotContains(t, err.Error(), tt.sk)
		})
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	elsewhere := serve(t, jsonBody(200, "{}"))
	a := serve(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusFound)
	})
	c, err := client.New(client.WithEndpoint(a.URL), client.WithProjectID(testProject), client.WithIAMToken(testToken))
	require.NoError(t, err)
	_, err = c.InstanceStatus(t.Context())
	var apiErr *client.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusFound, apiErr.StatusCode)
	assert.Zero(t, elsewhere.hits.Load(), "the token stays with the endpoint")
}

package interop_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	sdksigner "github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer/algorithm"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/signer"
)

const (
	endpoint   = "https://dcs.cn-north-4.myhuaweicloud.com"
	statusPath = "/v2/{project_id}/instances/status"
	projectID  = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	ak         = "HPUAINTEROPACCESSKEY"
	sk         = "interop-secret-key-0123456789abcdefghij"
	token      = "interop-security-token-0123456789"
	// userAgent is what the SDK's HcHttpClient sends (plus environment
	// details, which do not matter here).
	userAgent = "huaweicloud-usdk-go/3.0"
	// The SDK's header for a body that is not hashed, and its value.
	headerContentSHA256 = "X-Sdk-Content-Sha256"
	unsignedPayload     = "UNSIGNED-PAYLOAD"
)

// signedAt is the fixed signing time. The SDK signer reads the clock
// itself unless X-Sdk-Date is already among the request's headers; the
// HcHttpClient puts extra headers there, so presetting it is the SDK's own
// way to fix the date.
var signedAt = time.Date(2024, 3, 5, 6, 7, 8, 0, time.UTC)

// query is an ordered list of parameters; a key with several values is
// repeated, as the SDK does for slice-typed query fields.
type query []struct {
	key    string
	values []string
}

// apiCall is one request, described once and built by both sides.
type apiCall struct {
	method      string
	path        string // template with {project_id}
	projectID   string
	query       query
	token       string
	contentType string            // "" for none
	headers     map[string]string // further headers, set before signing
	body        any               // what the SDK serialises; nil for none
}

func statusCall(q query) apiCall {
	return apiCall{
		method: http.MethodGet, path: statusPath, projectID: projectID, query: q,
		contentType: "application/json", // the operation's content type, sent on GET too
	}
}

func TestAuthorizationMatchesSDK(t *testing.T) {
	t.Parallel()
	tests := map[string]apiCall{
		"status":                         statusCall(nil),
		"include_failure=true":           statusCall(query{{"include_failure", []string{"true"}}}),
		"include_failure=false":          statusCall(query{{"include_failure", []string{"false"}}}),
		"value with space":               statusCall(query{{"include_failure", []string{"a b"}}}),
		"non-ASCII value":                statusCall(query{{"include_failure", []string{"ä"}}}),
		"value with slash":               statusCall(query{{"include_failure", []string{"x/y"}}}),
		"value with reserved characters": statusCall(query{{"include_failure", []string{"a+b=c&d"}}}),
		"unreserved value":               statusCall(query{{"include_failure", []string{"~-._"}}}),
		"empty value":                    statusCall(query{{"include_failure", []string{""}}}),
		"key needing escaping":           statusCall(query{{"tag key+1", []string{"v"}}}),
		"repeated key sorted before escaping": statusCall(query{
			{"include_failure", []string{"true"}},
			{"tag", []string{"~", "ä", "a b", "a+b=c&d", "x/y", "", "~-._"}},
		}),
		"keys sorted before escaping": statusCall(query{{"ä", []string{"1"}}, {"~", []string{"2"}}, {"a", []string{"3"}}}),
		"project id needing escaping": func() apiCall {
			c := statusCall(query{{"include_failure", []string{"true"}}})
			c.projectID = "proj id:ä~(1)"
			return c
		}(),
		"security token": func() apiCall {
			c := statusCall(query{{"include_failure", []string{"true"}}})
			c.token = token
			return c
		}(),
		"no content type on GET": func() apiCall {
			c := statusCall(nil)
			c.contentType = "" // HttpConfig.IgnoreContentTypeForGetRequest
			return c
		}(),
		"extra header": func() apiCall {
			c := statusCall(nil)
			c.headers = map[string]string{"X-Request-Id": "  padded value  ", "X_Ignored": "1"}
			return c
		}(),
		"host opted in": func() apiCall {
			c := statusCall(nil)
			c.headers = map[string]string{"Host": "dcs.cn-north-4.myhuaweicloud.com"}
			return c
		}(),
		"POST with JSON body": {
			method: http.MethodPost, path: "/v2/{project_id}/instances", projectID: projectID,
			contentType: "application/json;charset=UTF-8", token: token,
			body: map[string]any{"name": "dcs-<test>&1", "engine": "Redis", "capacity": 2},
		},
		"unsigned payload": {
			method: http.MethodPut, path: "/v2/{project_id}/instances/x/file", projectID: projectID,
			contentType: "application/octet-stream", body: "raw bytes",
			headers: map[string]string{headerContentSHA256: unsignedPayload},
		},
	}
	for name, call := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sdkReq := sdkSignedRequest(t, call)
			body := sdkBody(t, sdkReq)
			ours := ourSignedRequest(t, call, body)

			sdkAuth := sdkReq.GetHeaderParams()[signer.HeaderAuthorization]
			require.NotEmpty(t, sdkAuth)
			assert.Equal(t, sdkAuth, ours.Header.Get(signer.HeaderAuthorization))
			assert.Equal(t, sdkReq.GetHeaderParams()[signer.HeaderDate], ours.Header.Get(signer.HeaderDate))

			v := verifier()
			sreq, sbody := sdkOnTheWire(t, sdkReq)
			assert.NoError(t, v.Verify(sreq, sbody), "SDK request, server side")
			sreq, sbody = onTheWire(t, ours)
			assert.NoError(t, v.Verify(sreq, sbody), "our request, server side")
		})
	}
}

// The SDK replaces the body hash with UNSIGNED-PAYLOAD for any content type
// other than JSON or BSON. We sign the body unless told otherwise (see the
// "unsigned payload" case above for the header that makes both agree).
func TestSDKLeavesNonJSONBodiesUnsigned(t *testing.T) {
	t.Parallel()
	call := apiCall{
		method: http.MethodPut, path: "/v2/{project_id}/instances/x/file", projectID: projectID,
		contentType: "text/plain", body: "raw bytes",
	}
	sdkReq := sdkSignedRequest(t, call)
	assert.Equal(t, unsignedPayload, sdkReq.GetHeaderParams()[headerContentSHA256])
	assert.Contains(t, sdkReq.GetHeaderParams()[signer.HeaderAuthorization], "SignedHeaders=user-agent;x-project-id;x-sdk-content-sha256;x-sdk-date,")

	ours := ourSignedRequest(t, call, sdkBody(t, sdkReq))
	assert.Contains(t, ours.Header.Get(signer.HeaderAuthorization), "SignedHeaders=user-agent;x-project-id;x-sdk-date,")

	sreq, _ := sdkOnTheWire(t, sdkReq)
	assert.NoError(t, verifier().Verify(sreq, []byte("another body")), "our verifier honours UNSIGNED-PAYLOAD as the gateway does")
}

// sdkSignedRequest builds call the way HcHttpClient.buildRequest does for a
// DCS operation, then lets BasicCredentials add X-Project-Id, the token and
// the signature, as it does before every request.
func sdkSignedRequest(t testing.TB, call apiCall) *request.DefaultHttpRequest {
	t.Helper()
	b := request.NewHttpRequestBuilder().
		WithEndpoint(endpoint).
		WithMethod(call.method).
		WithPath(call.path).
		WithSigningAlgorithm(algorithm.HmacSHA256).
		AddHeaderParam("User-Agent", userAgent).
		AddHeaderParam(signer.HeaderDate, signedAt.Format(signer.DateFormat))
	for k, v := range call.headers {
		b.AddHeaderParam(k, v)
	}
	for _, p := range call.query {
		// The HcHttpClient passes query values as reflect.Values; the SDK
		// signer silently skips anything else.
		if len(p.values) == 1 {
			b.AddQueryParam(p.key, reflect.ValueOf(p.values[0]))
		} else {
			b.AddQueryParam(p.key, reflect.ValueOf(p.values))
		}
	}
	if call.body != nil {
		b.WithBody("", call.body)
	}
	if call.contentType != "" {
		b.AddHeaderParam("Content-Type", call.contentType)
	}
	req := b.Build()

	creds := basic.NewCredentialsBuilder().WithAk(ak).WithSk(sk).WithProjectId(call.projectID)
	if call.token != "" {
		creds = creds.WithSecurityToken(call.token)
	}
	cred, err := creds.SafeBuild()
	require.NoError(t, err)
	req, err = cred.ProcessAuthRequest(nil, req)
	require.NoError(t, err)
	return req
}

// sdkBody is the payload exactly as the SDK sends it (its JSON encoder adds
// a newline, for instance).
func sdkBody(t testing.TB, req *request.DefaultHttpRequest) []byte {
	t.Helper()
	buf, err := req.GetBodyToBytes()
	require.NoError(t, err)
	if buf.Len() == 0 {
		return nil
	}
	return buf.Bytes()
}

// ourSignedRequest builds call the way dcskit's client does: the project id
// path-escaped into the URL, the query form-encoded, headers set, then
// signer.Sign.
func ourSignedRequest(t testing.TB, call apiCall, body []byte) *http.Request {
	t.Helper()
	u := endpoint + strings.ReplaceAll(call.path, "{project_id}", url.PathEscape(call.projectID))
	if len(call.query) > 0 {
		q := url.Values{}
		for _, p := range call.query {
			q[p.key] = p.values
		}
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(call.method, u, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(signer.HeaderProjectID, call.projectID)
	if call.contentType != "" {
		req.Header.Set("Content-Type", call.contentType)
	}
	for k, v := range call.headers {
		req.Header[k] = []string{v} // as given: the SDK keeps names as they are
	}
	cred := signer.Credentials{AccessKey: ak, SecretKey: sk, SecurityToken: call.token}
	require.NoError(t, signer.Sign(req, body, cred, signedAt))
	return req
}

func verifier() *signer.Verifier {
	return &signer.Verifier{
		SecretKey: func(accessKey string) (string, bool) { return sk, accessKey == ak },
		Now:       func() time.Time { return signedAt.Add(time.Minute) },
	}
}

// sdkOnTheWire turns the SDK's request into the *http.Request it sends,
// then into what a server reads.
func sdkOnTheWire(t testing.TB, req *request.DefaultHttpRequest) (*http.Request, []byte) {
	t.Helper()
	hreq, err := req.ConvertRequest()
	require.NoError(t, err)
	return onTheWire(t, hreq)
}

// onTheWire serialises a client request as HTTP/1.1 and parses it back as
// a server would, returning the request and the body it read.
func onTheWire(t testing.TB, req *http.Request) (*http.Request, []byte) {
	t.Helper()
	var wire bytes.Buffer
	require.NoError(t, req.Write(&wire))
	sreq, err := http.ReadRequest(bufio.NewReader(&wire))
	require.NoError(t, err)
	body, err := io.ReadAll(sreq.Body)
	require.NoError(t, err)
	return sreq, body
}

func BenchmarkSign_Ours(b *testing.B) {
	call := statusCall(query{{"include_failure", []string{"true"}}})
	req := ourSignedRequest(b, call, nil)
	cred := signer.Credentials{AccessKey: ak, SecretKey: sk}
	b.ReportAllocs()
	for b.Loop() {
		if err := signer.Sign(req, nil, cred, signedAt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSign_SDK(b *testing.B) {
	call := statusCall(query{{"include_failure", []string{"true"}}})
	req := sdkSignedRequest(b, call)
	delete(req.GetHeaderParams(), signer.HeaderAuthorization)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sdksigner.Sign(req, ak, sk); err != nil {
			b.Fatal(err)
		}
	}
}

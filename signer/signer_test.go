package signer_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/signer"
)

const katSK = "kat-secret-key-do-not-use-0123456789abcdef"

// The expected signatures were computed outside Go, with openssl, from the
// canonical requests written out below:
//
//	printf '%s' "$canonical" | openssl dgst -sha256 -r            # -> h
//	printf 'SDK-HMAC-SHA256\n20240305T060708Z\n%s' "$h" |
//	    openssl dgst -sha256 -hmac "$katSK" -r                      # -> signature
func TestSign_KnownAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		method    string
		url       string
		headers   map[string]string
		token     string
		body      []byte
		canonical string
		signed    string
		signature string
	}{
		{
			name:   "status GET",
			method: http.MethodGet,
			url:    statusURL,
			headers: map[string]string{
				"User-Agent":   "dcskit-test",
				"X-Project-Id": "0a1b2c3d4e5f",
				"Content-Type": "application/json", // never signed
			},
			canonical: "GET\n" +
				"/v2/0a1b2c3d4e5f/instances/status/\n" +
				"include_failure=true\n" +
				"user-agent:dcskit-test\n" +
				"x-project-id:0a1b2c3d4e5f\n" +
				"x-sdk-date:20240305T060708Z\n" +
				"\n" +
				"user-agent;x-project-id;x-sdk-date\n" +
				"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
			signed:    "user-agent;x-project-id;x-sdk-date",
			signature: "0a15ee4642735ee3af5a7f604966c258d4bc78cf9ae8a58785eb398fdb605e63",
		},
		{
			// Project id "p id:a/b" escaped by url.PathEscape, as a client
			// that builds paths from templates does; query values that need
			// escaping and sort differently before and after it.
			name:    "escaping, token and body",
			method:  http.MethodPost,
			url:     "https://dcs.example.com/v2/p%20id:a%2Fb/instances?b=a+b&a=%C3%A4&a=~&c=&x%2By=1",
			headers: map[string]string{"X-Project-Id": "p id:a/b"},
			token:   "tok-123",
			body:    []byte(`{"name":"x"}`),
			canonical: "POST\n" +
				"/v2/p%20id%3Aa%2Fb/instances/\n" +
				"a=~&a=%C3%A4&b=a%20b&c=&x%2By=1\n" +
				"x-project-id:p id:a/b\n" +
				"x-sdk-date:20240305T060708Z\n" +
				"x-security-token:tok-123\n" +
				"\n" +
				"x-project-id;x-sdk-date;x-security-token\n" +
				"0229d37e33daae149bf40543a5ce1db4459d10f830d5139279aa2bfd5f6485a1",
			signed:    "x-project-id;x-sdk-date;x-security-token",
			signature: "c8ca8cf368c522f337361697fd1ce33af4a1b5b3ab59e0d6a6d48f9f4f2df75a",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The literal canonical request really yields the literal
			// signature; this pins the derivation, not our code.
			crHash := sha256.Sum256([]byte(tt.canonical))
			mac := hmac.New(sha256.New, []byte(katSK))
			mac.Write([]byte("SDK-HMAC-SHA256\n20240305T060708Z\n" + hex.EncodeToString(crHash[:])))
			require.Equal(t, tt.signature, hex.EncodeToString(mac.Sum(nil)))

			req, err := http.NewRequest(tt.method, tt.url, nil)
			require.NoError(t, err)
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			cred := signer.Credentials{AccessKey: "KATACCESSKEY", SecretKey: katSK, SecurityToken: tt.token}
			require.NoError(t, signer.Sign(req, tt.body, cred, t0.In(time.FixedZone("UTC+8", 8*3600))))

			assert.Equal(t, "SDK-HMAC-SHA256 Access=KATACCESSKEY, SignedHeaders="+tt.signed+", Signature="+tt.signature,
				req.Header.Get(signer.HeaderAuthorization))
			assert.Equal(t, "20240305T060708Z", req.Header.Get(signer.HeaderDate))
			assert.Equal(t, tt.token, req.Header.Get(signer.HeaderSecurityToken))
		})
	}
}

func TestSign_Headers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header http.Header
		cred   signer.Credentials
		want   string // SignedHeaders
	}{
		{
			name:   "only the date",
			header: http.Header{},
			want:   "x-sdk-date",
		},
		{
			name: "SDK exclusions",
			header: http.Header{
				"Content-Type":       {"application/json"},
				"Content-Type-Extra": {"x"}, // the SDK skips the whole prefix
				"X_under_score":      {"x"},
				"Accept":             {"*/*"},
			},
			want: "accept;x-sdk-date",
		},
		{
			name:   "keys in any case are merged",
			header: http.Header{"X-Custom": {"a"}, "x-custom": {"b"}},
			want:   "x-custom;x-sdk-date",
		},
		{
			name:   "headers net/http will not send",
			header: http.Header{"User-Agent": {""}, "X-Nil": nil},
			want:   "x-sdk-date",
		},
		{
			name:   "host only on request",
			header: http.Header{"Host": {"ignored"}},
			want:   "host;x-sdk-date",
		},
		{
			name:   "token",
			header: http.Header{},
			cred:   signer.Credentials{AccessKey: testAK, SecretKey: testSK, SecurityToken: testToken},
			want:   "x-sdk-date;x-security-token",
		},
		{
			name:   "stale signing headers are replaced",
			header: http.Header{"Authorization": {"old"}, "X-Sdk-Date": {"old"}, "X-Security-Token": {"old"}},
			want:   "x-sdk-date",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(http.MethodGet, statusURL, nil)
			require.NoError(t, err)
			req.Header = tt.header
			cred := tt.cred
			if cred == (signer.Credentials{}) {
				cred = testCred()
			}
			require.NoError(t, signer.Sign(req, nil, cred, t0))

			auth, err := signer.ParseAuthorization(req.Header.Get(signer.HeaderAuthorization))
			require.NoError(t, err)
			assert.Equal(t, tt.want, strings.Join(auth.SignedHeaders, ";"))
			assert.Equal(t, []string{"20240305T060708Z"}, req.Header.Values(signer.HeaderDate))
			assert.Equal(t, cred.SecurityToken, req.Header.Get(signer.HeaderSecurityToken))

			sreq, body := toServer(t, req)
			assert.NoError(t, testVerifier().Verify(sreq, body))
		})
	}
}

func TestSign_Errors(t *testing.T) {
	t.Parallel()
	req := newRequest(t, http.MethodGet, statusURL, nil)
	tests := []struct {
		name string
		req  *http.Request
		cred signer.Credentials
		want error
	}{
		{"empty access key", req, signer.Credentials{SecretKey: testSK}, signer.ErrInvalidCredentials},
		{"empty secret key", req, signer.Credentials{AccessKey: testAK}, signer.ErrInvalidCredentials},
		{"nil request", nil, testCred(), signer.ErrMalformed},
		{"nil URL", &http.Request{}, testCred(), signer.ErrMalformed},
		{"opaque URL", &http.Request{URL: &url.URL{Scheme: "https", Opaque: "//h/p"}}, testCred(), signer.ErrMalformed},
		{"bad query", &http.Request{URL: &url.URL{Path: "/", RawQuery: "a=%zz"}}, testCred(), signer.ErrMalformed},
		{"repeated content-sha256", &http.Request{URL: &url.URL{Path: "/"}, Header: http.Header{
			headerContentSHA256: {unsignedPayload, unsignedPayload},
		}}, testCred(), signer.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.ErrorIs(t, signer.Sign(tt.req, nil, tt.cred, t0), tt.want)
		})
	}
}

func TestSignVerify_RoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string
		url    string
		body   []byte
	}{
		{"status", http.MethodGet, statusURL, nil},
		{"status without query", http.MethodGet, "https://dcs.example.com/v2/0a1b2c3d4e5f/instances/status", nil},
		{"escaped project id", http.MethodGet, "https://dcs.example.com/v2/" + url.PathEscape("proj/ä id:1") + "/instances/status", nil},
		{"percent in project id", http.MethodGet, "https://dcs.example.com/v2/" + url.PathEscape("a%2Fb") + "/instances/status", nil},
		{"awkward query", http.MethodGet, "https://dcs.example.com/v2/p/instances/status?" + url.Values{
			"q": {"a b", "ä", "x/y", "a+b=c&d", "~-._", ""},
			"":  {"empty key"},
		}.Encode(), nil},
		{"port and trailing slash", http.MethodGet, "http://127.0.0.1:8080/v2/p/instances/status/", nil},
		{"root", http.MethodGet, "http://127.0.0.1:8080", nil},
		{"body", http.MethodPost, "https://dcs.example.com/v2/p/instances", []byte(`{"a":1}`)},
		{"empty method means GET", "", statusURL, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := newRequest(t, tt.method, tt.url, tt.body)
			req.Method = tt.method // NewRequest turns "" into GET
			require.NoError(t, signer.Sign(req, tt.body, testCred(), t0))
			v := testVerifier()
			assert.NoError(t, v.Verify(req, tt.body), "client-side request")
			sreq, body := toServer(t, req)
			assert.NoError(t, v.Verify(sreq, body), "server-side request")
		})
	}
}

func TestSign_EncodedSlashIsNotASeparator(t *testing.T) {
	t.Parallel()
	escaped := signedRequest(t, http.MethodGet, "https://dcs.example.com/v2/a%2Fb/instances/status", nil)
	split := signedRequest(t, http.MethodGet, "https://dcs.example.com/v2/a/b/instances/status", nil)
	require.Equal(t, escaped.URL.Path, split.URL.Path, "precondition: same decoded path")
	assert.NotEqual(t, escaped.Header.Get("Authorization"), split.Header.Get("Authorization"))

	// A server that got one must not accept the other's signature.
	sreq, body := toServer(t, split)
	sreq.Header.Set("Authorization", escaped.Header.Get("Authorization"))
	assert.ErrorIs(t, testVerifier().Verify(sreq, body), signer.ErrSignatureMismatch)
}

func TestSign_UnsignedPayload(t *testing.T) {
	t.Parallel()
	body := []byte("opaque bytes")
	req := newRequest(t, http.MethodPut, "https://dcs.example.com/v2/p/blob", body)
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set(headerContentSHA256, unsignedPayload)
	require.NoError(t, signer.Sign(req, body, testCred(), t0))
	assert.Contains(t, req.Header.Get("Authorization"), "x-sdk-content-sha256")

	sreq, _ := toServer(t, req)
	assert.NoError(t, testVerifier().Verify(sreq, []byte("another body")), "the body is not covered")
}

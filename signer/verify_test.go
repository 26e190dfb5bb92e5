package signer_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/signer"
)

func TestVerify_Tampering(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tamper func(r *http.Request, body []byte) []byte
		want   error // nil: the change is not covered by the signature
	}{
		{"nothing", func(r *http.Request, b []byte) []byte { return b }, nil},
		{"method", func(r *http.Request, b []byte) []byte { r.Method = http.MethodPut; return b }, signer.ErrSignatureMismatch},
		{"path", func(r *http.Request, b []byte) []byte { r.URL.Path = "/v2/0a1b2c3d4e5f/instances"; return b }, signer.ErrSignatureMismatch},
		{"project id in path", func(r *http.Request, b []byte) []byte {
			r.URL.Path = strings.Replace(r.URL.Path, "0a1b2c3d4e5f", "ffffffffffff", 1)
			return b
		}, signer.ErrSignatureMismatch},
		{"query value", func(r *http.Request, b []byte) []byte { r.URL.RawQuery = "include_failure=false"; return b }, signer.ErrSignatureMismatch},
		{"query added", func(r *http.Request, b []byte) []byte { r.URL.RawQuery += "&x=1"; return b }, signer.ErrSignatureMismatch},
		{"query removed", func(r *http.Request, b []byte) []byte { r.URL.RawQuery = ""; return b }, signer.ErrSignatureMismatch},
		{"signed header changed", func(r *http.Request, b []byte) []byte { r.Header.Set("X-Project-Id", "other"); return b }, signer.ErrSignatureMismatch},
		{"signed header repeated", func(r *http.Request, b []byte) []byte { r.Header.Add("X-Project-Id", "other"); return b }, signer.ErrSignatureMismatch},
		{"signed header removed", func(r *http.Request, b []byte) []byte { r.Header.Del("User-Agent"); return b }, signer.ErrMissing},
		{"body", func(r *http.Request, b []byte) []byte { return []byte(`{"name":"y"}`) }, signer.ErrSignatureMismatch},
		{"body dropped", func(r *http.Request, b []byte) []byte { return nil }, signer.ErrSignatureMismatch},
		{"date within skew", func(r *http.Request, b []byte) []byte {
			r.Header.Set(signer.HeaderDate, t0.Add(time.Second).Format(signer.DateFormat))
			return b
		}, signer.ErrSignatureMismatch},
		{"date removed", func(r *http.Request, b []byte) []byte { r.Header.Del(signer.HeaderDate); return b }, signer.ErrMissing},
		{"other known access key", func(r *http.Request, b []byte) []byte {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), testAK, otherAK, 1))
			return b
		}, signer.ErrSignatureMismatch},
		{"signature", func(r *http.Request, b []byte) []byte {
			a := r.Header.Get("Authorization")
			last := "0"
			if strings.HasSuffix(a, "0") {
				last = "1"
			}
			r.Header.Set("Authorization", a[:len(a)-1]+last)
			return b
		}, signer.ErrSignatureMismatch},
		{"signed header list shortened", func(r *http.Request, b []byte) []byte {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "user-agent;", "", 1))
			return b
		}, signer.ErrSignatureMismatch},
		{"content-sha256 added", func(r *http.Request, b []byte) []byte {
			r.Header.Set(headerContentSHA256, unsignedPayload)
			return b
		}, signer.ErrMalformed},
		{"unsigned header added", func(r *http.Request, b []byte) []byte { r.Header.Set("X-Extra", "1"); return b }, nil},
		{"unsigned header changed", func(r *http.Request, b []byte) []byte { r.Header.Set("Accept-Encoding", "br"); return b }, nil},
		{"content type changed", func(r *http.Request, b []byte) []byte { r.Header.Set("Content-Type", "text/plain"); return b }, nil},
		{"host changed", func(r *http.Request, b []byte) []byte { r.Host = "evil.example.com"; return b }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := []byte(`{"name":"x"}`)
			req := signedRequest(t, http.MethodPost, statusURL, body)
			sreq, sbody := toServer(t, req)
			sbody = tt.tamper(sreq, sbody)

			err := testVerifier().Verify(sreq, sbody)
			if tt.want == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tt.want)
			assertNoSecrets(t, err.Error(),
				signer.ExpectedSignature(sreq, sbody, testSK), signer.ExpectedSignature(sreq, sbody, otherSK))
		})
	}
}

func TestVerify_SignedHost(t *testing.T) {
	t.Parallel()
	req := newRequest(t, http.MethodGet, "http://127.0.0.1:8080/v2/p/instances/status", nil)
	req.Header["Host"] = nil // opt in; the value comes from req.Host
	require.NoError(t, signer.Sign(req, nil, testCred(), t0))
	require.Contains(t, req.Header.Get("Authorization"), "SignedHeaders=host;")

	sreq, body := toServer(t, req)
	require.Equal(t, "127.0.0.1:8080", sreq.Host)
	assert.NoError(t, testVerifier().Verify(sreq, body))
	sreq.Host = "127.0.0.1:8081"
	assert.ErrorIs(t, testVerifier().Verify(sreq, body), signer.ErrSignatureMismatch)
}

func TestVerify_ClockSkew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		offset time.Duration // verifier clock minus signing time
		want   error
	}{
		{"same time", 0, nil},
		{"14m59s behind", 14*time.Minute + 59*time.Second, nil},
		{"14m59s ahead", -(14*time.Minute + 59*time.Second), nil},
		{"exactly 15m behind", 15 * time.Minute, nil},
		{"exactly 15m ahead", -15 * time.Minute, nil},
		{"15m01s behind", 15*time.Minute + time.Second, signer.ErrDateSkew},
		{"15m01s ahead", -(15*time.Minute + time.Second), signer.ErrDateSkew},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sreq, body := toServer(t, signedRequest(t, http.MethodGet, statusURL, nil))
			v := testVerifier()
			v.Now = func() time.Time { return t0.Add(tt.offset) }
			err := v.Verify(sreq, body)
			if tt.want == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, tt.want)
			}
		})
	}
}

func TestVerify_Rejects(t *testing.T) {
	t.Parallel()
	setAuth := func(f func(a *signer.Authorization)) func(r *http.Request) {
		return func(r *http.Request) {
			a, err := signer.ParseAuthorization(r.Header.Get("Authorization"))
			if err != nil {
				panic(err)
			}
			f(&a)
			r.Header.Set("Authorization", a.String())
		}
	}
	tests := []struct {
		name     string
		cred     signer.Credentials
		change   func(r *http.Request)
		verifier func() *signer.Verifier
		want     error
	}{
		{name: "no Authorization", change: func(r *http.Request) { r.Header.Del("Authorization") }, want: signer.ErrMissing},
		{name: "two Authorization", change: func(r *http.Request) { r.Header.Add("Authorization", r.Header.Get("Authorization")) }, want: signer.ErrMalformed},
		{name: "malformed Authorization", change: func(r *http.Request) { r.Header.Set("Authorization", "Basic Zm9vOmJhcg==") }, want: signer.ErrMalformed},
		{name: "x-sdk-date not signed", change: setAuth(func(a *signer.Authorization) { a.SignedHeaders = []string{"user-agent", "x-project-id"} }), want: signer.ErrMalformed},
		{name: "authorization signed", change: setAuth(func(a *signer.Authorization) { a.SignedHeaders = append([]string{"authorization"}, a.SignedHeaders...) }), want: signer.ErrMalformed},
		{name: "token not signed", change: func(r *http.Request) { r.Header.Set(signer.HeaderSecurityToken, testToken) }, want: signer.ErrMalformed},
		{name: "token changed", cred: signer.Credentials{AccessKey: testAK, SecretKey: testSK, SecurityToken: testToken},
			change: func(r *http.Request) { r.Header.Set(signer.HeaderSecurityToken, "other") }, want: signer.ErrSignatureMismatch},
		{name: "date malformed", change: func(r *http.Request) { r.Header.Set(signer.HeaderDate, "2024-03-05T06:07:08Z") }, want: signer.ErrMalformed},
		{name: "date not normalised", change: func(r *http.Request) { r.Header.Set(signer.HeaderDate, "20240305T060768Z") }, want: signer.ErrMalformed},
		{name: "date repeated", change: func(r *http.Request) { r.Header.Add(signer.HeaderDate, r.Header.Get(signer.HeaderDate)) }, want: signer.ErrMalformed},
		{name: "signed header absent", change: setAuth(func(a *signer.Authorization) { a.SignedHeaders = append(a.SignedHeaders, "x-zzz") }), want: signer.ErrMissing},
		{name: "content-sha256 repeated", change: func(r *http.Request) {
			r.Header.Add(headerContentSHA256, unsignedPayload)
			r.Header.Add(headerContentSHA256, unsignedPayload)
		}, want: signer.ErrMalformed},
		{name: "bad query", change: func(r *http.Request) { r.URL.RawQuery = "a=%zz" }, want: signer.ErrMalformed},
		{name: "unknown access key", cred: signer.Credentials{AccessKey: "HPUAUNKNOWNKEY000003", SecretKey: "s"}, want: signer.ErrUnknownKey},
		{name: "no key lookup", verifier: func() *signer.Verifier { return &signer.Verifier{Now: func() time.Time { return t0 }} }, want: signer.ErrUnknownKey},
		{name: "key lookup says unknown", verifier: func() *signer.Verifier {
			return &signer.Verifier{SecretKey: func(string) (string, bool) { return testSK, false }, Now: func() time.Time { return t0 }}
		}, want: signer.ErrUnknownKey},
		{name: "empty secret key", verifier: func() *signer.Verifier {
			return &signer.Verifier{SecretKey: func(string) (string, bool) { return "", true }, Now: func() time.Time { return t0 }}
		}, want: signer.ErrUnknownKey},
		{name: "nil verifier", verifier: func() *signer.Verifier { return nil }, want: signer.ErrDateSkew},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cred := tt.cred
			if cred == (signer.Credentials{}) {
				cred = testCred()
			}
			req := newRequest(t, http.MethodGet, statusURL, nil)
			require.NoError(t, signer.Sign(req, nil, cred, t0))
			sreq, body := toServer(t, req)
			if tt.change != nil {
				tt.change(sreq)
			}
			v := testVerifier()
			if tt.verifier != nil {
				v = tt.verifier()
			}
			err := v.Verify(sreq, body)
			assert.ErrorIs(t, err, tt.want)
			if err != nil {
				assertNoSecrets(t, err.Error())
			}
		})
	}
}

func TestVerify_NilRequest(t *testing.T) {
	t.Parallel()
	assert.ErrorIs(t, testVerifier().Verify(nil, nil), signer.ErrMalformed)
	assert.ErrorIs(t, testVerifier().Verify(&http.Request{}, nil), signer.ErrMalformed)
}

func TestVerify_ContentSHA256(t *testing.T) {
	t.Parallel()
	body := []byte(`{"a":1}`)
	tests := []struct {
		name   string
		value  string
		verify []byte
		want   error
	}{
		{"unsigned payload ignores body", unsignedPayload, []byte("x"), nil},
		{"stated hash matches body", "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862", body, nil},
		{"stated hash does not match body", "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862", []byte("x"), signer.ErrSignatureMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := newRequest(t, http.MethodPost, statusURL, body)
			req.Header.Set(headerContentSHA256, tt.value)
			require.NoError(t, signer.Sign(req, body, testCred(), t0))
			sreq, _ := toServer(t, req)
			err := testVerifier().Verify(sreq, tt.verify)
			if tt.want == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, tt.want)
			}
		})
	}
}
func hmacHex(key, text string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(text))
	return hex.EncodeToString(m.Sum(nil))
}

func sha256Hex(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}

// A wrong secret key: the verifier tells what it computed, and the client
// signed the very same string, only with another key.
func TestVerify_MismatchTellsWhatItComputed(t *testing.T) {
	t.Parallel()
	req := newRequest(t, http.MethodGet, statusURL, nil)
	require.NoError(t, signer.Sign(req, nil, signer.Credentials{AccessKey: testAK, SecretKey: otherSK}, t0))
	sreq, body := toServer(t, req)

	err := testVerifier().Verify(sreq, body)
	require.ErrorIs(t, err, signer.ErrSignatureMismatch)
	var me *signer.MismatchError
	require.True(t, errors.As(err, &me), "%T", err)

	assert.Equal(t, "GET\n/v2/0a1b2c3d4e5f/instances/status/\ninclude_failure=true\n"+
		"user-agent:dcskit-test\nx-project-id:0a1b2c3d4e5f\nx-sdk-date:20240305T060708Z\n\n"+
		"user-agent;x-project-id;x-sdk-date\n"+
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", me.CanonicalRequest)
	assert.Equal(t, "SDK-HMAC-SHA256\n20240305T060708Z\n"+sha256Hex(me.CanonicalRequest), me.StringToSign)

	auth, perr := signer.ParseAuthorization(req.Header.Get(signer.HeaderAuthorization))
	require.NoError(t, perr)
	assert.Equal(t, auth.Signature, hmacHex(otherSK, me.StringToSign), "the client signed this string")
	assert.Equal(t, signer.ExpectedSignature(sreq, body, testSK), hmacHex(testSK, me.StringToSign), "and the verifier expected it signed with its key")

	assert.Equal(t, "signature mismatch", err.Error(), "short: it goes into answers and logs")
	assertNoSecrets(t, me.CanonicalRequest+me.StringToSign, signer.ExpectedSignature(sreq, body, testSK))
}

// A tampered request: the canonical request is the one the server saw.
func TestVerify_MismatchShowsTheRequestAsReceived(t *testing.T) {
	t.Parallel()
	sreq, body := toServer(t, signedRequest(t, http.MethodGet, statusURL, nil))
	sreq.URL.RawQuery = "include_failure=false"

	var me *signer.MismatchError
	require.True(t, errors.As(testVerifier().Verify(sreq, body), &me))
	assert.Contains(t, me.CanonicalRequest, "\ninclude_failure=false\n")
}

// Credential headers are signed, but their values never show.
func TestVerify_MismatchRedactsCredentialHeaders(t *testing.T) {
	t.Parallel()
	req := newRequest(t, http.MethodGet, statusURL, nil)
	req.Header.Set("X-Auth-Token", "an-iam-token-that-is-signed")
	cred := signer.Credentials{AccessKey: testAK, SecretKey: otherSK, SecurityToken: testToken}
	require.NoError(t, signer.Sign(req, nil, cred, t0))
	require.Contains(t, req.Header.Get(signer.HeaderAuthorization), "x-auth-token;")
	sreq, body := toServer(t, req)

	var me *signer.MismatchError
	require.True(t, errors.As(testVerifier().Verify(sreq, body), &me))
	assert.Contains(t, me.CanonicalRequest, "\nx-auth-token:"+signer.RedactedValue+"\n")
	assert.Contains(t, me.CanonicalRequest, "\nx-security-token:"+signer.RedactedValue+"\n")
	assertNoSecrets(t, me.CanonicalRequest+me.StringToSign, "an-iam-token-that-is-signed")
	// The string to sign still covers the real values: the client's
	// signature is the HMAC of it.
	auth, err := signer.ParseAuthorization(req.Header.Get(signer.HeaderAuthorization))
	require.NoError(t, err)
	assert.Equal(t, auth.Signature, hmacHex(otherSK, me.StringToSign))
	assert.NotEqual(t, sha256Hex(me.CanonicalRequest), me.StringToSign[strings.LastIndexByte(me.StringToSign, '\n')+1:])
}

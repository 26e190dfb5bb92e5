package signer_test

import (
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
			r.Header.Set(signer.HeaderContentSHA256, signer.UnsignedPayload)
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
		name    string
		offset  time.Duration // verifier clock minus signing time
		maxSkew time.Duration
		want    error
	}{
		{"same time", 0, 0, nil},
		{"14m59s behind", 14*time.Minute + 59*time.Second, 0, nil},
		{"14m59s ahead", -(14*time.Minute + 59*time.Second), 0, nil},
		{"exactly 15m behind", 15 * time.Minute, 0, nil},
		{"exactly 15m ahead", -15 * time.Minute, 0, nil},
		{"15m01s behind", 15*time.Minute + time.Second, 0, signer.ErrDateSkew},
		{"15m01s ahead", -(15*time.Minute + time.Second), 0, signer.ErrDateSkew},
		{"custom limit kept", 59 * time.Second, time.Minute, nil},
		{"custom limit exceeded", -61 * time.Second, time.Minute, signer.ErrDateSkew},
		{"negative limit means default", 10 * time.Minute, -time.Second, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sreq, body := toServer(t, signedRequest(t, http.MethodGet, statusURL, nil))
			v := testVerifier()
			v.Now = func() time.Time { return t0.Add(tt.offset) }
			v.MaxSkew = tt.maxSkew
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
			r.Header.Add(signer.HeaderContentSHA256, signer.UnsignedPayload)
			r.Header.Add(signer.HeaderContentSHA256, signer.UnsignedPayload)
		}, want: signer.ErrMalformed},
		{name: "bad query", change: func(r *http.Request) { r.URL.RawQuery = "a=%zz" }, want: signer.ErrMalformed},
		{name: "unknown access key", cred: signer.Credentials{AccessKey: "HPUAUNKNOWNKEY000003", SecretKey: "s"}, want: signer.ErrUnknownKey},
		{name: "no key lookup", verifier: func() *signer.Verifier { return &signer.Verifier{Now: func() time.Time { return t0 }} }, want: signer.ErrUnknownKey},
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
		{"unsigned payload ignores body", signer.UnsignedPayload, []byte("x"), nil},
		{"stated hash matches body", "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862", body, nil},
		{"stated hash does not match body", "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862", []byte("x"), signer.ErrSignatureMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := newRequest(t, http.MethodPost, statusURL, body)
			req.Header.Set(signer.HeaderContentSHA256, tt.value)
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

package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/server"
	"github.com/dcskit/dcskit/signer"
)

func TestAuth(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	aksk := server.Options{AccessKey: "AKEXAMPLE", SecretKey: "sk-right", Now: clock}
	token := server.Options{Token: "tok-right"}
	both := server.Options{AccessKey: "AKEXAMPLE", SecretKey: "sk-right", Token: "tok-right", Now: clock}

	sign := func(ak, sk string, at time.Time) func(*testing.T, *http.Request) {
		return func(t *testing.T, r *http.Request) {
			require.NoError(t, signer.Sign(r, nil, signer.Credentials{AccessKey: ak, SecretKey: sk}, at))
		}
	}
	withToken := func(tok string) func(*testing.T, *http.Request) {
		return func(_ *testing.T, r *http.Request) { r.Header.Set("X-Auth-Token", tok) }
	}
	none := func(*testing.T, *http.Request) {}

	tests := []struct {
		name string
		opts server.Options
		prep func(*testing.T, *http.Request)
		ok   bool
	}{
		{"good signature", aksk, sign("AKEXAMPLE", "sk-right", now), true},
		{"signed 14 minutes ago", aksk, sign("AKEXAMPLE", "sk-right", now.Add(-14*time.Minute)), true},
		{"wrong SK", aksk, sign("AKEXAMPLE", "sk-wrong", now), false},
		{"unknown AK", aksk, sign("AKOTHER", "sk-right", now), false},
		{"no Authorization", aksk, none, false},
		{"signed 16 minutes ago", aksk, sign("AKEXAMPLE", "sk-right", now.Add(-16*time.Minute)), false},
		{"signed 16 minutes ahead", aksk, sign("AKEXAMPLE", "sk-right", now.Add(16*time.Minute)), false},
		{"x-sdk-date not signed", aksk, func(t *testing.T, r *http.Request) {
			sign("AKEXAMPLE", "sk-right", now)(t, r)
			a, err := signer.ParseAuthorization(r.Header.Get("Authorization"))
			require.NoError(t, err)
			a.SignedHeaders = []string{"user-agent"}
			r.Header.Set("User-Agent", "x")
			r.Header.Set("Authorization", a.String())
		}, false},
		{"tampered after signing", aksk, func(t *testing.T, r *http.Request) {
			sign("AKEXAMPLE", "sk-right", now)(t, r)
			r.URL.Path = "/v2/q/instances/status"
		}, false},
		{"token is no signature", aksk, withToken("tok-right"), false},
		{"good token", token, withToken("tok-right"), true},
		{"wrong token", token, withToken("tok-wrong"), false},
		{"no token", token, none, false},
		{"signature is no token", token, sign("AKEXAMPLE", "sk-right", now), false},
		{"both configured, token", both, withToken("tok-right"), true},
		{"both configured, signature", both, sign("AKEXAMPLE", "sk-right", now), true},
		{"both configured, neither", both, none, false},
		{"nothing configured", server.Options{}, none, true},
		{"nothing configured, junk credentials", server.Options{}, withToken("junk"), true},
	}
	for _, m := range modes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				f := m.start(t, tt.opts)
				req := f.request(t, http.MethodGet, statusPath("p"), "")
				tt.prep(t, req)
				r := f.send(t, req)
				if tt.ok {
					assert.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
					return
				}
				assert.Equal(t, http.StatusUnauthorized, r.status, "body: %s", r.body)
				e := r.error(t)
				assert.Equal(t, "APIGW.0301", e.Code)
				assert.Contains(t, e.Msg, "Incorrect IAM authentication information")
				assert.Equal(t, r.header.Get("X-Request-Id"), e.RequestID)
				assert.NotContains(t, string(r.body), "sk-right")
				assert.NotContains(t, string(r.body), "tok-right")
			})
		}
	}
}

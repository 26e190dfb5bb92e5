package client_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/internal/contract/contracttest"
	"github.com/dcskit/dcskit/server"
	"github.com/dcskit/dcskit/servertest"
)

// recordingTransport keeps the credential headers of every request, and
// passes it on to the contract checker.
type recordingTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	sent []http.Header
}

func (t *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.mu.Lock()
	t.sent = append(t.sent, r.Header.Clone())
	t.mu.Unlock()
	return t.next.RoundTrip(r)
}

func (t *recordingTransport) headers() []http.Header {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sent
}

func recorder(t *testing.T) (*recordingTransport, client.Option) {
	t.Helper()
	rt := &recordingTransport{next: contracttest.New(t).Transport(t, nil)}
	return rt, client.WithHTTPClient(&http.Client{Transport: rt})
}

// WithoutSigning sends no credentials at all, to IAM either, whatever the
// environment holds.
func TestWithoutSigning(t *testing.T) {
	t.Parallel()
	srv := servertest.New(t, server.Options{Projects: []server.Project{{ID: testProject, Name: "ap-southeast-1"}}})
	_, err := srv.Add(servertest.OneOfEach(testProject)...)
	require.NoError(t, err)
	tests := []struct {
		name   string
		opts   []client.Option
		signed bool
	}{
		{"alone", []client.Option{client.WithoutSigning()}, false},
		{"with keys in the environment", []client.Option{client.WithoutSigning(), client.FromEnv(env(map[string]string{
			client.EnvAccessKey: testAK, client.EnvSecretKey: testSK, client.EnvSecurityToken: testToken}))}, false},
		{"keys instead", []client.Option{client.WithCredentials(testAK, testSK)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rt, hc := recorder(t)
			c, err := client.New(append([]client.Option{hc, client.WithRegion("ap-southeast-1"),
				client.WithEndpoint(srv.URL()), client.WithIAMEndpoint(srv.URL())}, tt.opts...)...)
			require.NoError(t, err)
			st, err := c.InstanceStatus(t.Context())
			require.NoError(t, err)
			assert.EqualValues(t, len(dcs.Engines()), st.Count(dcs.Running))
			assert.Equal(t, testProject, projectOf(t, c), "found through IAM")
			sent := rt.headers()
			require.Len(t, sent, 2, "IAM, then DCS")
			for _, h := range sent {
				if tt.signed {
					assert.NotEmpty(t, h.Get("Authorization"))
					continue
				}
				for _, name := range []string{"Authorization", "X-Auth-Token", "X-Security-Token", "X-Sdk-Date"} {
					assert.Empty(t, h.Get(name), name)
				}
			}
			cred, err := c.Credentials(t.Context())
			require.NoError(t, err)
			if !tt.signed {
				assert.Equal(t, "none (unsigned requests)", cred.Source)
				assert.Contains(t, c.String(), "none (unsigned requests)")
			}
		})
	}
}

// A fake with credentials refuses an unsigned client, as the real
// gateway would: WithoutSigning does not hide that.
func TestWithoutSigningAgainstAFakeWithCredentials(t *testing.T) {
	t.Parallel()
	srv := fake(t, server.Options{AccessKey: testAK, SecretKey: testSK})
	c, attempts := fakeClient(t, srv, client.WithoutSigning(), client.WithHTTPClient(&http.Client{Transport: contracttest.New(t).Transport(t, nil)}))
	_, err := c.InstanceStatus(t.Context())
	var apiErr *client.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
	assert.Zero(t, attempts.Load(), "the caller's transport is the plain one")
}

// WithLogger logs each exchange, retries numbered, with no secret: the
// secret key, the token and the signatures sent are needles that must
// not be in the log.
func TestWithLoggerLogsExchangesWithoutSecrets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opt  client.Option
		auth string // what the log shows of the credentials
	}{
		{"AK/SK", client.WithCredentials(testAK, testSK), "authorization=\"SDK-HMAC-SHA256 Access=" + testAK + ", SignedHeaders=user-agent;x-project-id;x-sdk-date, Signature=REDACTED\""},
		{"temporary keys", temporary(testAK, testSK), "x_security_token=REDACTED"},
		{"IAM token", client.WithIAMToken(testToken), "x_auth_token=REDACTED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fake(t, server.Options{AccessKey: testAK, SecretKey: testSK, Token: testToken})
			srv.InjectFault(server.Fault{Status: http.StatusServiceUnavailable})
			var log bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
			rt, hc := recorder(t)
			c, err := client.New(tt.opt, hc, client.WithLogger(logger), client.WithEndpoint(srv.URL()),
				client.WithProjectID(testProject), client.WithRetry(client.RetryPolicy{Backoff: noWait}))
			require.NoError(t, err)
			st, err := c.InstanceStatus(t.Context(), client.IncludeFailure())
			require.NoError(t, err)

			lines := strings.Split(strings.TrimSpace(log.String()), "\n")
			require.Len(t, lines, 2, log.String())
			for i, want := range []string{`attempt=1 method=GET url="` + srv.URL() + `/v2/` + testProject + `/instances/status?include_failure=true" status=503`,
				`attempt=2 method=GET url="` + srv.URL() + `/v2/` + testProject + `/instances/status?include_failure=true" status=200 request_id=` + st.RequestID + ` duration=`} {
				assert.Contains(t, lines[i], `level=DEBUG msg="HTTP exchange" `+want)
				assert.Contains(t, lines[i], tt.auth)
			}
			needles := []string{testSK, testToken}
			for _, h := range rt.headers() {
				if a := h.Get("Authorization"); a != "" {
					needles = append(needles, a[strings.LastIndex(a, "=")+1:])
				}
			}
			for _, secret := range needles {
				assert.NotContains(t, log.String(), secret)
			}
		})
	}
}

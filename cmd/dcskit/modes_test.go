package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/exporter"
	"github.com/dcskit/dcskit/internal/promtest"
	"github.com/dcskit/dcskit/server"
)

const testToken = "test-iam-token-never-printed"

// credentialsSeen is what the fake's journal says of the credentials of
// every request it had: the access key, "token" or "none".
func credentialsSeen(f *fakeDCS) []string {
	var out []string
	for _, r := range f.Requests() {
		out = append(out, r.AccessKey)
	}
	return out
}

// Every command that calls the API talks to a fake without credentials
// with --no-sign-request, IAM's discovery included, and sends none even
// when the environment holds keys (half a pair here, which would
// otherwise be an error).
func TestNoSignRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		command string
		check   func(t *testing.T, f *fakeDCS, e *env, args []string)
	}{
		{"status", func(t *testing.T, f *fakeDCS, e *env, args []string) {
			r := runEnv(t, nil, e, args...)
			require.Equal(t, 0, r.code, r.stderr)
			assert.Equal(t, [][]string{{"STATUS", "REDIS", "MEMCACHED", "TOTAL"}, {"RUNNING", "2", "0", "2"}}, rows(r.stdout))
		}},
		{"wait", func(t *testing.T, f *fakeDCS, e *env, args []string) {
			r := runEnv(t, nil, e, args...)
			require.Equal(t, 0, r.code, r.stderr)
			assert.Equal(t, [][]string{{"STATUS", "REDIS", "MEMCACHED", "TOTAL"}, {"RUNNING", "2", "0", "2"}}, rows(r.stdout))
		}},
		{"verify", func(t *testing.T, f *fakeDCS, e *env, args []string) {
			r := runEnv(t, nil, e, args...)
			require.Equal(t, 0, r.code, "%s%s", r.stdout, r.stderr)
			assert.Contains(t, r.stdout, "the requests carry no credentials to spoil")
		}},
		{"exporter", func(t *testing.T, f *fakeDCS, e *env, args []string) {
			x := start(t, e, append(args, "--listen", "127.0.0.1:0")...)
			got := promtest.Scrape(t, x.url)
			assert.Equal(t, 1.0, gauge(t, got, exporter.MetricScrapeSuccess))
			assert.Equal(t, 0, x.stop().code)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.command, func(t *testing.T) {
			t.Parallel()
			f := startFakeWith(t, server.Options{}, regionsFixture)
			e := f.env(map[string]string{client.EnvAccessKey: testAK, client.EnvIAMEndpoint: f.url})
			tt.check(t, f, e, []string{tt.command, "--endpoint", f.url, "--no-sign-request"})
			seen := credentialsSeen(f)
			require.NotEmpty(t, seen)
			assert.Subset(t, []string{server.CredentialNone}, seen, "no request carried credentials")
			assert.Contains(t, f.Requests()[0].Path, "/v3/projects", "the project was found through IAM, unsigned")
		})
	}
}

// An IAM token comes from $DCSKIT_IAM_TOKEN or --token-file, never from
// a flag's value, and goes to IAM and DCS as X-Auth-Token.
func TestIAMToken(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(file, []byte(testToken+"\n"), 0o600))
	empty := filepath.Join(t.TempDir(), "empty")
	require.NoError(t, os.WriteFile(empty, []byte("\n"), 0o600))
	huge := filepath.Join(t.TempDir(), "huge")
	require.NoError(t, os.WriteFile(huge, []byte(strings.Repeat(testToken, 10_000)), 0o600))
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string // in stderr
	}{
		{"from the environment", map[string]string{envToken: testToken}, nil, 0, ""},
		{"from a file", nil, []string{"--token-file", file}, 0, ""},
		{"the file wins", map[string]string{envToken: "stale"}, []string{"--token-file", file}, 0, ""},
		{"a token and keys", map[string]string{envToken: testToken, client.EnvAccessKey: testAK}, nil, 2,
			"both an IAM token ($DCSKIT_IAM_TOKEN) and HUAWEICLOUD_SDK_AK are set: use one"},
		{"a missing file", nil, []string{"--token-file", filepath.Join(t.TempDir(), "none")}, 2, "--token-file: open "},
		{"an empty file", nil, []string{"--token-file", empty}, 2, "--token-file: " + empty + ": its first line is empty"},
		{"a huge file", nil, []string{"--token-file", huge}, 2, "--token-file: " + huge + ": larger than 64 KiB"},
		{"a token file and --no-sign-request", nil, []string{"--token-file", file, "--no-sign-request"}, 2,
			"--no-sign-request and --token-file exclude each other"},
		{"--no-sign-request wins over the environment", map[string]string{envToken: testToken}, []string{"--no-sign-request"}, 1, "HTTP 401"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := startFakeWith(t, server.Options{Token: testToken}, regionsFixture)
			environ := map[string]string{client.EnvIAMEndpoint: f.url}
			for k, v := range tt.env {
				environ[k] = v
			}
			r := runEnv(t, nil, f.env(environ), append([]string{"status", "--endpoint", f.url}, tt.args...)...)
			assert.Equal(t, tt.code, r.code, r.stderr)
			assert.Contains(t, r.stderr, tt.want)
			assert.NotContains(t, r.stderr+r.stdout, testToken)
			if tt.code == 0 {
				assert.Equal(t, [][]string{{"STATUS", "REDIS", "MEMCACHED", "TOTAL"}, {"RUNNING", "2", "0", "2"}}, rows(r.stdout))
				assert.Equal(t, []string{server.CredentialToken, server.CredentialToken}, credentialsSeen(f), "IAM, then DCS")
			}
		})
	}
}

// --debug shows each exchange, IAM's and every attempt's, and no secret:
// the secret key and the token are needles.
func TestDebugShowsExchangesWithoutSecrets(t *testing.T) {
	t.Parallel()
	for name, environ := range map[string]map[string]string{
		"keys":  credsEnv(client.EnvSecurityToken, testToken),
		"token": {envToken: testToken},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := startFakeWith(t, server.Options{AccessKey: testAK, SecretKey: testSK, Token: testToken}, regionsFixture)
			f.InjectFault(server.Fault{Status: 503})
			environ[client.EnvIAMEndpoint] = f.url
			r := runEnv(t, nil, f.env(environ), "status", "--endpoint", f.url, "--debug")
			require.Equal(t, 0, r.code, r.stderr)
			assert.Equal(t, [][]string{{"STATUS", "REDIS", "MEMCACHED", "TOTAL"}, {"RUNNING", "2", "0", "2"}}, rows(r.stdout), "stdout is the same")
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			require.Len(t, lines, 3, r.stderr)
			assert.Contains(t, lines[0], `attempt=1 method=GET url="`+f.url+`/v3/projects?name=cn-north-4" status=200 request_id=`)
			assert.Contains(t, lines[1], `attempt=1 method=GET url="`+f.url+`/v2/p-north/instances/status?include_failure=true" status=503 request_id=`)
			assert.Contains(t, lines[2], `attempt=2 method=GET url="`+f.url+`/v2/p-north/instances/status?include_failure=true" status=200 request_id=`)
			journal := f.Requests()
			require.Len(t, journal, 3)
			for i, l := range lines {
				assert.Contains(t, l, "request_id="+journal[i].RequestId)
				assert.Contains(t, l, "duration=")
				if name == "keys" {
					assert.Contains(t, l, "Signature=REDACTED")
				} else {
					assert.Contains(t, l, "x_auth_token=REDACTED")
				}
			}
			for _, secret := range []string{testSK, testToken} {
				assert.NotContains(t, r.stderr, secret)
			}
		})
	}
}

// Flag values complete: --output with each command's formats, --region
// with the SDK's regions of DCS.
func TestFlagValuesComplete(t *testing.T) {
	t.Parallel()
	sdkRegions, _ := completeRegion(nil, nil, "")
	require.Contains(t, sdkRegions, "ap-southeast-1")
	require.Contains(t, sdkRegions, client.DefaultRegion)
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"status", "--output", ""}, []string{"table", "json", "fixture"}},
		{[]string{"wait", "-o", ""}, []string{"table", "json"}},
		{[]string{"verify", "--output", ""}, []string{"text", "json"}},
		{[]string{"exporter", "--region", ""}, sdkRegions},
		{[]string{"status", "--region", ""}, sdkRegions},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, nil, nil, append([]string{"__complete"}, tt.args...)...)
			require.Equal(t, 0, r.code, r.stderr)
			got := strings.Split(strings.TrimSpace(r.stdout), "\n")
			require.NotEmpty(t, got)
			assert.Equal(t, tt.want, got[:len(got)-1], "the last line is the directive")
		})
	}
}

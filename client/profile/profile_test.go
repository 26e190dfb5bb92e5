package profile_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/client/profile"
	"github.com/dcskit/dcskit/signer"
)

const (
	testAK    = "PROFILEACCESSKEY"
	testSK    = "profile-secret-never-printed"
	testToken = "profile-token-never-printed"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// home returns an environment whose home directory is a new temporary
// one, holding credentials as ~/.huaweicloud/credentials unless it is "".
func home(t *testing.T, credentials string) (map[string]string, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, ".huaweicloud", "credentials")
	if credentials != "" {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
		require.NoError(t, os.WriteFile(path, []byte(credentials), 0o600))
	}
	homeVar := "HOME"
	if runtime.GOOS == "windows" {
		homeVar = "USERPROFILE"
	}
	return map[string]string{homeVar: dir}, path
}

func TestFileReadsTheBasicSection(t *testing.T) {
	t.Parallel()
	vars, path := home(t, `; written by hcloud configure
[global]
ak = OTHER
sk = other

[basic]
ak = `+testAK+`
sk = `+testSK+`
security_token = `+testToken+`
project_id = 0605767e2c00d5552f8fc01a6f4d3b3a
iam_endpoint = https://iam.ap-southeast-1.myhuaweicloud.com
`)
	cred, err := profile.File(env(vars)).Retrieve(t.Context())
	require.NoError(t, err)
	assert.Equal(t, signer.Credentials{AccessKey: testAK, SecretKey: testSK, SecurityToken: testToken}, cred.Keys)
	assert.Equal(t, "0605767e2c00d5552f8fc01a6f4d3b3a", cred.ProjectID)
	assert.Equal(t, "https://iam.ap-southeast-1.myhuaweicloud.com", cred.IAMEndpoint)
	assert.Equal(t, "profile file "+path, cred.Source)
	assert.True(t, cred.Expires.IsZero())
}

func TestFileFromTheEnvironment(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "creds.ini")
	require.NoError(t, os.WriteFile(path, []byte("[basic]\nak="+testAK+"\nsk="+testSK+"\n"), 0o600))
	vars, _ := home(t, "[basic]\nak = NOT-THIS-ONE\nsk = x\n")
	vars[profile.EnvFile] = path
	cred, err := profile.File(env(vars)).Retrieve(t.Context())
	require.NoError(t, err)
	assert.Equal(t, testAK, cred.Keys.AccessKey)
	assert.Equal(t, "profile file "+path, cred.Source)
}

func TestFileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		file    string // "" for none
		vars    map[string]string
		want    string
		nothing bool // ErrNoCredentials: try the next source
	}{
		{"no file", "", nil, "no such file", true},
		{"no home", "", map[string]string{"HOME": "", "USERPROFILE": ""}, "no home directory", true},
		{"named file missing", "", map[string]string{profile.EnvFile: "/nonexistent/credentials"}, "(from HUAWEICLOUD_SDK_CREDENTIALS_FILE): no such file", false},
		{"no basic section", "[global]\nak = A\nsk = B\n", nil, "no [basic] section", true},
		{"no keys", "[basic]\nproject_id = p\n", nil, "[basic] has no ak and sk", true},
		{"ak alone", "[basic]\nak = " + testAK + "\n", nil, "[basic] has ak but no sk", false},
		{"sk alone", "[basic]\nsk = " + testSK + "\n", nil, "[basic] has sk but no ak", false},
		{"federation", "[basic]\nidp_id = idp\nid_token_file = /t\n", nil, "OIDC federation", false},
		{"not INI", "[basic]\nak " + testSK + "\n", nil, "not an INI file", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vars, _ := home(t, tt.file)
			for k, v := range tt.vars {
				vars[k] = v
			}
			_, err := profile.File(env(vars)).Retrieve(t.Context())
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), "profile file")
			assert.Equal(t, tt.nothing, errors.Is(err, client.ErrNoCredentials))
			assert.NotContains(t, err.Error(), testSK)
		})
	}
}

// The chain takes the SDK's order: the environment, then the file.
func TestDefaultChainOrder(t *testing.T) {
	t.Parallel()
	vars, path := home(t, "[basic]\nak = "+testAK+"\nsk = "+testSK+"\n")
	dead := map[string]string{client.EnvMetadataEndpoint: "http://127.0.0.1:1"}
	for k, v := range dead {
		vars[k] = v
	}
	cred, err := profile.DefaultChain(env(vars), client.MetadataOptions{}).Retrieve(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "profile file "+path, cred.Source)

	vars[client.EnvAccessKey], vars[client.EnvSecretKey] = "ENVKEY", "env-secret"
	cred, err = profile.DefaultChain(env(vars), client.MetadataOptions{}).Retrieve(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "environment", cred.Source)
	assert.Equal(t, "ENVKEY", cred.Keys.AccessKey)

	chain := profile.DefaultChain(env(map[string]string{client.EnvMetadataEndpoint: "not a URL"}), client.MetadataOptions{})
	_, err = chain.Retrieve(t.Context())
	assert.ErrorContains(t, err, "ECS metadata: metadata endpoint: invalid endpoint")
}

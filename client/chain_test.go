package client_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/client/profile"
	"github.com/dcskit/dcskit/server"
)

// profileEnv is an environment whose credentials file holds content,
// if any, and whose metadata service is metadata. Its home directory is
// empty.
func profileEnv(t *testing.T, content, metadata string) map[string]string {
	t.Helper()
	vars := map[string]string{client.EnvMetadataEndpoint: metadata, "HOME": t.TempDir(), "USERPROFILE": t.TempDir()}
	if content != "" {
		path := filepath.Join(t.TempDir(), "credentials")
		require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
		vars[profile.EnvFile] = path
	}
	return vars
}

// deadURL is a loopback URL where nothing listens.
func deadURL(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(http.NotFoundHandler())
	s.Close()
	return s.URL
}

// The official SDK's chain, end to end: credentials from the profile file
// or the metadata service reach the fake signed, with their security
// token, and the project comes from the file or from IAM.
func TestDefaultChainReachesTheFake(t *testing.T) {
	t.Parallel()
	f := startRegionFake(t, server.Options{AccessKey: testAK, SecretKey: testSK})
	// The chain's metadata provider reads the system's clock.
	m := startMetadata(t, time.Now(), true)
	tests := []struct {
		name, file, metadata string
		project, token       string
	}{
		{"profile with a project", "[basic]\nak = " + testAK + "\nsk = " + testSK + "\nsecurity_token = " + testToken + "\nproject_id = p-north\n", "", "p-north", testToken},
		{"profile with its IAM", "[basic]\nak = " + testAK + "\nsk = " + testSK + "\niam_endpoint = " + f.url + "\n", "", "p-south", ""},
		{"metadata", "", m.URL, "p-south", "session-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := profileEnv(t, tt.file, tt.metadata)
			if tt.metadata != "" {
				vars[client.EnvIAMEndpoint] = f.url
			}
			c, err := client.New(profile.FromDefaultChain(env(vars)), client.WithEndpoint(f.url), client.WithRegion("ap-southeast-1"))
			require.NoError(t, err)
			_, err = c.InstanceStatus(t.Context())
			require.NoError(t, err, "the fake checks the signature")
			calls := f.seen("/v2/")
			last := calls[len(calls)-1]
			assert.Equal(t, "/v2/"+tt.project+"/instances/status", last.URL.Path)
			assert.Equal(t, tt.token, last.Header.Get("X-Security-Token"))
			assert.Contains(t, last.Header.Get("Authorization"), "Access="+testAK)
		})
	}
}

func TestDefaultChainNamesEverySource(t *testing.T) {
	t.Parallel()
	metadata := deadURL(t)
	vars := profileEnv(t, "", metadata)
	c, err := client.New(profile.FromDefaultChain(env(vars)), client.WithProjectID("p"), client.WithEndpoint(deadURL(t)))
	require.NoError(t, err)
	_, err = c.InstanceStatus(t.Context())
	var ce *client.CredentialsError
	require.ErrorAs(t, err, &ce)
	require.Len(t, ce.Tried, 3)
	for i, want := range []string{
		"environment: HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK are not set",
		"profile file " + filepath.Join(vars["HOME"], ".huaweicloud", "credentials") + ": no such file",
		"ECS metadata " + metadata + ": not reachable",
	} {
		assert.Contains(t, ce.Tried[i].Error(), want)
	}
	assert.Contains(t, err.Error(), "no credentials: environment: ")
}

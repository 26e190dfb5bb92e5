package interop_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/provider"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/region"
	dcs "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/dcs/v2"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/dcs/v2/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/client/profile"
	"github.com/dcskit/dcskit/internal/contract/contracttest"
	"github.com/dcskit/dcskit/server"
	"github.com/dcskit/dcskit/servertest"
)

// discoveringSDK builds the official DCS client for regionID with no
// project id and its IAM endpoint at the fake, as an operator would with
// only AK/SK: the SDK asks IAM for the region's project while it builds.
// Every response, IAM's included, is checked against our specs. The SDK
// keeps the projects it found per AK and region for the process, so each
// test uses an AK of its own.
func discoveringSDK(t *testing.T, url, accessKey, regionID string) (*dcs.DcsClient, error) {
	t.Helper()
	cred, err := basic.NewCredentialsBuilder().WithAk(accessKey).WithSk(sk).WithIamEndpointOverride(url).SafeBuild()
	require.NoError(t, err)
	hc, err := dcs.DcsClientBuilder().
		WithRegion(region.NewRegion(regionID, url)).
		WithCredential(cred).
		WithHttpConfig(config.DefaultHttpConfig().WithHttpRoundTripper(contracttest.New(t).Transport(t, nil))).
		SafeBuild()
	if err != nil {
		return nil, err
	}
	return dcs.NewDcsClient(hc), nil
}

// twoRegions are the fake's projects: fakeProject in ap-southeast-1, and
// another in cn-north-4.
var twoRegions = []server.Project{{ID: fakeProject, Name: "ap-southeast-1"}, {ID: "other_project", Name: "cn-north-4"}}

func TestSDKFindsItsProjectThroughTheFakesIAM(t *testing.T) {
	t.Parallel()
	const accessKey = "AKSDKDISCOVERS"
	fake := servertest.New(t, server.Options{AccessKey: accessKey, SecretKey: sk, Projects: twoRegions})
	require.NoError(t, fake.LoadFixtureFile(fakeFixture))
	c, err := discoveringSDK(t, fake.URL(), accessKey, "ap-southeast-1")
	require.NoError(t, err, "the SDK signs its IAM call as the fake checks it")
	resp, err := c.ListNumberOfInstancesInDifferentStatus(&model.ListNumberOfInstancesInDifferentStatusRequest{})
	require.NoError(t, err)
	assert.EqualValues(t, 16, *resp.RunningCount, "fakeProject's counts: the SDK found it")
}

// The SDK refuses what our client refuses: no project of that name, or
// several.
func TestSDKDiscoveryNeedsOneProject(t *testing.T) {
	t.Parallel()
	const accessKey = "AKSDKREFUSES"
	fake := servertest.New(t, server.Options{AccessKey: accessKey, SecretKey: sk,
		Projects: append(twoRegions, server.Project{ID: "third_project", Name: "cn-north-4"})})
	_, err := discoveringSDK(t, fake.URL(), accessKey, "cn-north-4")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "multiple project ids found: [other_project,third_project]")

	_, err = discoveringSDK(t, fake.URL(), accessKey, "eu-west-0")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "failed to get project id of region 'eu-west-0' automatically")

	ours, err := client.NewIAM(client.WithIAMEndpoint(fake.URL()), client.WithCredentials(accessKey, sk))
	require.NoError(t, err)
	for _, r := range []string{"cn-north-4", "eu-west-0"} {
		_, err := ours.ProjectID(t.Context(), r)
		var de *client.DiscoveryError
		assert.ErrorAs(t, err, &de, r)
	}
}

// One profile file means the same to the SDK and to client/profile: both
// read it with gopkg.in/ini.v1. Not parallel: the SDK reads the file's
// name from the process's environment.
func TestProfileFileReadsAsTheSDKReadsIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	require.NoError(t, os.WriteFile(path, []byte(`# comments, spaces and quotes as people write them
[global]
ak = GLOBALAK
sk = globalsk

[basic]
ak = `+ak+`
sk   =   "`+sk+`"
security_token = token-value ; a comment
project_id = `+fakeProject+`
iam_endpoint = https://iam.example.com
`), 0o600))
	t.Setenv(profile.EnvFile, path)

	sdkCred, err := provider.BasicCredentialProfileProvider().GetCredentials()
	require.NoError(t, err)
	want := sdkCred.(*basic.Credentials)
	got, err := profile.File(os.Getenv).Retrieve(t.Context())
	require.NoError(t, err)
	assert.Equal(t, want.AK, got.Keys.AccessKey)
	assert.Equal(t, want.SK, got.Keys.SecretKey)
	assert.Equal(t, want.SecurityToken, got.Keys.SecurityToken)
	assert.Equal(t, want.ProjectId, got.ProjectID)
	assert.Equal(t, want.IamEndpoint, got.IAMEndpoint)
	assert.Equal(t, sk, got.Keys.SecretKey, "quotes are the file's, not the key's")
}

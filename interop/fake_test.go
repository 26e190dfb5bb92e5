package interop_test

import (
	"net/http"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	dcs "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/dcs/v2"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/dcs/v2/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/internal/contract/contracttest"
	"github.com/dcskit/dcskit/server"
	"github.com/dcskit/dcskit/servertest"
)

const (
	fakeFixture = "../server/testdata/fixture.json"
	// fakeProject is the project of fakeFixture with 8+8 running and
	// 22+22 create-failed instances, as on the API page.
	fakeProject = "0605767e2c00d5552f8fc01a6f4d3b3a"
)

// sdkClient is the official DCS v2 client, pointed at the fake, with every
// response checked against our spec on the way.
func sdkClient(t *testing.T, url, secretKey string) *dcs.DcsClient {
	t.Helper()
	return sdkClientVia(t, url, secretKey, contracttest.New(t).Transport(t, nil))
}

// sdkClientVia is the official DCS v2 client, pointed at url, sending
// through rt.
func sdkClientVia(t *testing.T, url, secretKey string, rt http.RoundTripper) *dcs.DcsClient {
	t.Helper()
	cred, err := basic.NewCredentialsBuilder().WithAk(ak).WithSk(secretKey).WithProjectId(fakeProject).SafeBuild()
	require.NoError(t, err)
	hc, err := dcs.DcsClientBuilder().
		WithEndpoints([]string{url}).
		WithCredential(cred).
		WithHttpConfig(config.DefaultHttpConfig().WithHttpRoundTripper(rt)).
		SafeBuild()
	require.NoError(t, err)
	return dcs.NewDcsClient(hc)
}

func TestSDKAgainstFake(t *testing.T) {
	t.Parallel()
	fake := servertest.New(t, server.Options{AccessKey: ak, SecretKey: sk})
	require.NoError(t, fake.LoadFixtureFile(fakeFixture))
	c := sdkClient(t, fake.URL(), sk)

	tests := []struct {
		name           string
		includeFailure *string
		failed         int32
	}{
		{"include_failure=true", new("true"), 44},
		{"include_failure absent", nil, 0},
		{"include_failure=false", new("false"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, err := c.ListNumberOfInstancesInDifferentStatus(
				&model.ListNumberOfInstancesInDifferentStatusRequest{IncludeFailure: tt.includeFailure})
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, resp.HttpStatusCode)
			assert.EqualValues(t, 16, *resp.RunningCount)
			assert.EqualValues(t, 1, *resp.RestartingCount)
			assert.EqualValues(t, tt.failed, *resp.CreatefailedCount)
			require.NotNil(t, resp.Redis)
			require.NotNil(t, resp.Memcached)
			assert.EqualValues(t, 8, *resp.Redis.RunningCount)
			assert.EqualValues(t, 8, *resp.Memcached.RunningCount)
			assert.EqualValues(t, tt.failed/2, *resp.Memcached.CreatefailedCount)
			assert.EqualValues(t, 0, *resp.Memcached.FrozenCount, "another project's instances")
		})
	}
}

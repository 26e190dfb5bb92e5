package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/internal/contract/contracttest"
	"github.com/dcskit/dcskit/server"
	"github.com/dcskit/dcskit/signer"
)

// regionFake is a fake with AK/SK that holds two projects in two regions
// and records what reaches it; its every response is checked against the
// specs.
type regionFake struct {
	*server.Server
	url string

	mu       sync.Mutex
	requests []*http.Request // every request, in order
}

var regionProjects = []server.Project{{ID: "p-north", Name: "cn-north-4"}, {ID: "p-south", Name: "ap-southeast-1"}}

func startRegionFake(t *testing.T, opts server.Options) *regionFake {
	t.Helper()
	if opts.Projects == nil {
		opts.Projects = regionProjects
	}
	s, err := server.New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	_, err = s.Add(
		server.Instance{ProjectID: "p-north", Engine: dcs.Redis, Status: dcs.Running},
		server.Instance{ProjectID: "p-south", Engine: dcs.Memcached, Status: dcs.Running},
		server.Instance{ProjectID: "p-south", Engine: dcs.Memcached, Status: dcs.Creating},
	)
	require.NoError(t, err)
	f := &regionFake{Server: s}
	checked := contracttest.New(t).Handler(t, s.Handler())
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Clone(context.Background()))
		f.mu.Unlock()
		checked.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	f.url = ts.URL
	return f
}

// seen returns the requests whose path starts with prefix.
func (f *regionFake) seen(prefix string) []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*http.Request
	for _, r := range f.requests {
		if strings.HasPrefix(r.URL.Path, prefix) {
			out = append(out, r)
		}
	}
	return out
}

// discovering returns a client of f for region, with no project id, its
// IAM at f.
func (f *regionFake) discovering(t *testing.T, region string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(append([]client.Option{
		client.WithEndpoint(f.url), client.WithRegion(region), client.WithIAMEndpoint(f.url),
		signed, client.WithRetry(client.RetryPolicy{Backoff: noWait}),
	}, opts...)...)
	require.NoError(t, err)
	return c
}

func TestClientFindsItsProjectThroughIAM(t *testing.T) {
	t.Parallel()
	f := startRegionFake(t, server.Options{AccessKey: testAK, SecretKey: testSK})
	c := f.discovering(t, "ap-southeast-1")
	assert.Contains(t, c.String(), "to find for ap-southeast-1")
	assert.Empty(t, f.seen("/"), "nothing is asked before the first call")

	for range 2 {
		st, err := c.InstanceStatus(t.Context())
		require.NoError(t, err)
		assert.EqualValues(t, 1, st.Count(dcs.Creating), "p-south's counts")
	}
	assert.Equal(t, "p-south", projectOf(t, c))
	assert.Contains(t, c.String(), "p-south")

	iam := f.seen("/v3/")
	require.Len(t, iam, 1, "the project is looked up once")
	assert.Equal(t, "/v3/projects", iam[0].URL.Path)
	assert.Equal(t, "ap-southeast-1", iam[0].URL.Query().Get("name"))
	assert.Empty(t, iam[0].Header.Get("X-Project-Id"), "IAM calls name no project")
	assert.Contains(t, iam[0].Header.Get("Authorization"), "Access="+testAK, "IAM calls are signed")
	dcsCalls := f.seen("/v2/")
	require.Len(t, dcsCalls, 2)
	for _, r := range dcsCalls {
		assert.Equal(t, "/v2/p-south/instances/status", r.URL.Path)
		assert.Equal(t, "p-south", r.Header.Get("X-Project-Id"))
	}
}

// One IAM shared by clients of several regions looks each region up once,
// however many clients and calls ask at the same time.
func TestSharedIAMLooksEachRegionUpOnce(t *testing.T) {
	t.Parallel()
	f := startRegionFake(t, server.Options{AccessKey: testAK, SecretKey: testSK})
	iam, err := client.NewIAM(client.WithIAMEndpoint(f.url), signed)
	require.NoError(t, err)

	var wg sync.WaitGroup
	for i := range 8 {
		region := []string{"cn-north-4", "ap-southeast-1"}[i%2]
		wg.Go(func() {
			c := f.discovering(t, region, client.WithIAM(iam))
			_, err := c.InstanceStatus(t.Context())
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	names := map[string]int{}
	for _, r := range f.seen("/v3/") {
		names[r.URL.Query().Get("name")]++
	}
	assert.Equal(t, map[string]int{"cn-north-4": 1, "ap-southeast-1": 1}, names)
	id, err := iam.ProjectID(t.Context(), "cn-north-4")
	require.NoError(t, err)
	assert.Equal(t, "p-north", id)
	assert.Len(t, f.seen("/v3/"), 2, "answered from the cache")
}

func TestDiscoveryNeedsExactlyOneProject(t *testing.T) {
	t.Parallel()
	f := startRegionFake(t, server.Options{AccessKey: testAK, SecretKey: testSK,
		Projects: append([]server.Project{{ID: "p-north-2", Name: "cn-north-4"}}, regionProjects...)})
	tests := []struct {
		region string
		found  []string // ids in DiscoveryError.Found
		want   []string // in the message
	}{
		{"cn-north-4", []string{"p-north-2", "p-north"}, []string{`2 projects named "cn-north-4"`, "cn-north-4 (p-north-2), cn-north-4 (p-north)", "give one as the project id"}},
		{"eu-west-0", nil, []string{`no project named "eu-west-0"`, "the credentials can access cn-north-4 (p-north-2), cn-north-4 (p-north), ap-southeast-1 (p-south)", "give the project id"}},
	}
	for _, tt := range tests {
		t.Run(tt.region, func(t *testing.T) {
			t.Parallel()
			_, err := f.discovering(t, tt.region).InstanceStatus(t.Context())
			var de *client.DiscoveryError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, tt.region, de.Region)
			assert.Equal(t, f.url, de.Endpoint)
			var ids []string
			for _, p := range de.Found {
				ids = append(ids, p.ID)
			}
			assert.Equal(t, tt.found, ids)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
	assert.Empty(t, f.seen("/v2/"), "no DCS call without a project")
}

func TestIAMListsTheProjectsTheCallerSees(t *testing.T) {
	t.Parallel()
	f := startRegionFake(t, server.Options{AccessKey: testAK, SecretKey: testSK})
	iam, err := client.NewIAM(client.WithIAMEndpoint(f.url), signed)
	require.NoError(t, err)
	ps, err := iam.Projects(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []client.Project{{ID: "p-north", Name: "cn-north-4", Enabled: true}, {ID: "p-south", Name: "ap-southeast-1", Enabled: true}}, ps)
	r := f.seen("/v3/")
	require.Len(t, r, 1)
	assert.Equal(t, "/v3/auth/projects", r[0].URL.Path)

	bad, err := client.NewIAM(client.WithIAMEndpoint(f.url), client.WithCredentials(testAK, "wrong"), once)
	require.NoError(t, err)
	_, err = bad.Projects(t.Context())
	var apiErr *client.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
	assert.Contains(t, err.Error(), "listing projects through IAM at "+f.url)
	assert.NotContains(t, err.Error(), "wrong")
}

// idProvider is a CredentialsProvider with a fixed answer.
type idProvider struct{ cred client.Credentials }

func (p idProvider) Retrieve(context.Context) (client.Credentials, error) { return p.cred, nil }

// The IAM endpoint comes from WithIAMEndpoint, else EnvIAMEndpoint, else
// the credentials' source; the project from options or the environment,
// else the credentials' source, else IAM.
func TestWhereTheProjectAndIAMComeFrom(t *testing.T) {
	t.Parallel()
	f := startRegionFake(t, server.Options{AccessKey: testAK, SecretKey: testSK})
	other := startRegionFake(t, server.Options{AccessKey: testAK, SecretKey: testSK,
		Projects: []server.Project{{ID: "p-other", Name: "ap-southeast-1"}}})
	keys := client.Credentials{Keys: signedKeys}
	withIAM := func(endpoint string) client.CredentialsProvider {
		k := keys
		k.IAMEndpoint = endpoint
		return idProvider{k}
	}
	withProject := func(id string) client.CredentialsProvider {
		k := keys
		k.ProjectID = id
		return idProvider{k}
	}
	tests := []struct {
		name string
		opts []client.Option
		want string
	}{
		{"option", []client.Option{client.WithIAMEndpoint(f.url), client.FromEnv(env(map[string]string{client.EnvIAMEndpoint: other.url})), client.WithCredentialsProvider(withIAM(other.url))}, "p-south"},
		{"environment", []client.Option{client.FromEnv(env(map[string]string{client.EnvIAMEndpoint: f.url})), client.WithCredentialsProvider(withIAM(other.url))}, "p-south"},
		{"credentials' source", []client.Option{client.WithCredentialsProvider(withIAM(other.url))}, "p-other"},
		{"source's project", []client.Option{client.WithCredentialsProvider(withProject("p-given"))}, "p-given"},
		{"environment's project", []client.Option{client.FromEnv(env(map[string]string{client.EnvProjectID: "p-env"})), client.WithCredentialsProvider(withProject("p-given"))}, "p-env"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := client.New(append([]client.Option{client.WithEndpoint(f.url), client.WithRegion("ap-southeast-1")}, tt.opts...)...)
			require.NoError(t, err)
			assert.Equal(t, tt.want, projectOf(t, c))
		})
	}
}

// signedKeys are the fake's keys.
var signedKeys = signer.Credentials{AccessKey: testAK, SecretKey: testSK}

// A client whose credentials fail sends nothing, retries nothing, and
// says so with a *CredentialsError.
func TestNoCredentialsSendsNothing(t *testing.T) {
	t.Parallel()
	f := startRegionFake(t, server.Options{AccessKey: testAK, SecretKey: testSK})
	failing := client.EnvCredentials(env(nil))
	for _, opts := range [][]client.Option{
		{client.WithProjectID("p-north")},
		{client.WithIAMEndpoint(f.url)},
	} {
		c, err := client.New(append([]client.Option{client.WithEndpoint(f.url), client.WithCredentialsProvider(failing)}, opts...)...)
		require.NoError(t, err)
		_, err = c.InstanceStatus(t.Context())
		var ce *client.CredentialsError
		require.ErrorAs(t, err, &ce)
		assert.True(t, errors.Is(err, client.ErrNoCredentials))
		assert.Equal(t, "no credentials: environment: HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK are not set", err.Error())
	}
	assert.Empty(t, f.seen("/"))
}

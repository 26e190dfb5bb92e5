package client_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/server"
	"github.com/dcskit/dcskit/servertest"
)

// TestREADMEFakeInAGoTest is the README's "The fake in a Go test", word
// for word, so that the README cannot drift from the API.
func TestREADMEFakeInAGoTest(t *testing.T) {
	fake := servertest.New(t, server.Options{AccessKey: "AK", SecretKey: "SK"}) // 127.0.0.1, closed by t.Cleanup
	_, err := fake.Add(
		server.Instance{ProjectID: "my-project", Engine: dcs.Redis, Status: dcs.Running},
		server.Instance{ProjectID: "my-project", Engine: dcs.Memcached, Status: dcs.Creating},
	)
	require.NoError(t, err)
	fake.InjectFault(server.Fault{Status: 503, Times: 1}) // the next request gets a 503

	c, err := client.New(client.WithEndpoint(fake.URL()), client.WithProjectID("my-project"),
		client.WithCredentials("AK", "SK"))
	require.NoError(t, err)
	st, err := c.InstanceStatus(t.Context()) // retried past the 503
	require.NoError(t, err)
	assert.EqualValues(t, 1, st.Count(dcs.Creating))
}

// TestREADMEManyProjects is the README's "Operating many projects", word
// for word.
func TestREADMEManyProjects(t *testing.T) {
	fake := servertest.New(t, server.Options{AccessKey: "AK", SecretKey: "SK", Projects: []server.Project{
		{ID: "p-north", Name: "cn-north-4"}, {ID: "p-south", Name: "ap-southeast-1"},
	}})
	_, err := fake.Add(server.Instance{ProjectID: "p-south", Engine: dcs.Redis, Status: dcs.Running})
	require.NoError(t, err)

	keys := client.WithCredentials("AK", "SK") // or client.WithCredentialsProvider(profile.DefaultChain(os.Getenv))
	iam, err := client.NewIAM(keys, client.WithIAMEndpoint(fake.URL()))
	require.NoError(t, err)
	projects, err := iam.Projects(t.Context())
	require.NoError(t, err)
	running := map[string]int32{}
	for _, p := range projects {
		c, err := client.New(keys, client.WithIAM(iam), client.WithRegion(p.Name),
			client.WithEndpointTemplate(fake.URL())) // or https://dcs.{region}.example
		require.NoError(t, err)
		st, err := c.InstanceStatus(t.Context()) // finds the region's project in IAM
		require.NoError(t, err)
		id, err := c.ProjectID(t.Context()) // found along the way
		require.NoError(t, err)
		running[id] = st.Count(dcs.Running)
	}
	assert.Equal(t, map[string]int32{"p-north": 0, "p-south": 1}, running)
}

// TestREADMEExampleIsThisTest fails when the README's examples and the
// tests above differ, so that one cannot change without the other.
func TestREADMEExampleIsThisTest(t *testing.T) {
	t.Parallel()
	assert.Equal(t, funcBody(t, "../README.md", "TestMyCode"), funcBody(t, "readme_test.go", "TestREADMEFakeInAGoTest"))
	assert.Equal(t, funcBody(t, "../README.md", "TestManyProjects"), funcBody(t, "readme_test.go", "TestREADMEManyProjects"))
}

// funcBody is the body of the test function name in the file at path.
func funcBody(t *testing.T, path, name string) string {
	t.Helper()
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	m := regexp.MustCompile(`(?ms)^func ` + name + `\(t \*testing\.T\) \{\n(.*?)^\}`).FindSubmatch(src)
	require.NotNil(t, m, "func %s not found in %s", name, path)
	return strings.TrimSpace(string(m[1]))
}

// TestREADMEJournal is the README's request journal example, word for
// word.
func TestREADMEJournal(t *testing.T) {
	fake := servertest.New(t, server.Options{AccessKey: "AK", SecretKey: "SK"})
	c, err := client.New(client.WithEndpoint(fake.URL()), client.WithProjectID("my-project"),
		client.WithCredentials("AK", "SK"))
	require.NoError(t, err)
	_, err = c.InstanceStatus(t.Context(), client.IncludeFailure())
	require.NoError(t, err)

	sent := fake.Requests() // oldest first; fake.ClearRequests() empties it
	require.Len(t, sent, 1)
	assert.Equal(t, "include_failure=true", sent[0].RawQuery)
	assert.Equal(t, "AK", sent[0].AccessKey)
	assert.Equal(t, server.AuthOK, sent[0].Auth.Result)
}

func TestREADMEJournalIsThisTest(t *testing.T) {
	t.Parallel()
	assert.Equal(t, funcBody(t, "../README.md", "TestMyCodeAsksForFailures"), funcBody(t, "readme_test.go", "TestREADMEJournal"))
}

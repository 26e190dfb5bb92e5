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

// TestREADMEExampleIsThisTest fails when the README's example and the test
// above differ, so that one cannot change without the other.
func TestREADMEExampleIsThisTest(t *testing.T) {
	t.Parallel()
	assert.Equal(t, funcBody(t, "../README.md", "TestMyCode"), funcBody(t, "readme_test.go", "TestREADMEFakeInAGoTest"))
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

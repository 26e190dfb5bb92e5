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
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	self, err := os.ReadFile("readme_test.go")
	require.NoError(t, err)
	body := func(src []byte, name string) string {
		m := regexp.MustCompile(`(?ms)^func ` + name + `\(t \*testing\.T\) \{\n(.*?)^\}`).FindSubmatch(src)
		require.NotNil(t, m, "func %s not found", name)
		return strings.TrimSpace(string(m[1]))
	}
	assert.Equal(t, body(readme, "TestMyCode"), body(self, "TestREADMEFakeInAGoTest"))
}

package main

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/internal/contract/contracttest"
	"github.com/dcskit/dcskit/server"
)

// Round trip: fake A with random instances, `status -o fixture` against
// it, fake B loaded from the fixture: B answers as A does.
func TestStatusFixtureRoundTrip(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, seed))
	const project = "proj-a"

	a, err := server.New(server.Options{AccessKey: testAK, SecretKey: testSK})
	require.NoError(t, err)
	var insts []server.Instance
	for _, p := range []string{project, "another-project"} {
		for _, e := range dcs.Engines() {
			for _, st := range dcs.Statuses() {
				for range rnd.IntN(4) {
					insts = append(insts, server.Instance{ProjectID: p, Engine: e, Status: st})
				}
			}
		}
	}
	_, err = a.Add(insts...)
	require.NoError(t, err)
	checker := contracttest.New(t)
	srvA := httptest.NewServer(checker.Handler(t, a.Handler()))
	t.Cleanup(srvA.Close)

	r := runCLI(t, nil, credsEnv(), "status", "--endpoint", srvA.URL, "--project-id", project, "-o", "fixture")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "include_failure=true", a.Requests()[0].RawQuery, "failed creations are asked for")

	b, err := server.New(server.Options{})
	require.NoError(t, err)
	require.NoError(t, b.LoadFixture("status -o fixture", strings.NewReader(r.stdout)))
	srvB := httptest.NewServer(checker.Handler(t, b.Handler()))
	t.Cleanup(srvB.Close)

	for _, q := range []string{"", "?include_failure=true", "?include_failure=false"} {
		assert.Equal(t, statusBody(t, srvA.URL, project, q, true), statusBody(t, srvB.URL, project, q, false), "query %q", q)
	}
	assert.Empty(t, b.Instances("another-project"), "only the project asked for")
}

func TestStatusFixtureRefusesWhatNoFixtureHolds(t *testing.T) {
	t.Parallel()
	srv, _ := fakeAPI(t, http.StatusOK, `{"running_count":2000000,"redis":{"running_count":2000000},"memcached":{}}`)
	r := runCLI(t, nil, credsEnv(), "status", "--endpoint", srv.URL, "--project-id", "p", "-o", "fixture")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "redis.running_count: 2000000 is out of a fixture's range 1 to 1000000")
	assert.Empty(t, r.stdout)
}

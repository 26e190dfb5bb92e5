package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
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
	"github.com/dcskit/dcskit/signer"
)

// fuzzMaxInstances keeps a fuzzed fixture from asking for millions of
// instances, which would test the machine's memory, not the loader.
const fuzzMaxInstances = 10_000

// FuzzLoadFixture: any input either loads, leaving a store whose counts
// match its instances, or is a *FixtureError that changes nothing. Seeds
// live in testdata/fuzz/FuzzLoadFixture.
func FuzzLoadFixture(f *testing.F) {
	// One server, reset for every input: New parses the OpenAPI documents,
	// which would make each run a hundred times slower. Its clock stands
	// still, so that no scheduled status change ("becomes") falls due
	// between the listing and the counts compared below.
	s, err := server.New(server.Options{Clock: server.NewManualClock(time.Unix(0, 0))})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, data []byte) {
		if tooMany(data) {
			t.Skip("too many instances for a fuzz run")
		}
		s.Reset()
		before, err := s.Add(server.Instance{ProjectID: "before", Engine: dcs.Redis, Status: dcs.Running})
		require.NoError(t, err)

		if err := s.LoadFixture("fuzz", bytes.NewReader(data)); err != nil {
			var fe *server.FixtureError
			require.True(t, errors.As(err, &fe), "%T: %v", err, err)
			assert.Equal(t, "fuzz", fe.File)
			assert.Equal(t, before, s.Instances(""), "a bad fixture changes nothing")
			return
		}
		assertCountsMatchInstances(t, s)
	})
}

// tooMany reports whether data's counts add up to more than
// fuzzMaxInstances, as far as a loose reading can tell.
func tooMany(data []byte) bool {
	var doc struct {
		Instances []struct {
			Count *float64 `json:"count"`
		} `json:"instances"`
	}
	if json.Unmarshal(data, &doc) != nil {
		return false // the strict loader rejects it too
	}
	total := 0.0
	for _, e := range doc.Instances {
		if e.Count != nil && *e.Count > 0 {
			total += *e.Count
		} else {
			total++
		}
	}
	return total > fuzzMaxInstances
}

// assertCountsMatchInstances recounts the store from its instances and
// compares with what the API would answer, for every project.
func assertCountsMatchInstances(t *testing.T, s *server.Server) {
	t.Helper()
	want := map[string]*dcs.Counts{}
	for _, in := range s.Instances("") {
		c := want[in.ProjectID]
		if c == nil {
			c = &dcs.Counts{}
			want[in.ProjectID] = c
		}
		require.NotEmpty(t, in.Engine.Key(), "instance %+v", in)
		require.NotEmpty(t, in.Status.Counter(), "instance %+v", in)
		c.Add(in.Engine, in.Status, 1)
	}
	for project, c := range want {
		assert.Equal(t, *c, s.Counts(project, true), "project %q", project)
	}
}

// fuzzKey is the fake's AK/SK in FuzzRequestPath.
const fuzzAK, fuzzSK = "FUZZACCESSKEY", "fuzz-secret-key"

// FuzzRequestPath sends any project_id and include_failure, as raw bytes
// on the request line, through the full handler with every check on. What
// net/http cannot parse never reaches the handler (the hostile-input test
// covers those); everything else must get an answer that the spec allows,
// never a 500. Seeds live in testdata/fuzz/FuzzRequestPath.
func FuzzRequestPath(f *testing.F) {
	s, err := server.New(server.Options{AccessKey: fuzzAK, SecretKey: fuzzSK})
	require.NoError(f, err)
	require.NoError(f, s.LoadFixtureFile(fixtureFile))
	h := s.Handler()
	check := contracttest.New(f)
	now := time.Now()
	f.Fuzz(func(t *testing.T, projectID, includeFailure string, sign bool) {
		line := "GET /v2/" + projectID + "/instances/status?include_failure=" + includeFailure + " HTTP/1.1\r\nHost: dcs.test\r\n\r\n"
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(line)))
		if err != nil {
			t.Skip("net/http rejects it before any handler")
		}
		if sign {
			req.Header.Set(signer.HeaderProjectID, "fuzz")
			if err := signer.Sign(req, nil, signer.Credentials{AccessKey: fuzzAK, SecretKey: fuzzSK}, now); err != nil {
				require.ErrorIs(t, err, signer.ErrMalformed)
			}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.NotEqual(t, http.StatusInternalServerError, rec.Code, "body: %s", rec.Body)
		require.NoError(t, check.CheckResponse(t.Context(), req, rec.Code, rec.Header(), rec.Body.Bytes()), "body: %s", rec.Body)
		if !sign {
			assert.Contains(t, []int{http.StatusUnauthorized, http.StatusBadRequest, http.StatusNotFound}, rec.Code, "body: %s", rec.Body)
		}
	})
}

package server_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen"
	"github.com/dcskit/dcskit/server"
)

// TestBurstOfDueChanges: 100,000 instances with a chain of 99 changes all
// fall due at once. Each instance moves once, straight to its last
// status, and in batches: a query made between two batches is answered
// at once, validated against the spec, with counts that add up to the
// 100,000 instances while the catch-up is still under way.
func TestBurstOfDueChanges(t *testing.T) {
	t.Parallel()
	const n = 100_000
	clock := server.NewManualClock(epoch)
	log := &syncWriter{w: &bytes.Buffer{}}
	s, err := server.New(server.Options{Clock: clock, Logger: slog.New(slog.NewTextHandler(log, nil))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Shutdown(t.Context()) })
	h := checker(t).Handler(t, s.Handler())

	// After 1s the first change, then 98 more at once: all due together.
	chain := &server.Transition{Status: dcs.Running, After: time.Second}
	final := chain
	for i := range 98 {
		final.Then = &server.Transition{Status: dcs.Statuses()[i%dcs.NumStatuses]}
		final = final.Then
	}
	insts := make([]server.Instance, n)
	for i := range insts {
		insts[i] = server.Instance{ProjectID: "p", ID: "i" + strconv.Itoa(i), Engine: dcs.Redis, Status: dcs.Creating, Becomes: chain}
	}
	_, err = s.Add(insts...)
	require.NoError(t, err)

	query := func() dcs.Counts {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, statusPath("p")+"?include_failure=true", nil))
		require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
		var out gen.InstanceStatusCounts
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
		return dcs.FromAPI(out)
	}

	// The fake's timer was armed first, so this one, due at the same
	// time, runs after its first batch and before the next.
	var during dcs.Counts
	clock.AfterFunc(time.Second, func() { during = query() })
	clock.Advance(time.Second)

	assert.EqualValues(t, n, during.Total.Total(), "every instance counted once, mid-way")
	assert.Positive(t, during.Total.Get(dcs.Creating), "the query did not wait for the whole burst")
	assert.Positive(t, during.Total.Get(final.Status), "it saw the batches made before it")

	after := query()
	assert.EqualValues(t, n, after.Total.Get(final.Status))
	assert.EqualValues(t, n, after.Total.Total())

	// One update per instance, in batches of at most 1,000.
	moved, batches := 0, 0
	for _, m := range regexp.MustCompile(`scheduled status changes made" instances=(\d+)`).FindAllStringSubmatch(log.String(), -1) {
		k, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		assert.LessOrEqual(t, k, 1000)
		moved += k
		batches++
	}
	assert.Equal(t, n, moved, "each instance moved once, not once per change")
	assert.GreaterOrEqual(t, batches, n/1000)
}

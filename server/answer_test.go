package server_test

import (
	"math"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen/dcsserver"
	"github.com/dcskit/dcskit/server"
)

// The fake writes its 200 answer with the generated dcs.Counts.AppendJSON;
// the bytes must be those of
// the generated response, which writes with encoding/json.
func TestCountsAnswerIsTheGeneratedOne(t *testing.T) {
	t.Parallel()
	var varied dcs.Counts
	for i := range dcs.NumStatuses {
		varied.Total[i] = int32(i * 1000)
		varied.Redis[i] = int32(i)
		varied.Memcached[i] = math.MaxInt32 - int32(i)
	}
	for _, c := range []dcs.Counts{{}, varied} {
		want := httptest.NewRecorder()
		require.NoError(t, dcsserver.ListNumberOfInstancesInDifferentStatus200JSONResponse(c.API()).VisitListNumberOfInstancesInDifferentStatusResponse(want))
		got := httptest.NewRecorder()
		require.NoError(t, server.CountsAnswer(got, c))
		assert.Equal(t, want.Code, got.Code)
		assert.Equal(t, want.Header(), got.Header())
		assert.Equal(t, want.Body.String(), got.Body.String())
	}
}

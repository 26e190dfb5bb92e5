package server

import (
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen"
)

// The hand-written encoder must write exactly what the generated response
// type writes, headers and status included.
func TestCountsAnswerMatchesGenerated(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	cases := []dcs.Counts{{}}
	var extremes dcs.Counts
	for i := range extremes.Total {
		extremes.Total[i], extremes.Redis[i], extremes.Memcached[i] = math.MaxInt32, math.MinInt32, int32(i)
	}
	cases = append(cases, extremes)
	for range 100 {
		var c dcs.Counts
		for i := range c.Total {
			c.Total[i], c.Redis[i], c.Memcached[i] = r.Int32N(1e6), r.Int32(), -r.Int32N(100)
		}
		cases = append(cases, c)
	}
	for _, c := range cases {
		want := httptest.NewRecorder()
		require.NoError(t, gen.ListNumberOfInstancesInDifferentStatus200JSONResponse(c.API()).VisitListNumberOfInstancesInDifferentStatusResponse(want))
		got := httptest.NewRecorder()
		require.NoError(t, countsAnswer(c).VisitListNumberOfInstancesInDifferentStatusResponse(got))
		assert.Equal(t, want.Code, got.Code)
		assert.Equal(t, want.Header(), got.Header())
		assert.Equal(t, want.Body.String(), got.Body.String())
	}
}

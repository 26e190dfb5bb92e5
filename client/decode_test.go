package client

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen"
)

// FuzzDecodeCounts holds the hand-written decoder to encoding/json:
// whatever it accepts, encoding/json accepts with the same counts, and
// decodeCounts errs exactly when encoding/json does. Seeds live in
// testdata/fuzz/FuzzDecodeCounts.
func FuzzDecodeCounts(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		var in gen.InstanceStatusCounts
		jsonErr := json.Unmarshal(body, &in)
		if fast, ok := fastCounts(body); ok {
			require.NoError(t, jsonErr, "the fast path accepted what encoding/json rejects")
			assert.Equal(t, dcs.FromAPI(in), fast)
		}
		got, err := decodeCounts(body)
		if jsonErr != nil {
			require.Error(t, err)
			return
		}
		require.NoError(t, err)
		assert.Equal(t, dcs.FromAPI(in), got)
	})
}

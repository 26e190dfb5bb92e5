package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen"
)

// FuzzDecodeCounts holds decodeCounts to encoding/json and the spec. It
// may be stricter than encoding/json (a name given twice, a name in
// another case, invalid UTF-8), never laxer:
//   - what it accepts, encoding/json accepts, and every counter is what
//     the body holds under its exact name (0 when absent or null), never
//     negative;
//   - what is not JSON at all, it refuses.
//
// Seeds live in testdata/fuzz/FuzzDecodeCounts.
func FuzzDecodeCounts(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := decodeCounts(body)
		var typed gen.InstanceStatusCounts
		jsonErr := json.Unmarshal(body, &typed)
		if _, ok := errors.AsType[*json.SyntaxError](jsonErr); ok {
			require.NotNil(t, err, "not JSON, yet accepted")
		}
		if err != nil {
			assert.NotEmpty(t, err.Error())
			return
		}
		require.NoError(t, jsonErr, "accepted what encoding/json refuses")
		var raw map[string]any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		require.NoError(t, dec.Decode(&raw))
		check := func(where string, m map[string]any, c dcs.Counters) {
			for i, s := range dcs.Statuses() {
				want := int64(0)
				if n, ok := m[s.Counter()].(json.Number); ok {
					var nerr error
					want, nerr = n.Int64()
					require.NoError(t, nerr)
				}
				assert.Equal(t, want, int64(c[i]), "%s%s", where, s.Counter())
				assert.GreaterOrEqual(t, c[i], int32(0))
			}
		}
		check("", raw, got.Total)
		for _, e := range dcs.Engines() {
			m, _ := raw[e.Key()].(map[string]any)
			check(e.Key()+".", m, got.Engine(e))
		}
	})
}

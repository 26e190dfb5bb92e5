package client

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/gen"
)

// The URLs built once in New must be those the generated builder makes.
func TestStatusURLMatchesGenerated(t *testing.T) {
	t.Parallel()
	for _, projectID := range []string{"0a1b2c3d4e5f", "proj id:ä~(1)/x"} {
		c, err := New(WithEndpoint("https://dcs.example.com/prefix"), WithProjectID(projectID), WithCredentials("AK", "SK"))
		require.NoError(t, err)
		for _, v := range []*string{nil, ptr("true"), ptr("false"), ptr("a b&c=d")} {
			params := gen.ListNumberOfInstancesInDifferentStatusParams{IncludeFailure: v}
			req, err := gen.NewListNumberOfInstancesInDifferentStatusRequest(c.endpoint, projectID, &params)
			require.NoError(t, err)
			got, err := c.statusURL(params)
			require.NoError(t, err)
			assert.Equal(t, req.URL.String(), got)
		}
	}
}

func ptr[T any](v T) *T { return &v }

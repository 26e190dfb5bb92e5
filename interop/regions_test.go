package interop_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	dcsregion "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/dcs/v2/region"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The regions that dcskit offers to complete --region are the SDK's for
// DCS, each with the endpoint that dcskit derives from its name. The SDK
// lists them only in the error for a region it does not know.
func TestRegionsAreTheSDKs(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../cmd/dcskit/regions.txt")
	require.NoError(t, err)
	var ours []string
	for line := range strings.Lines(string(data)) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			ours = append(ours, line)
		}
	}

	_, err = dcsregion.SafeValueOf("dcskit-no-such-region")
	require.Error(t, err)
	m := regexp.MustCompile(`supported regions of service 'DCS': \[([^\]]*)\]`).FindStringSubmatch(err.Error())
	require.NotNil(t, m, "the SDK no longer lists its regions this way: %v", err)
	sdk := strings.Split(m[1], ", ")
	slices.Sort(sdk)
	assert.Equal(t, sdk, ours, "cmd/dcskit/regions.txt should list, after its comment:\n%s", strings.Join(sdk, "\n"))

	for _, id := range ours {
		r, err := dcsregion.SafeValueOf(id)
		require.NoError(t, err, id)
		assert.Equal(t, []string{"https://dcs." + id + ".myhuaweicloud.com"}, r.Endpoints, "the endpoint dcskit derives for %s", id)
	}
}

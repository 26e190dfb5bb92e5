package openapi_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/openapi"
)

func TestLoadIAMValidates(t *testing.T) {
	t.Parallel()
	doc, err := openapi.LoadIAM(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "3.0.3", doc.OpenAPI)
	for path, ops := range map[string]string{"/v3/projects": "KeystoneListProjects", "/v3/auth/projects": "KeystoneListAuthProjects"} {
		item := doc.Paths.Value(path)
		require.NotNil(t, item, path)
		require.NotNil(t, item.Get, path)
		assert.Equal(t, ops, item.Get.OperationID)
	}
}

// The fake writes every error alike, IAM's included: iam.yaml's error
// bodies are dcs.yaml's.
func TestIAMErrorBodiesAreDCSs(t *testing.T) {
	t.Parallel()
	doc, err := openapi.LoadIAM(context.Background())
	require.NoError(t, err)
	for _, name := range []string{"ErrorResponse", "GatewayErrorResponse"} {
		got := jsonValue(t, schema(t, doc, name).Properties)
		want := jsonValue(t, schema(t, loadDoc(t), name).Properties)
		stripDescriptions(got)
		stripDescriptions(want)
		assert.Equal(t, want, got, name)
	}
}

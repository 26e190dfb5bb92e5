package openapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/openapi"
)

func TestLoadAdminValidates(t *testing.T) {
	t.Parallel()
	doc, err := openapi.LoadAdmin(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "3.0.3", doc.OpenAPI)
	require.Len(t, doc.Servers, 1, "where dcskit serve listens by default")
	assert.Equal(t, "http://{host}:{port}", doc.Servers[0].URL)
	assert.Empty(t, doc.Security, "the admin API takes no credentials")
	for path := range doc.Paths.Map() {
		assert.True(t, strings.HasPrefix(path, "/_fake/"), path)
	}
	other, err := openapi.LoadAdmin(context.Background())
	require.NoError(t, err)
	assert.NotSame(t, doc, other, "each call returns its own document")
}

// The fake writes every error alike, so both documents must describe the
// same body.
func TestAdminErrorResponseIsDCSs(t *testing.T) {
	t.Parallel()
	doc, err := openapi.LoadAdmin(context.Background())
	require.NoError(t, err)
	got := jsonValue(t, schema(t, doc, "ErrorResponse").Properties)
	want := jsonValue(t, schema(t, loadDoc(t), "ErrorResponse").Properties)
	stripDescriptions(got)
	stripDescriptions(want)
	assert.Equal(t, want, got)
}

func stripDescriptions(v any) {
	if m, ok := v.(map[string]any); ok {
		delete(m, "description")
		for _, c := range m {
			stripDescriptions(c)
		}
	}
}

// admin.yaml lists no status or engine: LoadAdmin takes them from the
// DCS document, by way of the generated package dcs.
func TestAdminEnumsComeFromDCS(t *testing.T) {
	t.Parallel()
	doc, err := openapi.LoadAdmin(context.Background())
	require.NoError(t, err)
	var statuses, engines []any
	for _, s := range dcs.Statuses() {
		statuses = append(statuses, string(s))
	}
	for _, e := range dcs.Engines() {
		engines = append(engines, string(e))
	}
	assert.Equal(t, statuses, schema(t, doc, "Status").Enum)
	assert.Equal(t, engines, schema(t, doc, "Engine").Enum)
	assert.NotContains(t, string(openapi.Admin), "RESTARTING", "the raw document names no status")
	assert.Error(t, schema(t, doc, "Status").VisitJSON("DELETED"))
	assert.NoError(t, schema(t, doc, "Status").VisitJSON("RESTARTING"))
}

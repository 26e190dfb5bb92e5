package client_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/server"
	"github.com/dcskit/dcskit/signer"
)

func TestRawInstanceStatusSendsWhatItIsTold(t *testing.T) {
	t.Parallel()
	srv := fake(t, server.Options{AccessKey: testAK, SecretKey: testSK})
	c, attempts := fakeClient(t, srv, signed)
	for _, v := range []*string{nil, new("true"), new("false"), new("yes please")} {
		resp, body, err := c.RawInstanceStatus(t.Context(), v, nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, string(body), `"running_count":2`)
	}
	var queries []string
	for _, rr := range srv.Requests() {
		queries = append(queries, rr.RawQuery)
		assert.Equal(t, server.AuthOK, rr.Auth.Result)
	}
	assert.Equal(t, []string{"", "include_failure=true", "include_failure=false", "include_failure=yes+please"}, queries)
	assert.EqualValues(t, 4, attempts.Load())
}

// An answer that is no Status is still an answer: no error, no retry.
func TestRawInstanceStatusNeitherJudgesNorRetries(t *testing.T) {
	t.Parallel()
	srv := fake(t, server.Options{AccessKey: testAK, SecretKey: testSK})
	srv.InjectFault(server.Fault{Status: http.StatusServiceUnavailable})
	c, attempts := fakeClient(t, srv, signed)
	resp, body, err := c.RawInstanceStatus(t.Context(), nil, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Contains(t, string(body), "111503000")
	assert.EqualValues(t, 1, attempts.Load())

	negative := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"running_count":-1}`))
	}))
	t.Cleanup(negative.Close)
	c, err = client.New(client.WithEndpoint(negative.URL), client.WithProjectID(testProject), signed)
	require.NoError(t, err)
	_, err = c.InstanceStatus(t.Context())
	require.Error(t, err, "the client refuses a negative counter")
	_, body, err = c.RawInstanceStatus(t.Context(), nil, nil)
	require.NoError(t, err, "the raw call returns it")
	assert.JSONEq(t, `{"running_count":-1}`, string(body))
}

// edit sees the request as authenticated, and what it does is sent.
func TestRawInstanceStatusEditsAfterSigning(t *testing.T) {
	t.Parallel()
	srv := fake(t, server.Options{AccessKey: testAK, SecretKey: testSK})
	c, _ := fakeClient(t, srv, signed)
	var seen string
	resp, _, err := c.RawInstanceStatus(t.Context(), nil, func(r *http.Request) {
		seen = r.Header.Get(signer.HeaderAuthorization)
		r.URL.RawQuery = "include_failure=true"
	})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(seen, signer.Algorithm+" Access="+testAK), seen)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the signature covers the query")
	assert.Equal(t, server.AuthRejected, srv.Requests()[0].Auth.Result)
}

func TestRawInstanceStatusBodyLimit(t *testing.T) {
	t.Parallel()
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(strings.Repeat(" ", client.MaxBodySize+10)))
	}))
	t.Cleanup(huge.Close)
	c, err := client.New(client.WithEndpoint(huge.URL), client.WithProjectID(testProject), signed)
	require.NoError(t, err)
	resp, body, err := c.RawInstanceStatus(t.Context(), nil, nil)
	require.ErrorIs(t, err, client.ErrResponseTooLarge)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Len(t, body, client.MaxBodySize)
}

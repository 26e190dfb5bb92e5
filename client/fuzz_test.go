package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/client"
)

// FuzzResponse feeds the client whatever a server or a proxy might send:
// any status, Content-Type, X-Request-Id and body. It must not panic; a
// non-2xx is always an *APIError with that status, and a 2xx is a Status
// or an error, never both. Seeds live in testdata/fuzz/FuzzResponse.
func FuzzResponse(f *testing.F) {
	f.Fuzz(func(t *testing.T, status int, contentType, requestID string, body []byte) {
		if status < 100 || status > 999 {
			t.Skip("net/http reads only three-digit statuses")
		}
		rt := roundTripFunc(func(req *http.Request) (*http.Response, error) {
			return &http.Response{
				StatusCode: status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header:        http.Header{"Content-Type": {contentType}, "X-Request-Id": {requestID}},
				Body:          io.NopCloser(bytes.NewReader(body)),
				ContentLength: int64(len(body)),
				Request:       req,
			}, nil
		})
		c, err := client.New(
			client.WithEndpoint("http://dcs.test"),
			client.WithProjectID(testProject),
			signed,
			client.WithHTTPClient(&http.Client{Transport: rt}),
			once,
		)
		require.NoError(t, err)
		s, err := c.InstanceStatus(context.Background(), client.IncludeFailure())
		if status < 200 || status > 299 {
			var apiErr *client.APIError
			require.True(t, errors.As(err, &apiErr), "HTTP %d gave %T %v", status, err, err)
			assert.Equal(t, status, apiErr.StatusCode)
			assert.NotEmpty(t, apiErr.Error())
			return
		}
		if err != nil {
			assert.Equal(t, client.Status{}, s, "an error comes with no Status")
			return
		}
		assert.Equal(t, requestID, s.RequestID)
	})
}

package interop_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	dcs "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/dcs/v2"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/dcs/v2/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/signer"
)

// TestDCSClientEndToEnd sends ListNumberOfInstancesInDifferentStatus with the
// SDK's own DCS client to a local server. The server checks the request with
// our Verifier, and our signer must produce the Authorization header the
// server received.
func TestDCSClientEndToEnd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		projectID      string
		includeFailure *string
		token          string
	}{
		{name: "no query", projectID: projectID},
		{name: "escaping and a security token", projectID: "proj id:ä~", includeFailure: new("a b+ä/x=y&z~"), token: token},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got *http.Request
			var verifyErr error
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				got, verifyErr = r, verifier().Verify(r, body)
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("X-Request-Id", "req-1")
				_, _ = io.WriteString(w, `{"running_count": 1}`)
			}))
			t.Cleanup(srv.Close)

			creds := basic.NewCredentialsBuilder().WithAk(ak).WithSk(sk).WithProjectId(tt.projectID)
			if tt.token != "" {
				creds = creds.WithSecurityToken(tt.token)
			}
			cred, err := creds.SafeBuild()
			require.NoError(t, err)
			hc, err := dcs.DcsClientBuilder().
				WithEndpoints([]string{srv.URL}).
				WithCredential(cred).
				WithHttpConfig(config.DefaultHttpConfig().WithUserAgent("dcskit-interop")).
				SafeBuild()
			require.NoError(t, err)
			hc.WithExtraHeaders(map[string]string{signer.HeaderDate: signedAt.Format(signer.DateFormat)})

			resp, err := dcs.NewDcsClient(hc).ListNumberOfInstancesInDifferentStatus(
				&model.ListNumberOfInstancesInDifferentStatusRequest{IncludeFailure: tt.includeFailure})
			require.NoError(t, err)
			require.NotNil(t, got)
			assert.EqualValues(t, 1, *resp.RunningCount)
			assert.NoError(t, verifyErr, "our Verifier accepts the SDK's request")

			call := statusCall(nil)
			call.projectID, call.token = tt.projectID, tt.token
			if tt.includeFailure != nil {
				call.query = query{{"include_failure", []string{*tt.includeFailure}}}
			}
			ours := ourSignedRequest(t, call, nil)
			ours.Header.Set("User-Agent", got.Header.Get("User-Agent"))
			require.NoError(t, signer.Sign(ours, nil, signer.Credentials{AccessKey: ak, SecretKey: sk, SecurityToken: tt.token}, signedAt))
			assert.Equal(t, got.Header.Get(signer.HeaderAuthorization), ours.Header.Get(signer.HeaderAuthorization))
		})
	}
}

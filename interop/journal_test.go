package interop_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/dcs/v2/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/internal/contract/contracttest"
	"github.com/dcskit/dcskit/proxy"
	"github.com/dcskit/dcskit/server"
	"github.com/dcskit/dcskit/servertest"
	"github.com/dcskit/dcskit/signer"
)

// recorder keeps the Authorization headers the SDK sends.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	auth []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.auth = append(r.auth, req.Header.Get(signer.HeaderAuthorization))
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

// The SDK reads the fake's answer to a wrong secret key as the gateway's,
// and the canonical request the fake journals for it is the one the SDK
// signed: the SDK's signature is the HMAC, with the key it used, of the
// fake's string to sign, and that string hashes the fake's canonical
// request.
func TestJournalCanonicalRequestIsTheSDKs(t *testing.T) {
	t.Parallel()
	fake := servertest.New(t, server.Options{AccessKey: ak, SecretKey: sk})
	require.NoError(t, fake.LoadFixtureFile(fakeFixture))
	const wrongSK = "not-the-" + sk
	rec := &recorder{next: contracttest.New(t).Transport(t, nil)}

	_, err := sdkClientVia(t, fake.URL(), wrongSK, rec).ListNumberOfInstancesInDifferentStatus(
		&model.ListNumberOfInstancesInDifferentStatusRequest{IncludeFailure: new("a b~ä")})
	se, ok := errors.AsType[*sdkerr.ServiceResponseError](err)
	require.True(t, ok, "%T: %v", err, err)
	assert.Equal(t, http.StatusUnauthorized, se.StatusCode)
	assert.Equal(t, "APIGW.0301", se.ErrorCode)
	assert.Contains(t, se.ErrorMessage, "Incorrect IAM authentication information")
	assert.Len(t, se.RequestId, 32, "the SDK reads X-Request-Id")

	got := fake.Requests()
	require.Len(t, got, 1)
	entry := got[0]
	assert.Equal(t, server.AuthRejected, entry.Auth.Result)
	require.NotEmpty(t, entry.Auth.CanonicalRequest)

	sdkAuth, err := signer.ParseAuthorization(rec.auth[0])
	require.NoError(t, err)
	mac := hmac.New(sha256.New, []byte(wrongSK))
	mac.Write([]byte(entry.Auth.StringToSign))
	assert.Equal(t, sdkAuth.Signature, hex.EncodeToString(mac.Sum(nil)), "the SDK signed the fake's string to sign")
	sum := sha256.Sum256([]byte(entry.Auth.CanonicalRequest))
	assert.True(t, strings.HasSuffix(entry.Auth.StringToSign, "\n"+hex.EncodeToString(sum[:])), "which hashes the journal's canonical request")
	assert.Equal(t, sdkAuth.SignedHeaders, entry.SignedHeaders)
	assert.Equal(t, ak, entry.AccessKey)
	assert.Contains(t, entry.Auth.CanonicalRequest, "\ninclude_failure=a%20b~%C3%A4\n")
}

// The SDK through dcskit proxy: the signature survives the change of
// host, and the proxy finds nothing wrong on either side.
func TestSDKThroughTheProxy(t *testing.T) {
	t.Parallel()
	fake := servertest.New(t, server.Options{AccessKey: ak, SecretKey: sk})
	require.NoError(t, fake.LoadFixtureFile(fakeFixture))
	p, err := proxy.New(proxy.Options{Upstream: fake.URL()})
	require.NoError(t, err)
	ps := httptest.NewServer(p)
	t.Cleanup(ps.Close)

	resp, err := sdkClient(t, ps.URL, sk).ListNumberOfInstancesInDifferentStatus(
		&model.ListNumberOfInstancesInDifferentStatusRequest{IncludeFailure: new("true")})
	require.NoError(t, err)
	assert.EqualValues(t, 44, *resp.CreatefailedCount)

	_, err = sdkClient(t, ps.URL, "not-the-"+sk).ListNumberOfInstancesInDifferentStatus(
		&model.ListNumberOfInstancesInDifferentStatusRequest{})
	require.Error(t, err)

	var results []server.AuthResult
	for _, rr := range fake.Requests() {
		results = append(results, rr.Auth.Result)
	}
	assert.Equal(t, []server.AuthResult{server.AuthOK, server.AuthRejected}, results)
	assert.Equal(t, proxy.Summary{Requests: 2}, p.Summary())
}

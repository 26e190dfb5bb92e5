package signer_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/signer"
)

const (
	testAK    = "HPUATESTACCESSKEY001"
	testSK    = "test-secret-key-0123456789abcdefghijklmn"
	testToken = "test-security-token-ZYXWVUTSRQ"
	otherAK   = "HPUAOTHERACCESSKEY02"
	otherSK   = "other-secret-key-zyxwvutsrqponmlkjihgfe"
	statusURL = "https://dcs.cn-north-4.myhuaweicloud.com/v2/0a1b2c3d4e5f/instances/status?include_failure=true"
	// The SDK's header for a body that is not hashed, and its value.
	headerContentSHA256 = "X-Sdk-Content-Sha256"
	unsignedPayload     = "UNSIGNED-PAYLOAD"
)

var t0 = time.Date(2024, 3, 5, 6, 7, 8, 0, time.UTC)

func testCred() signer.Credentials {
	return signer.Credentials{AccessKey: testAK, SecretKey: testSK}
}

// testVerifier knows testAK and otherAK and believes it is t0.
func testVerifier() *signer.Verifier {
	keys := map[string]string{testAK: testSK, otherAK: otherSK}
	return &signer.Verifier{
		SecretKey: func(ak string) (string, bool) { sk, ok := keys[ak]; return sk, ok },
		Now:       func() time.Time { return t0 },
	}
}

// newRequest builds the kind of request our client sends to the status API.
func newRequest(t testing.TB, method, url string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("User-Agent", "dcskit-test")
	req.Header.Set(signer.HeaderProjectID, "0a1b2c3d4e5f")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// signedRequest returns a client request signed with testCred at t0.
func signedRequest(t testing.TB, method, url string, body []byte) *http.Request {
	t.Helper()
	req := newRequest(t, method, url, body)
	require.NoError(t, signer.Sign(req, body, testCred(), t0))
	return req
}

// toServer sends req through HTTP/1.1 serialisation and returns the request
// as a server handler would see it, with the body it read.
func toServer(t testing.TB, req *http.Request) (*http.Request, []byte) {
	t.Helper()
	var wire bytes.Buffer
	require.NoError(t, req.Write(&wire))
	sreq, err := http.ReadRequest(bufio.NewReader(&wire))
	require.NoError(t, err)
	body, err := io.ReadAll(sreq.Body)
	require.NoError(t, err)
	return sreq, body
}

package signer_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/signer"
)

func hmacHex(key, text string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(text))
	return hex.EncodeToString(m.Sum(nil))
}

func sha256Hex(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}

// A wrong secret key: the verifier tells what it computed, and the client
// signed the very same string, only with another key.
func TestVerify_MismatchTellsWhatItComputed(t *testing.T) {
	t.Parallel()
	req := newRequest(t, http.MethodGet, statusURL, nil)
	require.NoError(t, signer.Sign(req, nil, signer.Credentials{AccessKey: testAK, SecretKey: otherSK}, t0))
	sreq, body := toServer(t, req)

	err := testVerifier().Verify(sreq, body)
	require.ErrorIs(t, err, signer.ErrSignatureMismatch)
	var me *signer.MismatchError
	require.True(t, errors.As(err, &me), "%T", err)

	assert.Equal(t, "GET\n/v2/0a1b2c3d4e5f/instances/status/\ninclude_failure=true\n"+
		"user-agent:dcskit-test\nx-project-id:0a1b2c3d4e5f\nx-sdk-date:20240305T060708Z\n\n"+
		"user-agent;x-project-id;x-sdk-date\n"+
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", me.CanonicalRequest)
	assert.Equal(t, "SDK-HMAC-SHA256\n20240305T060708Z\n"+sha256Hex(me.CanonicalRequest), me.StringToSign)

	auth, perr := signer.ParseAuthorization(req.Header.Get(signer.HeaderAuthorization))
	require.NoError(t, perr)
	assert.Equal(t, auth.Signature, hmacHex(otherSK, me.StringToSign), "the client signed this string")
	assert.Equal(t, signer.ExpectedSignature(sreq, body, testSK), hmacHex(testSK, me.StringToSign), "and the verifier expected it signed with its key")

	assert.Equal(t, "signature mismatch", err.Error(), "short: it goes into answers and logs")
	assertNoSecrets(t, me.CanonicalRequest+me.StringToSign, signer.ExpectedSignature(sreq, body, testSK))
}

// A tampered request: the canonical request is the one the server saw.
func TestVerify_MismatchShowsTheRequestAsReceived(t *testing.T) {
	t.Parallel()
	sreq, body := toServer(t, signedRequest(t, http.MethodGet, statusURL, nil))
	sreq.URL.RawQuery = "include_failure=false"

	var me *signer.MismatchError
	require.True(t, errors.As(testVerifier().Verify(sreq, body), &me))
	assert.Contains(t, me.CanonicalRequest, "\ninclude_failure=false\n")
}

// Credential headers are signed, but their values never show.
func TestVerify_MismatchRedactsCredentialHeaders(t *testing.T) {
	t.Parallel()
	req := newRequest(t, http.MethodGet, statusURL, nil)
	req.Header.Set("X-Auth-Token", "an-iam-token-that-is-signed")
	cred := signer.Credentials{AccessKey: testAK, SecretKey: otherSK, SecurityToken: testToken}
	require.NoError(t, signer.Sign(req, nil, cred, t0))
	require.Contains(t, req.Header.Get(signer.HeaderAuthorization), "x-auth-token;")
	sreq, body := toServer(t, req)

	var me *signer.MismatchError
	require.True(t, errors.As(testVerifier().Verify(sreq, body), &me))
	assert.Contains(t, me.CanonicalRequest, "\nx-auth-token:"+signer.RedactedValue+"\n")
	assert.Contains(t, me.CanonicalRequest, "\nx-security-token:"+signer.RedactedValue+"\n")
	assertNoSecrets(t, me.CanonicalRequest+me.StringToSign, "an-iam-token-that-is-signed")
	// The string to sign still covers the real values: the client's
	// signature is the HMAC of it.
	auth, err := signer.ParseAuthorization(req.Header.Get(signer.HeaderAuthorization))
	require.NoError(t, err)
	assert.Equal(t, auth.Signature, hmacHex(otherSK, me.StringToSign))
	assert.NotEqual(t, sha256Hex(me.CanonicalRequest), me.StringToSign[strings.LastIndexByte(me.StringToSign, '\n')+1:])
}

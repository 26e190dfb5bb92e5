package signer_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/signer"
)

// FuzzVerify gives the verifier what an attacker controls: the
// Authorization header, X-Sdk-Date, a signed-looking extra header and the
// request target. It must not panic, must fail with one of the package's
// errors, and must never accept a request it did not see signed. Seeds
// live in testdata/fuzz/FuzzVerify.
func FuzzVerify(f *testing.F) {
	f.Fuzz(func(t *testing.T, authorization, date, extra, target string) {
		req := signedRequest(t, "GET", statusURL, nil)
		req.Header.Set(signer.HeaderAuthorization, authorization)
		req.Header.Set(signer.HeaderDate, date)
		if extra != "" {
			req.Header.Set("X-Extra", extra)
		}
		if target != "" {
			req.URL.RawQuery = target
		}
		err := testVerifier().Verify(req, nil)
		if err == nil {
			// Only a correct signature of exactly this request passes;
			// the fuzzer may rebuild one from a seed, never forge one.
			require.Equal(t, signer.ExpectedSignature(req, nil, testSK), signatureOf(t, authorization))
			return
		}
		assert.True(t, isPackageError(err), "%T: %v", err, err)
		assert.NotContains(t, err.Error(), testSK)
		if want := signer.ExpectedSignature(req, nil, testSK); want != "" {
			assert.NotContains(t, err.Error(), want)
		}
	})
}

func signatureOf(t *testing.T, authorization string) string {
	a, err := signer.ParseAuthorization(authorization)
	require.NoError(t, err)
	return a.Signature
}

func isPackageError(err error) bool {
	for _, e := range []error{signer.ErrMissing, signer.ErrMalformed, signer.ErrUnknownKey, signer.ErrDateSkew, signer.ErrSignatureMismatch} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

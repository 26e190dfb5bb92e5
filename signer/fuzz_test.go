package signer_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/signer"
)

// Seeds live in testdata/fuzz/FuzzParseAuthorization.
func FuzzParseAuthorization(f *testing.F) {
	f.Fuzz(func(t *testing.T, h string) {
		a, err := signer.ParseAuthorization(h)
		if err != nil {
			require.ErrorIs(t, err, signer.ErrMalformed)
			return
		}
		// Whatever parses formats to the SDK's form, which parses back.
		again, err := signer.ParseAuthorization(a.String())
		require.NoError(t, err)
		assert.Equal(t, a, again)
		assert.NotEmpty(t, a.SignedHeaders)
		assert.Len(t, a.Signature, 64)
	})
}

// FuzzSignVerify checks the property that matters between our client and
// our fake: whatever Sign accepts, Verify accepts once the request has
// crossed the wire. Seeds live in testdata/fuzz/FuzzSignVerify.
func FuzzSignVerify(f *testing.F) {
	f.Fuzz(func(t *testing.T, method, target, headerValue string, body []byte) {
		if !strings.HasPrefix(target, "/") || method == http.MethodConnect ||
			strings.ContainsFunc(headerValue, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) {
			t.Skip("not a request our client could send")
		}
		req, err := http.NewRequest(method, "http://dcs.example.com"+target, bytes.NewReader(body))
		if err != nil {
			t.Skip(err)
		}
		req.Header.Set("X-Fuzz", headerValue)
		if err := signer.Sign(req, body, testCred(), t0); err != nil {
			require.ErrorIs(t, err, signer.ErrMalformed)
			t.Skip(err)
		}
		var wire bytes.Buffer
		if err := req.Write(&wire); err != nil {
			t.Skip(err)
		}
		sreq, err := http.ReadRequest(bufio.NewReader(&wire))
		if err != nil {
			t.Skip(err)
		}
		sbody, err := io.ReadAll(sreq.Body)
		require.NoError(t, err)

		require.NoError(t, testVerifier().Verify(sreq, sbody), "request %s %q", sreq.Method, sreq.RequestURI)
	})
}

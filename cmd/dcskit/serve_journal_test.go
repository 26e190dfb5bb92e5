package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/gen/admin"
	"github.com/dcskit/dcskit/signer"
)

func TestServeJournalAndSignatureDiagnosis(t *testing.T) {
	t.Parallel()
	const ak, sk = "AKSERVE", "sk-serve-SECRET"
	s := startServe(t, "--ak", ak, "--sk", sk, "--log-level", "debug", "--journal-size", "2")
	c := contractClient(t)

	var signature string
	for i, key := range []string{sk, "wrong-" + sk, "wrong-" + sk} {
		req, err := http.NewRequest(http.MethodGet, s.url+"/v2/p/instances/status?n="+string(rune('0'+i)), nil)
		require.NoError(t, err)
		require.NoError(t, signer.Sign(req, nil, signer.Credentials{AccessKey: ak, SecretKey: key}, time.Now()))
		a, err := signer.ParseAuthorization(req.Header.Get("Authorization"))
		require.NoError(t, err)
		signature = a.Signature
		resp, err := c.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}

	resp, err := c.Get(s.url + "/_fake/requests?status=401")
	require.NoError(t, err)
	var j admin.RequestJournal
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&j))
	resp.Body.Close()
	require.Len(t, j.Requests, 2, "--journal-size 2 kept the last two")
	assert.Equal(t, 1, j.Dropped)
	last := j.Requests[1]
	assert.Equal(t, "n=2", last.RawQuery)
	assert.Equal(t, ak, last.AccessKey)
	assert.Equal(t, admin.AuthRejected, last.Auth.Result)
	require.NotNil(t, last.Auth.CanonicalRequest)

	r := s.stop()
	assert.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	assert.Contains(t, r.stderr, "error=\"verify aksk signature fail: signature mismatch\"")
	assert.Contains(t, r.stderr, "canonical_request=", "--log-level debug shows what the fake expected")
	assert.Contains(t, r.stderr, "request_id="+last.RequestId)
	for _, secret := range []string{sk, signature} {
		assert.NotContains(t, r.stderr, secret)
	}
}

func TestServeFlagErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"serve", "--log-level", "loud"},
		{"serve", "--journal-size", "1000001"},
	} {
		t.Run(strings.Join(args[1:], " "), func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, nil, nil, args...)
			assert.Equal(t, 2, r.code, "stderr: %s", r.stderr)
			assert.Contains(t, r.stderr, args[1])
			assert.Empty(t, r.stdout)
		})
	}
}

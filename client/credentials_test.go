package client_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/signer"
)

// stubProvider answers with cred or err, and counts the questions.
type stubProvider struct {
	name string
	cred client.Credentials
	err  error
	n    atomic.Int32
}

func (p *stubProvider) Retrieve(context.Context) (client.Credentials, error) {
	p.n.Add(1)
	return p.cred, p.err
}

func (p *stubProvider) String() string { return p.name }

func none(name string) *stubProvider {
	return &stubProvider{name: name, err: client.NoCredentials(name, "not set up")}
}

func keysOf(name string) *stubProvider {
	return &stubProvider{name: name, cred: client.Credentials{Keys: signer.Credentials{AccessKey: "AK" + name, SecretKey: testSK}, Source: name}}
}

func TestChainKeepsToTheFirstThatGives(t *testing.T) {
	t.Parallel()
	a, b, c := none("a"), keysOf("b"), keysOf("c")
	chain := client.NewChain(a, b, c)
	for range 3 {
		cred, err := chain.Retrieve(t.Context())
		require.NoError(t, err)
		assert.Equal(t, "b", cred.Source)
	}
	assert.EqualValues(t, 1, a.n.Load())
	assert.EqualValues(t, 1, b.n.Load(), "keys that do not expire are kept")
	assert.EqualValues(t, 0, c.n.Load())
	assert.Equal(t, "chain of a, b, c, using b", chain.String())
}

func TestChainAsksForTemporaryKeysEveryTime(t *testing.T) {
	t.Parallel()
	b := keysOf("b")
	b.cred.Expires = time.Now().Add(time.Hour)
	chain := client.NewChain(none("a"), b)
	for range 3 {
		_, err := chain.Retrieve(t.Context())
		require.NoError(t, err)
	}
	assert.EqualValues(t, 3, b.n.Load())

	b.err = errors.New("b: refresh failed")
	_, err := chain.Retrieve(t.Context())
	var ce *client.CredentialsError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "no credentials: b: refresh failed", err.Error(), "the source in use fails alone")
}

func TestChainErrorNamesEverySourceTried(t *testing.T) {
	t.Parallel()
	broken := &stubProvider{name: "b", err: errors.New("b: sk is set but ak is not")}
	tests := []struct {
		name      string
		providers []client.CredentialsProvider
		want      string
		nothing   bool // errors.Is ErrNoCredentials: no source was set up
	}{
		{"none set up", []client.CredentialsProvider{none("a"), none("b")}, "no credentials: a: not set up; b: not set up", true},
		{"broken source stops the chain", []client.CredentialsProvider{none("a"), broken, keysOf("c")}, "no credentials: a: not set up; b: sk is set but ak is not", false},
		{"keys without a secret", []client.CredentialsProvider{&stubProvider{name: "d", cred: client.Credentials{Keys: signer.Credentials{AccessKey: "AK"}}}, keysOf("c")}, "empty secret key", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := client.NewChain(tt.providers...).Retrieve(t.Context())
			var ce *client.CredentialsError
			require.ErrorAs(t, err, &ce)
			assert.Contains(t, err.Error(), tt.want)
			assert.Equal(t, tt.nothing, allNothing(ce))
		})
	}
}

func allNothing(ce *client.CredentialsError) bool {
	for _, err := range ce.Tried {
		if !errors.Is(err, client.ErrNoCredentials) {
			return false
		}
	}
	return true
}

// A chain that found nothing looks again next time: a source may come up.
func TestChainSearchesAgainAfterFailing(t *testing.T) {
	t.Parallel()
	b := none("b")
	chain := client.NewChain(none("a"), b)
	_, err := chain.Retrieve(t.Context())
	require.Error(t, err)
	b.err, b.cred = nil, keysOf("b").cred
	cred, err := chain.Retrieve(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "b", cred.Source)
}

func TestChainIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	b := keysOf("b")
	chain := client.NewChain(none("a"), b)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			cred, err := chain.Retrieve(t.Context())
			assert.NoError(t, err)
			assert.Equal(t, "b", cred.Source)
		})
	}
	wg.Wait()
	assert.EqualValues(t, 1, b.n.Load(), "one search, whoever asks")
}

func TestEnvCredentials(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		vars    map[string]string
		want    string // error text; "" for success
		nothing bool
	}{
		{"nothing set", nil, "environment: HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK are not set", true},
		{"token alone", map[string]string{client.EnvSecurityToken: testToken}, "HUAWEICLOUD_SDK_SECURITY_TOKEN is set without", false},
		{"AK alone", map[string]string{client.EnvAccessKey: testAK}, "empty secret key", false},
		{"SK alone", map[string]string{client.EnvSecretKey: testSK}, "empty access key", false},
		{"keys", map[string]string{client.EnvAccessKey: testAK, client.EnvSecretKey: testSK, client.EnvSecurityToken: testToken, client.EnvProjectID: "p"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cred, err := client.EnvCredentials(env(tt.vars)).Retrieve(t.Context())
			if tt.want == "" {
				require.NoError(t, err)
				assert.Equal(t, signer.Credentials{AccessKey: testAK, SecretKey: testSK, SecurityToken: testToken}, cred.Keys)
				assert.Equal(t, "p", cred.ProjectID)
				assert.Equal(t, "environment", cred.Source)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Equal(t, tt.nothing, errors.Is(err, client.ErrNoCredentials))
			assert.NotContains(t, err.Error(), testSK)
			assert.NotContains(t, err.Error(), testToken)
		})
	}
}

func TestCredentialsPrintNoSecret(t *testing.T) {
	t.Parallel()
	cred := client.Credentials{Keys: signer.Credentials{AccessKey: testAK, SecretKey: testSK, SecurityToken: testToken}, Source: "environment"}
	for _, s := range []string{fmt.Sprint(cred), fmt.Sprintf("%+v", cred), fmt.Sprintf("%#v", cred), fmt.Sprintf("%v", &cred)} {
		assert.NotContains(t, s, testSK)
		assert.NotContains(t, s, testToken)
		assert.Contains(t, s, "environment")
	}
}

package client_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

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

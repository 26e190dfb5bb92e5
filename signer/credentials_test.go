package signer_test

import (
	"bytes"
	stdjson "encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/signer"
)

// assertNoSecrets fails if s contains any test secret or any of extra.
func assertNoSecrets(t *testing.T, s string, extra ...string) {
	t.Helper()
	for _, secret := range append([]string{testSK, otherSK, testToken, katSK}, extra...) {
		if secret != "" {
			assert.NotContains(t, s, secret)
		}
	}
}

func TestCredentials_Validate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cred signer.Credentials
		ok   bool
	}{
		{"complete", signer.Credentials{AccessKey: testAK, SecretKey: testSK}, true},
		{"temporary", signer.Credentials{AccessKey: testAK, SecretKey: testSK, SecurityToken: testToken}, true},
		{"no access key", signer.Credentials{SecretKey: testSK}, false},
		{"no secret key", signer.Credentials{AccessKey: testAK, SecurityToken: testToken}, false},
		{"zero", signer.Credentials{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cred.Validate()
			if tt.ok {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, signer.ErrInvalidCredentials)
			assertNoSecrets(t, err.Error())
		})
	}
}

func TestCredentials_NeverRevealSecrets(t *testing.T) {
	t.Parallel()
	cred := signer.Credentials{AccessKey: testAK, SecretKey: testSK, SecurityToken: testToken}
	wrapped := struct {
		Cred    signer.Credentials
		CredPtr *signer.Credentials
	}{cred, &cred}

	var text, json bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("signing", "cred", cred)
	slog.New(slog.NewJSONHandler(&json, nil)).Info("signing", "cred", cred, "ptr", &cred)

	outputs := map[string]string{
		"String":     cred.String(),
		"slog text":  text.String(),
		"slog json":  json.String(),
		"Println":    fmt.Sprintln(cred, &cred),
		"nested %+v": fmt.Sprintf("%+v", wrapped),
		"nested %#v": fmt.Sprintf("%#v", wrapped),
	}
	for name, v := range map[string]any{"json": cred, "json pointer": &cred, "json nested": wrapped} {
		data, err := stdjson.Marshal(v)
		require.NoError(t, err, name)
		outputs[name] = string(data)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%t", "%10.3s"} {
		outputs[verb] = fmt.Sprintf(verb, cred)
		outputs[verb+" pointer"] = fmt.Sprintf(verb, &cred)
	}
	for name, out := range outputs {
		assertNoSecrets(t, out)
		assert.NotContains(t, out, testAK, name)
		assert.NotContains(t, out, testSK[:8], name)
	}
	assert.Equal(t, "AK HPUA**** (temporary)", cred.String())
	assert.Contains(t, text.String(), `cred="AK HPUA**** (temporary)"`)
	assert.Contains(t, json.String(), `"cred":{"access_key":"HPUA****","secret_key":"REDACTED","temporary":true}`)
	assert.Equal(t, `signer.Credentials{AccessKey:"HPUA****", SecretKey:"REDACTED", SecurityToken:""}`,
		fmt.Sprintf("%#v", signer.Credentials{AccessKey: testAK, SecretKey: testSK}))
	assert.Equal(t, `{"access_key":"HPUA****","secret_key":"REDACTED","temporary":true}`, outputs["json"])
	assert.Equal(t, "AK (none)", signer.Credentials{}.String())
	assert.Equal(t, "AK ****", signer.Credentials{AccessKey: "short"}.String())
}

func TestSign_ErrorsAndHeadersHoldNoSecret(t *testing.T) {
	t.Parallel()
	cred := signer.Credentials{AccessKey: testAK, SecretKey: testSK, SecurityToken: testToken}
	req := newRequest(t, http.MethodGet, statusURL, nil)
	require.NoError(t, signer.Sign(req, nil, cred, t0))
	auth := req.Header.Get(signer.HeaderAuthorization)
	assert.NotContains(t, auth, testSK)
	assert.NotContains(t, auth, testToken)

	err := signer.Sign(req, nil, signer.Credentials{SecretKey: testSK, SecurityToken: testToken}, t0)
	require.Error(t, err)
	assertNoSecrets(t, err.Error())
	assert.False(t, strings.Contains(fmt.Sprintf("%+v", err), testSK))
}

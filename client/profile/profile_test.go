package profile

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/server"
	"github.com/dcskit/dcskit/servertest"
	"github.com/dcskit/dcskit/signer"
)

const (
	testAK    = "PROFILEACCESSKEY"
	testSK    = "profile-secret-never-printed"
	testToken = "profile-token-never-printed"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// home returns an environment whose home directory is a new temporary
// one, holding credentials as ~/.huaweicloud/credentials unless it is "",
// and whose metadata service is nowhere.
func home(t *testing.T, credentials string) (map[string]string, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, ".huaweicloud", "credentials")
	if credentials != "" {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
		require.NoError(t, os.WriteFile(path, []byte(credentials), 0o600))
	}
	homeVar := "HOME"
	if runtime.GOOS == "windows" {
		homeVar = "USERPROFILE"
	}
	return map[string]string{homeVar: dir, envMetadataEndpoint: deadURL(t)}, path
}

// deadURL is a loopback URL where nothing listens.
func deadURL(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(http.NotFoundHandler())
	s.Close()
	return s.URL
}

func TestFileReadsTheBasicSection(t *testing.T) {
	t.Parallel()
	vars, path := home(t, `; written by hcloud configure
[global]
ak = OTHER
sk = other

[basic]
ak = `+testAK+`
sk = `+testSK+`
security_token = `+testToken+`
project_id = 0605767e2c00d5552f8fc01a6f4d3b3a
iam_endpoint = https://iam.ap-southeast-1.myhuaweicloud.com
`)
	cred, err := File(env(vars)).Retrieve(t.Context())
	require.NoError(t, err)
	assert.Equal(t, signer.Credentials{AccessKey: testAK, SecretKey: testSK, SecurityToken: testToken}, cred.Keys)
	assert.Equal(t, "0605767e2c00d5552f8fc01a6f4d3b3a", cred.ProjectID)
	assert.Equal(t, "https://iam.ap-southeast-1.myhuaweicloud.com", cred.IAMEndpoint)
	assert.Equal(t, "profile file "+path, cred.Source)
	assert.True(t, cred.Expires.IsZero())

	// HUAWEICLOUD_SDK_CREDENTIALS_FILE wins over the home directory's.
	named := filepath.Join(t.TempDir(), "creds.ini")
	require.NoError(t, os.WriteFile(named, []byte("[basic]\nak=NAMEDAK\nsk="+testSK+"\n"), 0o600))
	vars[EnvFile] = named
	cred, err = File(env(vars)).Retrieve(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "NAMEDAK", cred.Keys.AccessKey)
	assert.Equal(t, "profile file "+named, cred.Source)
	cred, err = FileAt(named).Retrieve(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "NAMEDAK", cred.Keys.AccessKey)
}

func TestFileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		file    string // "" for none
		vars    map[string]string
		want    string
		nothing bool // ErrNoCredentials: try the next source
	}{
		{"no file", "", nil, "no such file", true},
		{"no home", "", map[string]string{"HOME": "", "USERPROFILE": ""}, "no home directory", true},
		{"named file missing", "", map[string]string{EnvFile: "/nonexistent/credentials"}, "(from HUAWEICLOUD_SDK_CREDENTIALS_FILE): no such file", false},
		{"no basic section", "[global]\nak = A\nsk = B\n", nil, "no [basic] section", true},
		{"no keys", "[basic]\nproject_id = p\n", nil, "[basic] has no ak and sk", true},
		{"ak alone", "[basic]\nak = " + testAK + "\n", nil, "[basic] has ak but no sk", false},
		{"sk alone", "[basic]\nsk = " + testSK + "\n", nil, "[basic] has sk but no ak", false},
		{"federation", "[basic]\nidp_id = idp\nid_token_file = /t\n", nil, "OIDC federation", false},
		{"not INI", "[basic]\nak " + testSK + "\n", nil, "not an INI file", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vars, _ := home(t, tt.file)
			for k, v := range tt.vars {
				vars[k] = v
			}
			_, err := File(env(vars)).Retrieve(t.Context())
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), "profile file")
			assert.Equal(t, tt.nothing, errors.Is(err, client.ErrNoCredentials))
			assert.NotContains(t, err.Error(), testSK)
		})
	}
	_, err := FileAt("/nonexistent/credentials").Retrieve(t.Context())
	assert.ErrorContains(t, err, "(from the configuration): no such file")
}

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

func newChain(providers ...client.CredentialsProvider) *chain { return &chain{providers: providers} }

// The chain keeps to the first source that gives keys: for good if they
// do not expire, asking it every time if they do.
func TestChainKeepsToTheFirstThatGives(t *testing.T) {
	t.Parallel()
	a, b, c := none("a"), keysOf("b"), keysOf("c")
	ch := newChain(a, b, c)
	for range 3 {
		cred, err := ch.Retrieve(t.Context())
		require.NoError(t, err)
		assert.Equal(t, "b", cred.Source)
	}
	assert.EqualValues(t, []int32{1, 1, 0}, []int32{a.n.Load(), b.n.Load(), c.n.Load()}, "keys that do not expire are kept")
	assert.Equal(t, "chain of a, b, c, using b", ch.String())

	temporary := keysOf("t")
	temporary.cred.Expires = time.Now().Add(time.Hour)
	ch = newChain(none("a"), temporary)
	for range 3 {
		_, err := ch.Retrieve(t.Context())
		require.NoError(t, err)
	}
	assert.EqualValues(t, 3, temporary.n.Load())
	temporary.err = errors.New("t: refresh failed")
	_, err := ch.Retrieve(t.Context())
	assert.EqualError(t, err, "t: refresh failed", "the source in use fails alone")
}

func TestChainErrorNamesEverySourceTried(t *testing.T) {
	t.Parallel()
	broken := &stubProvider{name: "b", err: errors.New("b: sk is set but ak is not")}
	tests := []struct {
		name      string
		providers []client.CredentialsProvider
		want      string
		nothing   bool // every error is ErrNoCredentials: no source was set up
	}{
		{"none set up", []client.CredentialsProvider{none("a"), none("b")}, "no credentials: a: not set up; b: not set up", true},
		{"broken source stops the chain", []client.CredentialsProvider{none("a"), broken, keysOf("c")}, "no credentials: a: not set up; b: sk is set but ak is not", false},
		{"keys without a secret", []client.CredentialsProvider{&stubProvider{name: "d", cred: client.Credentials{Keys: signer.Credentials{AccessKey: "AK"}}}, keysOf("c")}, "empty secret key", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := newChain(tt.providers...).Retrieve(t.Context())
			ce, ok := errors.AsType[*client.CredentialsError](err)
			require.True(t, ok, "%T", err)
			assert.Contains(t, err.Error(), tt.want)
			nothing := true
			for _, err := range ce.Tried {
				nothing = nothing && errors.Is(err, client.ErrNoCredentials)
			}
			assert.Equal(t, tt.nothing, nothing)
		})
	}
}

// A chain that found nothing looks again next time, one search at a time:
// a source may come up.
func TestChainSearchesAgainAfterFailing(t *testing.T) {
	t.Parallel()
	b := none("b")
	ch := newChain(none("a"), b)
	_, err := ch.Retrieve(t.Context())
	require.Error(t, err)
	b.err, b.cred = nil, keysOf("b").cred
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			cred, err := ch.Retrieve(t.Context())
			assert.NoError(t, err)
			assert.Equal(t, "b", cred.Source)
		})
	}
	wg.Wait()
	assert.EqualValues(t, 2, b.n.Load(), "one search, whoever asks")
}

// The chain takes the SDK's order: the environment, then the file, then
// the metadata service; a bad metadata endpoint is a broken source.
func TestDefaultChainOrder(t *testing.T) {
	t.Parallel()
	vars, path := home(t, "[basic]\nak = "+testAK+"\nsk = "+testSK+"\n")
	cred, err := DefaultChain(env(vars)).Retrieve(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "profile file "+path, cred.Source)

	vars[client.EnvAccessKey], vars[client.EnvSecretKey] = "ENVKEY", "env-secret"
	cred, err = DefaultChain(env(vars)).Retrieve(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "environment", cred.Source)

	_, err = DefaultChain(env(map[string]string{envMetadataEndpoint: "169.254.169.254"})).Retrieve(t.Context())
	ce, ok := errors.AsType[*client.CredentialsError](err)
	require.True(t, ok, "%v", err)
	require.Len(t, ce.Tried, 3)
	assert.EqualError(t, ce.Tried[2], `ECS metadata: DCSKIT_METADATA_ENDPOINT "169.254.169.254" is not an http(s) URL`)
	assert.False(t, errors.Is(ce.Tried[2], client.ErrNoCredentials))
}

// recorder keeps the X-Security-Token of the last request.
type recorder struct {
	mu    sync.Mutex
	token string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.token = req.Header.Get(signer.HeaderSecurityToken)
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recorder) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.token
}

// The official SDK's chain, end to end: credentials from the profile file
// or the metadata service reach the fake signed, with their security
// token, and the project comes from the file or from IAM, whose endpoint
// may be the file's.
func TestDefaultChainReachesTheFake(t *testing.T) {
	t.Parallel()
	f := servertest.New(t, server.Options{AccessKey: testAK, SecretKey: testSK,
		Projects: []server.Project{{ID: "p-north", Name: "cn-north-4"}, {ID: "p-south", Name: "ap-southeast-1"}}})
	m := startMetadata(t, time.Now(), true) // the chain's metadata provider reads the system's clock
	tests := []struct {
		name, file, metadata string
		project, token       string
	}{
		{"profile with a project", "[basic]\nak = " + testAK + "\nsk = " + testSK + "\nsecurity_token = " + testToken + "\nproject_id = p-north\n", "", "p-north", testToken},
		{"profile with its IAM", "[basic]\nak = " + testAK + "\nsk = " + testSK + "\niam_endpoint = " + f.URL() + "\n", "", "p-south", ""},
		{"metadata", "", m.URL, "p-south", "session-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vars, _ := home(t, tt.file)
			if tt.metadata != "" {
				vars[envMetadataEndpoint], vars[client.EnvIAMEndpoint] = tt.metadata, f.URL()
			}
			rec := &recorder{}
			c, err := client.New(client.WithCredentialsProvider(DefaultChain(env(vars))), client.FromEnv(env(vars)),
				client.WithEndpoint(f.URL()), client.WithRegion("ap-southeast-1"), client.WithHTTPClient(&http.Client{Transport: rec}))
			require.NoError(t, err)
			_, err = c.InstanceStatus(t.Context())
			require.NoError(t, err, "the fake checks the signature")
			project, err := c.ProjectID(t.Context())
			require.NoError(t, err)
			assert.Equal(t, tt.project, project)
			assert.Equal(t, tt.token, rec.last())
		})
	}
}

func TestDefaultChainNamesEverySource(t *testing.T) {
	t.Parallel()
	vars, path := home(t, "")
	c, err := client.New(client.WithCredentialsProvider(DefaultChain(env(vars))), client.WithProjectID("p"), client.WithEndpoint(deadURL(t)))
	require.NoError(t, err)
	_, err = c.InstanceStatus(t.Context())
	ce, ok := errors.AsType[*client.CredentialsError](err)
	require.True(t, ok, "%v", err)
	require.Len(t, ce.Tried, 3)
	for i, want := range []string{
		"environment: HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK are not set",
		"profile file " + path + ": no such file",
		"ECS metadata " + vars[envMetadataEndpoint] + ": not reachable",
	} {
		assert.Contains(t, ce.Tried[i].Error(), want)
	}
	assert.Contains(t, err.Error(), "no credentials: environment: ")
}

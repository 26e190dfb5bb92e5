// Package profile makes the official Huawei Cloud SDK's default credential
// chain for package client: the environment, the SDK's credentials file,
// then the ECS metadata service. It is apart from package client because
// its INI parser, gopkg.in/ini.v1 (the SDK's, so that a file means the
// same to both), would add 290 KB to every program that imports client.
//
// The file is HUAWEICLOUD_SDK_CREDENTIALS_FILE, or
// ~/.huaweicloud/credentials; dcskit reads its [basic] section:
//
//	[basic]
//	ak = ...
//	sk = ...
//	security_token = ...   ; optional, for temporary keys
//	project_id = ...       ; optional; without it, found through IAM
//	iam_endpoint = ...     ; optional
package profile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"gopkg.in/ini.v1"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/signer"
)

// EnvFile names the credentials file, as for the official SDK.
const EnvFile = "HUAWEICLOUD_SDK_CREDENTIALS_FILE"

// DefaultChain is the official SDK's default credential chain for regional
// services, in its order: client.EnvCredentials, File, then the ECS
// metadata service at getenv("DCSKIT_METADATA_ENDPOINT") (dcskit's, for
// tests on loopback), else http://169.254.169.254. The SDK's last source,
// pod identity, is not supported. The chain keeps to the first source that
// gives credentials; until one has, every Retrieve searches again, so that
// a source that was down comes back. A source that is set up but broken
// stops the search.
func DefaultChain(getenv func(string) string) client.CredentialsProvider {
	getenv = orNone(getenv)
	return &chain{providers: []client.CredentialsProvider{client.EnvCredentials(getenv), File(getenv), newMetadata(getenv(envMetadataEndpoint))}}
}

func orNone(getenv func(string) string) func(string) string {
	if getenv == nil {
		return func(string) string { return "" }
	}
	return getenv
}

type chain struct {
	providers []client.CredentialsProvider
	mu        sync.Mutex
	using     client.CredentialsProvider // the source found
	static    *client.Credentials        // its keys, which do not expire
}

func (c *chain) Retrieve(ctx context.Context) (client.Credentials, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.static != nil {
		return *c.static, nil
	} else if c.using != nil {
		return retrieve(ctx, c.using) // temporary keys: their source refreshes them
	}
	var tried []error
	for _, p := range c.providers {
		cred, err := retrieve(ctx, p)
		if err == nil {
			if c.using = p; cred.Expires.IsZero() {
				c.static = &cred
			}
			return cred, nil
		} else if ctx.Err() != nil {
			return client.Credentials{}, ctx.Err()
		}
		if tried = append(tried, err); !errors.Is(err, client.ErrNoCredentials) {
			break
		}
	}
	return client.Credentials{}, &client.CredentialsError{Tried: tried}
}

// retrieve asks p, and refuses keys that cannot sign.
func retrieve(ctx context.Context, p client.CredentialsProvider) (client.Credentials, error) {
	cred, err := p.Retrieve(ctx)
	if err == nil {
		err = cred.Keys.Validate()
	}
	return cred, err
}

// String names the providers, and the one in use once there is one.
func (c *chain) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	names := make([]string, len(c.providers))
	for i, p := range c.providers {
		names[i] = fmt.Sprint(p)
	}
	s := "chain of " + strings.Join(names, ", ")
	if c.using != nil {
		s += fmt.Sprintf(", using %s", c.using)
	}
	return s
}

// File returns the provider of the keys of the credentials file, read at
// each Retrieve: getenv(EnvFile), else ~/.huaweicloud/credentials in the
// home directory that getenv names ($HOME, or %USERPROFILE% on Windows).
// A file that is not there, at the default path, or that has no [basic]
// section or keys in it, has nothing to offer (client.ErrNoCredentials).
// A file named by EnvFile that is not there, or one that cannot be read
// or parsed, or that holds half a key pair, is an error.
func File(getenv func(string) string) client.CredentialsProvider {
	return fileProvider{getenv: orNone(getenv)}
}

// FileAt returns the provider of the keys of the credentials file at
// path, read as File reads the file EnvFile names. Programs that serve
// several accounts, such as `dcskit exporter --config`, give each its
// file.
func FileAt(path string) client.CredentialsProvider {
	return fileProvider{getenv: orNone(nil), at: path}
}

type fileProvider struct {
	getenv func(string) string
	at     string // FileAt's path
}

func (f fileProvider) String() string {
	path, _, _ := f.path()
	return strings.TrimSpace("profile file " + path)
}

// path is the file to read, and what named it: "" for the default path,
// which need not be there.
func (f fileProvider) path() (path, named string, err error) {
	homeVar := "HOME"
	if runtime.GOOS == "windows" {
		homeVar = "USERPROFILE"
	}
	switch {
	case f.at != "":
		return f.at, "the configuration", nil
	case f.getenv(EnvFile) != "":
		return f.getenv(EnvFile), EnvFile, nil
	case f.getenv(homeVar) == "":
		return "", "", fmt.Errorf("no home directory: $%s is not set", homeVar)
	}
	return filepath.Join(f.getenv(homeVar), ".huaweicloud", "credentials"), "", nil
}

func (f fileProvider) Retrieve(context.Context) (client.Credentials, error) {
	path, named, err := f.path()
	if err != nil {
		return client.Credentials{}, client.NoCredentials("profile file", err.Error())
	}
	source := "profile file " + path
	data, err := readFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && named == "":
		return client.Credentials{}, client.NoCredentials(source, "no such file")
	case errors.Is(err, fs.ErrNotExist):
		return client.Credentials{}, fmt.Errorf("%s (from %s): no such file", source, named)
	case err != nil:
		return client.Credentials{}, fmt.Errorf("%s: %w", source, err)
	}
	file, err := ini.Load(data)
	if err != nil { // ini's errors quote the line at fault, which may hold a key
		return client.Credentials{}, fmt.Errorf("%s: not an INI file the SDK can read (a line that is neither [section], key = value nor a comment)", source)
	}
	sec, err := file.GetSection("basic")
	if err != nil {
		return client.Credentials{}, client.NoCredentials(source, "no [basic] section")
	}
	value := func(k string) string { return sec.Key(k).String() }
	keys := signer.Credentials{AccessKey: value("ak"), SecretKey: value("sk"), SecurityToken: value("security_token")}
	switch {
	case keys.AccessKey == "" && keys.SecretKey == "" && value("idp_id") != "":
		return client.Credentials{}, fmt.Errorf("%s: [basic] has idp_id and id_token_file (OIDC federation), which dcskit does not support; give ak and sk", source)
	case keys.AccessKey == "" && keys.SecretKey == "":
		return client.Credentials{}, client.NoCredentials(source, "[basic] has no ak and sk")
	case keys.AccessKey == "" || keys.SecretKey == "":
		has, lacks := "ak", "sk"
		if keys.AccessKey == "" {
			has, lacks = lacks, has
		}
		return client.Credentials{}, fmt.Errorf("%s: [basic] has %s but no %s", source, has, lacks)
	}
	return client.Credentials{Keys: keys, ProjectID: value("project_id"), IAMEndpoint: value("iam_endpoint"), Source: source}, nil
}

// readFile reads at most 1 MiB: a credentials file is a few lines.
func readFile(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, 1<<20+1))
	if err == nil && len(data) > 1<<20 {
		return nil, errors.New("larger than 1024 KiB")
	}
	return data, err
}

// Package profile reads the official Huawei Cloud SDK's credentials file,
// and makes the SDK's default credential chain for package client: the
// environment, then this file, then the ECS metadata service.
//
// It is apart from package client because its INI parser,
// gopkg.in/ini.v1 (the one the SDK reads the file with, so that a file
// means the same to both), would add 290 KB to every program that imports
// client, past its size budget (make bench).
//
// The file is HUAWEICLOUD_SDK_CREDENTIALS_FILE, or
// ~/.huaweicloud/credentials, in INI; dcskit reads its [basic] section:
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

	"gopkg.in/ini.v1"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/signer"
)

// EnvFile names the credentials file, as for the official SDK.
const EnvFile = "HUAWEICLOUD_SDK_CREDENTIALS_FILE"

// Section is the part of the file that holds the credentials of regional
// services such as DCS (the SDK's "basic" credentials).
const Section = "basic"

// Keys of Section, as the SDK names them.
const (
	keyAK            = "ak"
	keySK            = "sk"
	keySecurityToken = "security_token"
	keyProjectID     = "project_id"
	keyIAMEndpoint   = "iam_endpoint"
	keyIdpID         = "idp_id"
	keyIDTokenFile   = "id_token_file"
)

// maxFileSize bounds what is read of the file: a credentials file is a
// few lines.
const maxFileSize = 1 << 20

// File returns the provider of the credentials file's keys. It reads the
// file at each Retrieve (a Chain asks once, since these keys do not
// expire). The path is getenv(EnvFile), else ~/.huaweicloud/credentials
// with the home directory from getenv too ($HOME, or %USERPROFILE% on
// Windows).
//
// A file that is not there, at the default path, or that has no [basic]
// section or keys in it, has nothing to offer (client.ErrNoCredentials).
// A file named by EnvFile that is not there, or one that cannot be read
// or parsed, or that holds half a key pair, is an error.
func File(getenv func(string) string) client.CredentialsProvider {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	return fileProvider{getenv: getenv}
}

type fileProvider struct {
	getenv func(string) string
	at     string // FileAt's path, instead of the environment's
}

// FileAt returns the provider of the keys of the credentials file at
// path, read as File reads the file EnvFile names: a file that is not
// there is an error. Programs that serve several accounts, such as
// `dcskit exporter --config`, give each its file.
func FileAt(path string) client.CredentialsProvider {
	return fileProvider{getenv: func(string) string { return "" }, at: path}
}

func (f fileProvider) String() string {
	if p, _, err := f.path(); err == nil {
		return "profile file " + p
	}
	return "profile file"
}

// path is the file to read, and what named it ("" for the default
// path, which need not be there).
func (f fileProvider) path() (string, string, error) {
	if f.at != "" {
		return f.at, "the configuration", nil
	}
	if p := f.getenv(EnvFile); p != "" {
		return p, EnvFile, nil
	}
	homeVar := "HOME"
	if runtime.GOOS == "windows" {
		homeVar = "USERPROFILE"
	}
	home := f.getenv(homeVar)
	if home == "" {
		return "", "", fmt.Errorf("no home directory: $%s is not set", homeVar)
	}
	return filepath.Join(home, ".huaweicloud", "credentials"), "", nil
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
	if err != nil {
		// ini's errors quote the line at fault, which may hold a key.
		return client.Credentials{}, fmt.Errorf("%s: not an INI file the SDK can read (a line that is neither [section], key = value nor a comment)", source)
	}
	sec, err := file.GetSection(Section)
	if err != nil {
		return client.Credentials{}, client.NoCredentials(source, "no ["+Section+"] section")
	}
	value := func(k string) string { return sec.Key(k).String() }
	keys := signer.Credentials{AccessKey: value(keyAK), SecretKey: value(keySK), SecurityToken: value(keySecurityToken)}
	switch {
	case keys.AccessKey == "" && keys.SecretKey == "" && value(keyIdpID) != "":
		return client.Credentials{}, fmt.Errorf("%s: [%s] has %s and %s (OIDC federation), which dcskit does not support; give %s and %s",
			source, Section, keyIdpID, keyIDTokenFile, keyAK, keySK)
	case keys.AccessKey == "" && keys.SecretKey == "":
		return client.Credentials{}, client.NoCredentials(source, fmt.Sprintf("[%s] has no %s and %s", Section, keyAK, keySK))
	case keys.AccessKey == "":
		return client.Credentials{}, fmt.Errorf("%s: [%s] has %s but no %s", source, Section, keySK, keyAK)
	case keys.SecretKey == "":
		return client.Credentials{}, fmt.Errorf("%s: [%s] has %s but no %s", source, Section, keyAK, keySK)
	}
	return client.Credentials{
		Keys:        keys,
		ProjectID:   value(keyProjectID),
		IAMEndpoint: value(keyIAMEndpoint),
		Source:      source,
	}, nil
}

func readFile(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("larger than %d KiB", maxFileSize>>10)
	}
	return data, nil
}

// DefaultChain is the official SDK's default credential chain for
// regional services, in its order: client.EnvCredentials, File, then the
// ECS metadata service (client.MetadataCredentials), at metadata.Endpoint,
// else getenv(client.EnvMetadataEndpoint), else
// client.DefaultMetadataEndpoint. The SDK's last source, pod identity,
// is not supported.
func DefaultChain(getenv func(string) string, metadata client.MetadataOptions) *client.Chain {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if metadata.Endpoint == "" {
		metadata.Endpoint = getenv(client.EnvMetadataEndpoint)
	}
	var ecs client.CredentialsProvider
	if m, err := client.NewMetadataCredentials(metadata); err != nil {
		ecs = brokenProvider{fmt.Errorf("ECS metadata: %w", err)}
	} else {
		ecs = m
	}
	return client.NewChain(client.EnvCredentials(getenv), File(getenv), ecs)
}

// brokenProvider fails as it was configured to, when asked: a chain
// reports a bad metadata endpoint where it would have used it.
type brokenProvider struct{ err error }

func (b brokenProvider) Retrieve(context.Context) (client.Credentials, error) {
	return client.Credentials{}, b.err
}

func (b brokenProvider) String() string { return b.err.Error() }

// FromDefaultChain configures a client as the official SDK's defaults
// do: client.FromEnv(getenv) for the project, endpoints and IAM endpoint,
// and the credentials of DefaultChain(getenv, client.MetadataOptions{}).
// A project id from the environment wins over the file's project_id, and
// EnvIAMEndpoint over its iam_endpoint.
func FromDefaultChain(getenv func(string) string) client.Option {
	return client.WithOptions(
		client.FromEnv(getenv),
		client.WithCredentialsProvider(DefaultChain(getenv, client.MetadataOptions{})),
	)
}

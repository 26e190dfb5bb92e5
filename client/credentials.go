package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dcskit/dcskit/signer"
)

// The official SDK's variables, which FromEnv reads. EnvEndpointPrefix
// plus the region, upper-cased with '-' turned into '_', overrides the
// region's endpoint, as in HUAWEICLOUD_SDK_REGION_DCS_CN_NORTH_4=URL.
const (
	EnvAccessKey      = "HUAWEICLOUD_SDK_AK"
	EnvSecretKey      = "HUAWEICLOUD_SDK_SK"
	EnvSecurityToken  = "HUAWEICLOUD_SDK_SECURITY_TOKEN"
	EnvProjectID      = "HUAWEICLOUD_SDK_PROJECT_ID"
	EnvEndpointPrefix = "HUAWEICLOUD_SDK_REGION_DCS_"
)

// Credentials are what a CredentialsProvider gives: the keys that sign
// requests, which print hidden, and what their source says besides.
type Credentials struct {
	Keys                   signer.Credentials
	ProjectID, IAMEndpoint string    // what the source names, such as a profile's project_id
	Expires                time.Time // when temporary keys stop working; zero for others
	Source                 string    // where the keys come from, for messages
}

// A CredentialsProvider gives the credentials of the moment: a Client asks
// before every attempt. It must be safe for concurrent use, and should be
// a fmt.Stringer that names its source without secrets.
type CredentialsProvider interface {
	Retrieve(ctx context.Context) (Credentials, error)
}

// ErrNoCredentials is wrapped by the error of a provider that is not set
// up: no variables, no file, no ECS metadata service. A chain then tries
// the next; any other error stops it, since a source that is set up but
// broken is a mistake to report, not to step over.
var ErrNoCredentials = errors.New("no credentials")

// NoCredentials returns an error, wrapping ErrNoCredentials, that says
// why source has no credentials to offer.
func NoCredentials(source, reason string) error { return noCredentials(source + ": " + reason) }

type noCredentials string

func (e noCredentials) Error() string        { return string(e) }
func (e noCredentials) Is(target error) bool { return target == ErrNoCredentials }

// CredentialsError is a failure to get credentials, before anything is
// sent. Its text names each source tried and why it gave nothing.
type CredentialsError struct {
	Tried []error // one per source tried, in order
}

func (e *CredentialsError) Error() string {
	reasons := make([]string, len(e.Tried))
	for i, err := range e.Tried {
		reasons[i] = err.Error()
	}
	return "no credentials: " + strings.Join(reasons, "; ")
}

func (e *CredentialsError) Unwrap() []error { return e.Tried }

// asCredentialsError makes a provider's err a *CredentialsError, unless it
// is one or the context's.
func asCredentialsError(err error) error {
	if _, ok := errors.AsType[*CredentialsError](err); ok || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &CredentialsError{Tried: []error{err}}
}

// EnvCredentials reads EnvAccessKey, EnvSecretKey, EnvSecurityToken and
// EnvProjectID through getenv at every Retrieve. Without keys it is not
// set up (ErrNoCredentials); half a pair is an error.
func EnvCredentials(getenv func(string) string) CredentialsProvider {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	return envCredentials(getenv)
}

type envCredentials func(string) string

func (envCredentials) String() string { return "environment" }

func (getenv envCredentials) Retrieve(context.Context) (Credentials, error) {
	keys := signer.Credentials{AccessKey: getenv(EnvAccessKey), SecretKey: getenv(EnvSecretKey), SecurityToken: getenv(EnvSecurityToken)}
	switch err := keys.Validate(); {
	case keys == signer.Credentials{}:
		return Credentials{}, NoCredentials("environment", EnvAccessKey+" and "+EnvSecretKey+" are not set")
	case keys.AccessKey == "" && keys.SecretKey == "":
		return Credentials{}, fmt.Errorf("environment: %s is set without %s and %s", EnvSecurityToken, EnvAccessKey, EnvSecretKey)
	case err != nil:
		return Credentials{}, fmt.Errorf("environment: %s/%s: %w", EnvAccessKey, EnvSecretKey, err)
	}
	return Credentials{Keys: keys, ProjectID: getenv(EnvProjectID), Source: "environment"}, nil
}

// staticCredentials are used by pointer, so that printing a Client prints
// no key.
type staticCredentials struct{ Credentials }

func (s *staticCredentials) Retrieve(context.Context) (Credentials, error) { return s.Credentials, nil }
func (s *staticCredentials) String() string                                { return s.Keys.String() }

// describe names p without its secrets.
func describe(p CredentialsProvider) string {
	if s, ok := p.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%T", p)
}

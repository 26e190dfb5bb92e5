package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dcskit/dcskit/signer"
)

// Credentials are what a CredentialsProvider gives: the keys that sign
// requests, and what their source says besides. Every way of printing
// them hides the secret key and the token (see signer.Credentials).
type Credentials struct {
	Keys signer.Credentials
	// ProjectID is the project the source names, such as a profile's
	// project_id; "" if it names none.
	ProjectID string
	// IAMEndpoint is the IAM endpoint the source names, such as a
	// profile's iam_endpoint; "" if it names none.
	IAMEndpoint string
	// Expires is when temporary keys stop working; zero for keys that do
	// not expire.
	Expires time.Time
	// Source says where the keys come from, such as "environment", for
	// messages.
	Source string
}

// A CredentialsProvider gives the credentials that sign requests. A
// Client asks before every attempt, so a provider of temporary keys
// keeps them and refreshes them itself. It must be safe for concurrent
// use.
type CredentialsProvider interface {
	Retrieve(ctx context.Context) (Credentials, error)
}

// ErrNoCredentials is what a provider's error wraps when it has nothing
// to offer because it is not set up: no variables, no file, no ECS
// metadata service. A Chain then tries the next provider; any other error
// stops it, since a source that is set up but broken is a mistake to
// report, not to step over. NoCredentials makes such an error.
var ErrNoCredentials = errors.New("no credentials")

// NoCredentials returns an error, wrapping ErrNoCredentials, that says
// why source has no credentials to offer.
func NoCredentials(source, reason string) error { return &noCredentials{source, reason} }

type noCredentials struct{ source, reason string }

func (e *noCredentials) Error() string        { return e.source + ": " + e.reason }
func (e *noCredentials) Is(target error) bool { return target == ErrNoCredentials }

// CredentialsError is a failure to get credentials, found before anything
// is sent: no source had any, one was broken, or the one in use failed.
// Its text names each source tried and why it gave nothing, and never a
// secret.
type CredentialsError struct {
	// Tried holds one error per source tried, in order.
	Tried []error
}

func (e *CredentialsError) Error() string {
	reasons := make([]string, len(e.Tried))
	for i, err := range e.Tried {
		reasons[i] = err.Error()
	}
	return "no credentials: " + strings.Join(reasons, "; ")
}

func (e *CredentialsError) Unwrap() []error { return e.Tried }

// asCredentialsError makes err, a provider's, a *CredentialsError, unless
// it is one already or the context's.
func asCredentialsError(err error) error {
	if _, ok := errors.AsType[*CredentialsError](err); ok || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &CredentialsError{Tried: []error{err}}
}

// EnvCredentials reads the official SDK's variables through getenv at
// every Retrieve: EnvAccessKey and EnvSecretKey, EnvSecurityToken, and
// EnvProjectID as the project. With no keys set it has none to offer
// (ErrNoCredentials); half a pair is an error.
func EnvCredentials(getenv func(string) string) CredentialsProvider {
	return envCredentials{getenv}
}

type envCredentials struct{ getenv func(string) string }

const envSource = "environment"

func (e envCredentials) Retrieve(context.Context) (Credentials, error) {
	keys, err := envKeys(e.getenv)
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{Keys: keys, ProjectID: e.getenv(EnvProjectID), Source: envSource}, nil
}

func (envCredentials) String() string { return envSource }

// envKeys is the one reading of the SDK's key variables, for FromEnv and
// EnvCredentials.
func envKeys(getenv func(string) string) (signer.Credentials, error) {
	if getenv == nil {
		return signer.Credentials{}, NoCredentials(envSource, "no environment")
	}
	keys := signer.Credentials{AccessKey: getenv(EnvAccessKey), SecretKey: getenv(EnvSecretKey), SecurityToken: getenv(EnvSecurityToken)}
	switch {
	case keys.AccessKey == "" && keys.SecretKey == "" && keys.SecurityToken == "":
		return keys, NoCredentials(envSource, fmt.Sprintf("%s and %s are not set", EnvAccessKey, EnvSecretKey))
	case keys.AccessKey == "" && keys.SecretKey == "":
		return keys, fmt.Errorf("%s: %s is set without %s and %s", envSource, EnvSecurityToken, EnvAccessKey, EnvSecretKey)
	}
	if err := keys.Validate(); err != nil {
		return keys, fmt.Errorf("%s: %s/%s: %w", envSource, EnvAccessKey, EnvSecretKey, err)
	}
	return keys, nil
}

// staticCredentials are keys given in code (WithCredentials, FromEnv). It
// is used by pointer, so that printing a Client prints no key.
type staticCredentials struct{ Credentials }

func (s staticCredentials) Retrieve(context.Context) (Credentials, error) { return s.Credentials, nil }
func (s staticCredentials) String() string                                { return s.Keys.String() }

// Chain asks its providers in order and keeps to the first that gives
// credentials, as the official SDK's provider chain does: keys that do
// not expire are kept for good, temporary ones are asked of their
// provider every time. Until one provider has given credentials, every
// Retrieve tries again, so that a source that was down comes back. It is
// safe for concurrent use.
type Chain struct {
	providers []CredentialsProvider
	search    chan struct{} // one search at a time
	found     atomic.Pointer[chainChoice]
}

// chainChoice is the provider a Chain keeps to, with its credentials if
// they never expire.
type chainChoice struct {
	provider CredentialsProvider
	static   *Credentials
}

// NewChain returns a Chain of providers, asked in this order.
func NewChain(providers ...CredentialsProvider) *Chain {
	return &Chain{providers: providers, search: make(chan struct{}, 1)}
}

// Retrieve returns the credentials of the provider in use, or finds one.
// Failing, it returns a *CredentialsError that names every provider tried.
func (c *Chain) Retrieve(ctx context.Context) (Credentials, error) {
	if choice := c.found.Load(); choice != nil {
		return choice.retrieve(ctx)
	}
	select {
	case c.search <- struct{}{}:
	case <-ctx.Done():
		return Credentials{}, ctx.Err()
	}
	defer func() { <-c.search }()
	if choice := c.found.Load(); choice != nil { // found while we waited
		return choice.retrieve(ctx)
	}
	var tried []error
	for _, p := range c.providers {
		cred, err := p.Retrieve(ctx)
		if err == nil {
			err = cred.Keys.Validate()
		}
		if err == nil {
			choice := &chainChoice{provider: p}
			if cred.Expires.IsZero() {
				choice.static = &cred
			}
			c.found.Store(choice)
			return cred, nil
		}
		if ctx.Err() != nil {
			return Credentials{}, ctx.Err()
		}
		tried = append(tried, err)
		if !errors.Is(err, ErrNoCredentials) {
			break
		}
	}
	return Credentials{}, &CredentialsError{Tried: tried}
}

func (ch *chainChoice) retrieve(ctx context.Context) (Credentials, error) {
	if ch.static != nil {
		return *ch.static, nil
	}
	cred, err := ch.provider.Retrieve(ctx)
	if err == nil {
		err = cred.Keys.Validate()
	}
	if err != nil {
		return Credentials{}, asCredentialsError(err)
	}
	return cred, nil
}

// String names the providers, and the one in use once there is one.
func (c *Chain) String() string {
	names := make([]string, len(c.providers))
	for i, p := range c.providers {
		names[i] = describeProvider(p)
	}
	s := "chain of " + strings.Join(names, ", ")
	if choice := c.found.Load(); choice != nil {
		s += ", using " + describeProvider(choice.provider)
	}
	return s
}

// describeProvider names p without its secrets: providers in this module
// are fmt.Stringers that print none.
func describeProvider(p CredentialsProvider) string {
	if s, ok := p.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%T", p)
}

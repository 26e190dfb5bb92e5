package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/dcskit/dcskit/gen/dcsclient"
)

// DefaultUserAgent is sent unless WithUserAgent says otherwise.
const DefaultUserAgent = "dcskit"

// defaultAttemptTimeout bounds one attempt when the caller brings no
// *http.Client, so that a server that never answers cannot hang a call
// whose context has no deadline.
const defaultAttemptTimeout = 30 * time.Second

// Client calls the DCS instance status API of one project in one region.
// It is safe for concurrent use, and cheap to make: clients for many
// projects and regions can share one CredentialsProvider (which keeps the
// keys) and one IAM (which keeps the project ids it found).
type Client struct {
	caller
	endpoint string // with a trailing slash
	region   string
	// projectID is the project given by options or the environment; ""
	// means the credentials' source names it, or iam finds it.
	projectID string
	iam       *IAM
	// found is the project found when projectID is "". A pointer, so
	// that a copy of a Client shares it.
	found *atomic.Pointer[string]
	auth  string // how requests are authenticated, for String
}

// caller sends requests, authenticated and retried: a Client's and an
// IAM's.
type caller struct {
	http  *http.Client
	retry RetryPolicy
	creds CredentialsProvider // nil for an IAM token or none
	// source names the credentials when creds is nil: sourceToken or
	// sourceNone.
	source string
	log    *slog.Logger // nil: exchanges are not logged
}

// The Source of the Credentials of a client without keys.
const (
	sourceToken = "IAM token"
	sourceNone  = "none (unsigned requests)"
)

// New returns a Client. Credentials are required, from options, FromEnv or
// a CredentialsProvider, unless WithoutSigning says that none are;
// everything else has a default: region DefaultRegion,
// http.DefaultTransport, DefaultRetryPolicy, and a project found through
// IAM. Its errors read as a person's mistake, without the package's name,
// since commands show them as they are.
func New(opts ...Option) (*Client, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return cfg.build()
}

func (cfg *config) build() (*Client, error) {
	endpoint, err := cfg.resolveEndpoint()
	if err != nil {
		return nil, err
	}
	cl, err := cfg.newCaller()
	if err != nil {
		return nil, err
	}
	c := &Client{
		caller:    cl,
		endpoint:  endpoint,
		region:    cfg.region,
		projectID: cfg.projectID,
		found:     new(atomic.Pointer[string]),
		auth:      cfg.describeAuth(),
	}
	if c.projectID != "" {
		// Build one request now, so that an endpoint and project id
		// that make no URL fail here rather than on every call.
		if _, err := dcsclient.NewListNumberOfInstancesInDifferentStatusRequest(endpoint, c.projectID, nil); err != nil {
			return nil, fmt.Errorf("project id %q: %w", c.projectID, err)
		}
		return c, nil
	}
	if c.iam = cfg.iam; c.iam == nil {
		if c.iam, err = cfg.newIAM(cl); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// newCaller makes the authenticated *http.Client of the configuration.
func (cfg *config) newCaller() (caller, error) {
	t := &authTransport{userAgent: cfg.userAgent, now: time.Now, log: cfg.log}
	source := ""
	switch {
	case cfg.cred != nil && cfg.cred.AccessKey == "":
		return caller{}, errors.New("a security token needs an access key and secret key too")
	case (cfg.cred != nil || cfg.provider != nil) && cfg.token != "":
		return caller{}, errors.New("both AK/SK credentials and an IAM token are configured; use one")
	case cfg.cred != nil:
		t.creds = &staticCredentials{Credentials{Keys: *cfg.cred, Source: "options"}}
	case cfg.provider != nil:
		t.creds = cfg.provider
	case cfg.token != "":
		t.token, source = cfg.token, sourceToken
	case cfg.unsigned:
		source = sourceNone
	default:
		return caller{}, fmt.Errorf("no credentials: set %s and %s (FromEnv), or use WithCredentials, WithCredentialsProvider, WithIAMToken or WithoutSigning", EnvAccessKey, EnvSecretKey)
	}
	hc := &http.Client{Timeout: defaultAttemptTimeout}
	if cfg.http != nil {
		copied := *cfg.http
		hc = &copied
	}
	t.next = hc.Transport
	hc.Transport = t
	// The API does not redirect, and following one would send the token
	// or a signature to wherever it points: a 3xx is an *APIError.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return caller{http: hc, retry: cfg.retry, creds: t.creds, source: source, log: cfg.log}, nil
}

// describeAuth names the kind of authentication for String, without
// secrets.
func (cfg *config) describeAuth() string {
	switch {
	case cfg.cred != nil:
		return cfg.cred.String()
	case cfg.provider != nil:
		return describeProvider(cfg.provider)
	case cfg.unsigned:
		return sourceNone
	}
	return sourceToken
}

// Project returns the project whose instances the client counts, finding
// it on first use when no option or variable gave it: the project that
// the credentials' source names (a profile's project_id), else the one
// that IAM names after the region (see IAM.ProjectID). A failure to get
// credentials is a *CredentialsError; IAM naming no project, or several,
// a *DiscoveryError.
func (c *Client) Project(ctx context.Context) (string, error) {
	if c.projectID != "" {
		return c.projectID, nil
	}
	if p := c.found.Load(); p != nil {
		return *p, nil
	}
	id := ""
	if c.creds != nil {
		cred, err := c.creds.Retrieve(ctx)
		if err != nil {
			return "", asCredentialsError(err)
		}
		if id = cred.ProjectID; id != "" {
			if err := checkProjectID(id); err != nil {
				return "", &CredentialsError{Tried: []error{fmt.Errorf("the project_id of %s: %w", cred.Source, err)}}
			}
		}
	}
	if id == "" {
		var err error
		if id, err = c.iam.ProjectID(ctx, c.region); err != nil {
			return "", err
		}
	}
	c.found.Store(&id)
	return id, nil
}

// Credentials returns the credentials the client signs with now, with
// their source, getting them if it has to: a program can check them, or
// log where they come from, before its first call. Keys print hidden.
// A failure is a *CredentialsError. A client with an IAM token, or
// WithoutSigning, has no keys: its Credentials name only their Source,
// "IAM token" or "none (unsigned requests)".
func (c *Client) Credentials(ctx context.Context) (Credentials, error) {
	if c.creds == nil {
		return Credentials{Source: c.source}, nil
	}
	cred, err := c.creds.Retrieve(ctx)
	if err != nil {
		return Credentials{}, asCredentialsError(err)
	}
	return cred, nil
}

// ProjectID is the project whose instances the client counts: the one
// given, or the one found by Project; "" until it is found.
func (c *Client) ProjectID() string {
	if c.projectID != "" {
		return c.projectID
	}
	if p := c.found.Load(); p != nil {
		return *p
	}
	return ""
}

// Region is the region whose project the client finds when it was given
// no project id.
func (c *Client) Region() string { return c.region }

// Endpoint is the base URL that requests go to.
func (c *Client) Endpoint() string { return c.endpoint }

// String describes the client without its secrets.
func (c *Client) String() string {
	project := c.ProjectID()
	if project == "" {
		project = "(to find for " + c.region + ")"
	}
	return fmt.Sprintf("client.Client{endpoint: %s, project: %s, auth: %s, attempts: %d}",
		c.endpoint, project, c.auth, c.retry.MaxAttempts)
}

// GoString keeps %#v from printing the credentials inside the transport.
func (c *Client) GoString() string { return c.String() }

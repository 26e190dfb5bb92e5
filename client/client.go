package client

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/dcskit/dcskit/gen"
)

// DefaultUserAgent is sent unless WithUserAgent says otherwise.
const DefaultUserAgent = "dcskit"

// defaultAttemptTimeout bounds one attempt when the caller brings no
// *http.Client, so that a server that never answers cannot hang a call
// whose context has no deadline.
const defaultAttemptTimeout = 30 * time.Second

// Client calls the DCS instance status API of one project. It is safe for
// concurrent use.
type Client struct {
	endpoint  string // with a trailing slash
	projectID string
	auth      string // how requests are authenticated, for String
	http      *http.Client
	retry     RetryPolicy
}

// New returns a Client. A project id and credentials are required, from
// options or FromEnv; everything else has a default: region DefaultRegion,
// http.DefaultTransport, DefaultRetryPolicy.
func New(opts ...Option) (*Client, error) {
	cfg := config{region: DefaultRegion, retry: DefaultRetryPolicy(), userAgent: DefaultUserAgent}
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return nil, fmt.Errorf("client: %w", err)
		}
	}
	c, err := cfg.build()
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return c, nil
}

func (cfg *config) build() (*Client, error) {
	if cfg.projectID == "" {
		return nil, fmt.Errorf("a project id is required (WithProjectID or %s)", EnvProjectID)
	}
	endpoint, err := cfg.resolveEndpoint()
	if err != nil {
		return nil, err
	}
	t := &authTransport{projectID: cfg.projectID, userAgent: cfg.userAgent, now: time.Now}
	switch {
	case cfg.cred != nil && cfg.cred.AccessKey == "":
		return nil, errors.New("a security token needs an access key and secret key too")
	case cfg.cred != nil && cfg.token != "":
		return nil, errors.New("both AK/SK credentials and an IAM token are configured; use one")
	case cfg.cred != nil:
		t.cred = *cfg.cred
	case cfg.token != "":
		t.token = cfg.token
	default:
		return nil, fmt.Errorf("no credentials: set %s and %s (FromEnv), or use WithCredentials or WithIAMToken", EnvAccessKey, EnvSecretKey)
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
	c := &Client{
		endpoint:  endpoint,
		projectID: cfg.projectID,
		auth:      t.describe(),
		http:      hc,
		retry:     cfg.retry,
	}
	// Build one request now, so that a project id that cannot be part of
	// a URL fails here rather than on every call.
	if _, err := gen.NewListNumberOfInstancesInDifferentStatusRequest(endpoint, cfg.projectID, nil); err != nil {
		return nil, fmt.Errorf("project id %q: %w", cfg.projectID, err)
	}
	return c, nil
}

// ProjectID is the project whose instances the client counts.
func (c *Client) ProjectID() string { return c.projectID }

// Endpoint is the base URL that requests go to.
func (c *Client) Endpoint() string { return c.endpoint }

// String describes the client without its secrets.
func (c *Client) String() string {
	return fmt.Sprintf("client.Client{endpoint: %s, project: %s, auth: %s, attempts: %d}",
		c.endpoint, c.projectID, c.auth, c.retry.MaxAttempts)
}

// GoString keeps %#v from printing the credentials inside the transport.
func (c *Client) GoString() string { return c.String() }

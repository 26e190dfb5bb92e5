package client

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/signer"
)

// DefaultRegion is the default of the servers entry in openapi/dcs.yaml.
const DefaultRegion = "cn-north-4"

// Client calls the API for one project in one region. It is safe for
// concurrent use.
type Client struct {
	caller
	endpoint, region string // endpoint with a trailing slash
	projectID        string // "" to find through the credentials or iam
	iam              *IAM
	found            *atomic.Pointer[string] // the project found; shared by copies
}

// caller sends a Client's or an IAM's requests, authenticated and retried.
// It holds no secret, so that printing a Client shows none.
type caller struct {
	http  *http.Client
	retry RetryPolicy
	creds CredentialsProvider // nil for an IAM token or none
	auth  string              // names the credentials, for String and Credentials
}

// An Option configures a Client. Each sets a field of its own, so the
// order of options never matters; an invalid value fails New.
type Option func(*config) error

type config struct {
	region, endpoint, template, projectID, iamEndpoint, token string

	keys     *signer.Credentials
	provider CredentialsProvider
	unsigned bool
	http     *http.Client
	log      *slog.Logger
	retry    RetryPolicy
	getenv   func(string) string
	iam      *IAM
}

func newConfig(opts []Option) (*config, error) {
	cfg := &config{region: DefaultRegion, retry: RetryPolicy{}.withDefaults(), getenv: func(string) string { return "" }}
	for _, opt := range opts {
		if err := opt(cfg); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// New returns a Client. Credentials are required, from options or
// FromEnv, unless WithoutSigning; all else has a default. Errors read as
// a person's mistake, without the package's name: commands show them.
func New(opts ...Option) (*Client, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	cl, err := cfg.newCaller()
	if err != nil {
		return nil, err
	}
	c := &Client{caller: cl, region: cfg.region, projectID: cfg.projectID, iam: cfg.iam, found: new(atomic.Pointer[string])}
	if c.endpoint, err = cfg.resolveEndpoint(); err != nil {
		return nil, err
	}
	if p := cfg.getenv(EnvProjectID); c.projectID == "" && p != "" {
		if err := checkProjectID(p); err != nil {
			return nil, fmt.Errorf("%s: %w", EnvProjectID, err)
		}
		c.projectID = p
	}
	if c.projectID == "" && c.iam == nil {
		c.iam, err = cfg.newIAM(cl)
	}
	return c, err
}

// resolveEndpoint takes WithEndpoint, else WithEndpointTemplate, else the
// environment's override for the region, else the region's public
// endpoint.
func (cfg *config) resolveEndpoint() (string, error) {
	name := EnvEndpointPrefix + strings.ToUpper(strings.ReplaceAll(cfg.region, "-", "_"))
	first, _, _ := strings.Cut(cfg.getenv(name), ",")
	switch {
	case cfg.endpoint != "":
		return cfg.endpoint, nil
	case cfg.template != "":
		name, first = "endpoint template for region "+cfg.region, strings.ReplaceAll(cfg.template, "{region}", cfg.region)
	case first == "":
		return "https://dcs." + cfg.region + ".myhuaweicloud.com/", nil
	}
	u, err := parseEndpoint(strings.TrimSpace(first))
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return u, nil
}

// The Source of the Credentials of a client without keys.
const (
	sourceToken = "IAM token"
	sourceNone  = "none (unsigned requests)"
)

func (cfg *config) newCaller() (caller, error) {
	var given []string
	for name, set := range map[string]bool{"WithCredentials": cfg.keys != nil, "WithCredentialsProvider": cfg.provider != nil, "WithIAMToken": cfg.token != "", "WithoutSigning": cfg.unsigned} {
		if set {
			given = append(given, name)
		}
	}
	if len(given) > 1 {
		slices.Sort(given)
		return caller{}, fmt.Errorf("%s each give credentials: use one", strings.Join(given, " and "))
	}
	t := &authTransport{token: cfg.token, now: time.Now, log: cfg.log}
	cl := caller{retry: cfg.retry, auth: sourceNone}
	switch {
	case cfg.keys != nil:
		cl.creds = &staticCredentials{Credentials{Keys: *cfg.keys, Source: "options"}}
	case cfg.provider != nil:
		cl.creds = cfg.provider
	case cfg.token != "":
		cl.auth = sourceToken
	case !cfg.unsigned:
		cred, err := EnvCredentials(cfg.getenv).Retrieve(context.Background())
		if errors.Is(err, ErrNoCredentials) {
			return caller{}, fmt.Errorf("no credentials: set %s and %s (FromEnv), or use WithCredentials, WithCredentialsProvider, WithIAMToken or WithoutSigning", EnvAccessKey, EnvSecretKey)
		} else if err != nil {
			return caller{}, err
		}
		cl.creds = &staticCredentials{cred}
	}
	if cl.creds != nil {
		t.creds, cl.auth = cl.creds, describe(cl.creds)
	}
	// Without a *http.Client of the caller's, an attempt is bounded all
	// the same, so that a server that never answers cannot hang a call
	// whose context has no deadline.
	hc := &http.Client{Timeout: 30 * time.Second}
	if cfg.http != nil {
		copied := *cfg.http
		hc = &copied
	}
	t.next, hc.Transport = hc.Transport, t
	// The API does not redirect, and following one would send the token
	// or a signature to wherever it points: a 3xx is an *APIError.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cl.http = hc
	return cl, nil
}

// FromEnv reads, at New, the official SDK's variables through getenv for
// what the other options leave open: the keys (EnvAccessKey, EnvSecretKey,
// EnvSecurityToken), the project (EnvProjectID), the region's endpoint
// (EnvEndpointPrefix+REGION, the first of a list) and EnvIAMEndpoint.
func FromEnv(getenv func(string) string) Option {
	return func(c *config) error {
		if getenv != nil {
			c.getenv = getenv
		}
		return nil
	}
}

// WithRegion selects the region, such as "ap-southeast-1": the one of the
// endpoint https://dcs.<region>.myhuaweicloud.com and of the project to
// find in IAM.
func WithRegion(region string) Option {
	return func(c *config) error {
		c.region = region
		return refuse(region == "" || strings.ContainsAny(region, "/:@ "), fmt.Sprintf("invalid region %q", region))
	}
}

// WithEndpoint sets the base URL of the API, such as a fake's, whatever
// the region, WithEndpointTemplate and the environment say.
func WithEndpoint(endpoint string) Option {
	return func(c *config) (err error) { c.endpoint, err = parseEndpoint(endpoint); return err }
}

// WithEndpointTemplate sets the base URL of the API in every region, with
// "{region}" replaced, as in "https://dcs.{region}.example"; a fake's URL
// serves every region. It wins over the environment.
func WithEndpointTemplate(template string) Option {
	return func(c *config) error {
		if _, err := parseEndpoint(strings.ReplaceAll(template, "{region}", DefaultRegion)); err != nil {
			return fmt.Errorf("endpoint template: %w", err)
		}
		c.template = template
		return nil
	}
}

// WithProjectID sets the project whose instances are counted. Without
// one, from here, FromEnv or the credentials' source, the client looks up
// the project named after its region in IAM, as the official SDK does.
func WithProjectID(id string) Option {
	return func(c *config) error { c.projectID = id; return checkProjectID(id) }
}

func checkProjectID(id string) error {
	return refuse(!dcs.ValidProjectID(id), fmt.Sprintf("invalid project id %q: want %s", id, dcs.ProjectIDRule))
}

// WithCredentials signs every request with an access key and secret key.
// Temporary keys, with a security token, come from a CredentialsProvider.
func WithCredentials(accessKey, secretKey string) Option {
	return func(c *config) error {
		c.keys = &signer.Credentials{AccessKey: accessKey, SecretKey: secretKey}
		return c.keys.Validate()
	}
}

// WithCredentialsProvider signs every request with the credentials p
// gives at the time, such as profile.DefaultChain's, and takes the project
// and IAM endpoint they name, if options and the environment name none.
func WithCredentialsProvider(p CredentialsProvider) Option {
	return func(c *config) error { c.provider = p; return refuse(p == nil, "nil CredentialsProvider") }
}

// WithIAMToken sends an IAM user token in X-Auth-Token instead of a
// signature.
func WithIAMToken(token string) Option {
	return func(c *config) error { c.token = token; return refuse(token == "", "empty IAM token") }
}

// WithoutSigning sends no credentials, to IAM either, for an endpoint that
// needs none, such as a fake without them (the AWS CLI's
// --no-sign-request).
func WithoutSigning() Option {
	return func(c *config) error { c.unsigned = true; return nil }
}

// WithIAMEndpoint sets the base URL of IAM, whatever EnvIAMEndpoint and
// the credentials' source say.
func WithIAMEndpoint(endpoint string) Option {
	return func(c *config) (err error) {
		if c.iamEndpoint, err = parseIAMEndpoint(endpoint); err != nil {
			return fmt.Errorf("IAM endpoint: %w", err)
		}
		return nil
	}
}

// WithIAM makes a client without a project id look it up through i, whose
// answers every client given i shares. Without it, each such client has
// an IAM of its own.
func WithIAM(i *IAM) Option {
	return func(c *config) error { c.iam = i; return refuse(i == nil, "nil *IAM") }
}

// WithLogger logs every HTTP exchange, IAM's too, at level Debug: attempt,
// method, URL, status, X-Request-Id, duration, and the Authorization
// header with its signature replaced. No secret is ever logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { c.log = l; return refuse(l == nil, "nil *slog.Logger") }
}

// WithHTTPClient sends requests through a copy of hc, never changed: its
// Transport carries them, its Timeout bounds each attempt. Redirects are
// never followed, whatever hc.CheckRedirect says.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error { c.http = hc; return refuse(hc == nil, "nil *http.Client") }
}

// WithRetry replaces the retry policy; zero fields take their defaults.
func WithRetry(p RetryPolicy) Option {
	return func(c *config) error {
		c.retry = p.withDefaults()
		return refuse(p.MaxAttempts < 0, fmt.Sprintf("negative MaxAttempts %d", p.MaxAttempts))
	}
}

func refuse(bad bool, msg string) error {
	if bad {
		return errors.New(msg)
	}
	return nil
}

// parseEndpoint checks a base URL and returns it with a trailing slash,
// so that the generated request builder resolves the operation's path
// below any path prefix instead of replacing it.
func parseEndpoint(s string) (string, error) {
	if !strings.Contains(s, "://") {
		// Else url.Parse reads "127.0.0.1:8080" as a scheme and an
		// opaque part, or fails on the colon of a host:port.
		msg := "invalid endpoint: no scheme: want http:// or https:// before the host"
		if u, err := url.Parse("http://" + s); err == nil && u.Host != "" {
			msg += ", as in " + u.Redacted()
		}
		return "", errors.New(msg)
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", fmt.Errorf("invalid endpoint: %w", errors.Unwrap(err)) // *url.Error repeats the URL, password and all
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return "", fmt.Errorf("invalid endpoint %q: want http(s)://host[:port][/path]", u.Redacted())
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("invalid endpoint %q: no user info, query or fragment allowed", u.Redacted())
	}
	return strings.TrimSuffix(u.String(), "/") + "/", nil
}

// ProjectID returns the project whose instances the client counts. When
// no option or variable gave it, it is found on first use: the project
// that the credentials name, else the one IAM names after the region. A
// failure to get credentials is a *CredentialsError; IAM naming no
// project, or several, a *DiscoveryError.
func (c *Client) ProjectID(ctx context.Context) (string, error) {
	if c.projectID != "" {
		return c.projectID, nil
	}
	if p := c.found.Load(); p != nil {
		return *p, nil
	}
	cred, err := c.Credentials(ctx)
	if err != nil {
		return "", err
	}
	id := cred.ProjectID
	if id == "" {
		if id, err = c.iam.ProjectID(ctx, c.region); err != nil {
			return "", err
		}
	} else if err := checkProjectID(id); err != nil {
		return "", &CredentialsError{Tried: []error{fmt.Errorf("the project_id of %s: %w", cred.Source, err)}}
	}
	c.found.Store(&id)
	return id, nil
}

// Credentials returns the credentials the client signs with now, getting
// them if it has to, so that a program can check them before its first
// call; a failure is a *CredentialsError. Without keys, they name only
// their Source: "IAM token" or "none (unsigned requests)".
func (c *Client) Credentials(ctx context.Context) (Credentials, error) {
	if c.creds == nil {
		return Credentials{Source: c.auth}, nil
	}
	cred, err := c.creds.Retrieve(ctx)
	if err != nil {
		return Credentials{}, asCredentialsError(err)
	}
	return cred, nil
}

// Region is the client's region.
func (c *Client) Region() string { return c.region }

// Endpoint is the base URL that requests go to.
func (c *Client) Endpoint() string { return c.endpoint }

// String describes the client without its secrets.
func (c *Client) String() string {
	project := cmp.Or(c.projectID, "(to find for "+c.region+")")
	if p := c.found.Load(); p != nil {
		project = *p
	}
	return fmt.Sprintf("client.Client{endpoint: %s, project: %s, auth: %s, attempts: %d}", c.endpoint, project, c.auth, c.retry.MaxAttempts)
}

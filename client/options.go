package client

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/signer"
)

// DefaultRegion is the region used when no region or endpoint is given.
// It is the default of the servers entry in openapi/dcs.yaml.
const DefaultRegion = "cn-north-4"

// Environment variables that FromEnv reads. They are the official Huawei
// Cloud SDK's names, so one configuration serves both.
const (
	EnvAccessKey     = "HUAWEICLOUD_SDK_AK"
	EnvSecretKey     = "HUAWEICLOUD_SDK_SK"
	EnvSecurityToken = "HUAWEICLOUD_SDK_SECURITY_TOKEN"
	EnvProjectID     = "HUAWEICLOUD_SDK_PROJECT_ID"
	// EnvEndpointPrefix plus the region, upper-cased with '-' turned into
	// '_', overrides the region's endpoint, as in
	// HUAWEICLOUD_SDK_REGION_DCS_CN_NORTH_4=https://dcs.example.com.
	EnvEndpointPrefix = "HUAWEICLOUD_SDK_REGION_DCS_"
)

// An Option configures a Client. Options apply in order, a later one
// overriding an earlier one, and report invalid values from New.
type Option func(*config) error

// config is what the options collect; New resolves it into a Client.
type config struct {
	region    string
	endpoint  string
	template  string // WithEndpointTemplate
	projectID string
	cred      *signer.Credentials
	provider  CredentialsProvider // instead of cred
	token     string
	unsigned  bool // WithoutSigning
	http      *http.Client
	log       *slog.Logger
	retry     RetryPolicy
	userAgent string
	// getenv is kept so that the endpoint override can be looked up for
	// the final region, whatever the order of FromEnv and WithRegion.
	getenv      func(string) string
	iamEndpoint string
	iam         *IAM
}

// newConfig applies opts to the defaults.
func newConfig(opts []Option) (*config, error) {
	cfg := &config{region: DefaultRegion, retry: DefaultRetryPolicy(), userAgent: DefaultUserAgent}
	for _, opt := range opts {
		if err := opt(cfg); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// WithRegion selects the region, such as "ap-southeast-1". Its endpoint
// is https://dcs.<region>.myhuaweicloud.com unless WithEndpoint,
// WithEndpointTemplate or the environment's endpoint override says
// otherwise. A client without a project id looks up the region's project.
func WithRegion(region string) Option {
	return func(c *config) error {
		if region == "" || strings.ContainsAny(region, "/:@ ") {
			return fmt.Errorf("invalid region %q", region)
		}
		c.region = region
		return nil
	}
}

// WithEndpoint sets the base URL of the API, such as
// "https://dcs.cn-north-4.myhuaweicloud.com" or a fake server's URL. It
// wins over the region and the environment.
func WithEndpoint(endpoint string) Option {
	return func(c *config) error {
		u, err := parseEndpoint(endpoint)
		if err != nil {
			return err
		}
		c.endpoint = u
		return nil
	}
}

// WithEndpointTemplate sets the base URL of the API for every region:
// "{region}" in it is replaced by the region, as in
// "https://dcs.{region}.example.com"; a template without it, such as a
// fake's "http://127.0.0.1:8080", serves every region. It wins over the
// environment's endpoint override; WithEndpoint wins over it.
func WithEndpointTemplate(template string) Option {
	return func(c *config) error {
		if _, err := expandTemplate(template, DefaultRegion); err != nil {
			return fmt.Errorf("endpoint template: %w", err)
		}
		c.template = template
		return nil
	}
}

// regionPlaceholder is what WithEndpointTemplate replaces.
const regionPlaceholder = "{region}"

func expandTemplate(template, region string) (string, error) {
	return parseEndpoint(strings.ReplaceAll(template, regionPlaceholder, region))
}

// WithProjectID sets the project whose instances are counted. Without one,
// from here, FromEnv or the credentials' source, the client looks up the
// project named after its region in IAM, as the official SDK does: see
// WithIAM.
func WithProjectID(id string) Option {
	return func(c *config) error {
		if err := checkProjectID(id); err != nil {
			return err
		}
		c.projectID = id
		return nil
	}
}

// checkProjectID refuses an id that dcs.ValidProjectID does not accept,
// before anything is sent.
func checkProjectID(id string) error {
	if !dcs.ValidProjectID(id) {
		return fmt.Errorf("invalid project id %q: want %s", id, dcs.ProjectIDRule)
	}
	return nil
}

// WithCredentials signs every request with an access key and secret key
// (SDK-HMAC-SHA256). It replaces earlier credentials but keeps a security
// token set by WithSecurityToken.
func WithCredentials(accessKey, secretKey string) Option {
	return func(c *config) error {
		cred := signer.Credentials{AccessKey: accessKey, SecretKey: secretKey}
		if c.cred != nil {
			cred.SecurityToken = c.cred.SecurityToken
		}
		return c.setCredentials(cred)
	}
}

// WithCredentialsProvider signs every request with the credentials p
// gives at the time, such as those of a Chain (see package
// client/profile for the official SDK's). It replaces earlier
// credentials, and a later WithCredentials or FromEnv's keys replace it.
// The project and IAM endpoint that p's source names apply unless
// options or the environment name others.
func WithCredentialsProvider(p CredentialsProvider) Option {
	return func(c *config) error {
		if p == nil {
			return errors.New("nil CredentialsProvider")
		}
		c.provider, c.cred, c.unsigned = p, nil, false
		return nil
	}
}

// WithIAMEndpoint sets the base URL of IAM, where a client without a
// project id looks it up; it wins over EnvIAMEndpoint and the
// credentials' source. See DefaultIAMEndpoint.
func WithIAMEndpoint(endpoint string) Option {
	return func(c *config) error {
		u, err := parseIAMEndpoint(endpoint)
		if err != nil {
			return fmt.Errorf("IAM endpoint: %w", err)
		}
		c.iamEndpoint = u
		return nil
	}
}

// WithIAM makes a client without a project id look it up through i,
// whose answers are kept and shared by every client given i. Without it,
// each such client has an IAM of its own, made from the same options.
func WithIAM(i *IAM) Option {
	return func(c *config) error {
		if i == nil {
			return errors.New("nil *IAM")
		}
		c.iam = i
		return nil
	}
}

// WithOptions applies opts in order, as one option: for packages that
// offer a configuration made of several, such as client/profile.
func WithOptions(opts ...Option) Option {
	return func(c *config) error {
		for _, opt := range opts {
			if err := opt(c); err != nil {
				return err
			}
		}
		return nil
	}
}

// WithSecurityToken adds the security token of temporary credentials. It
// needs WithCredentials too, in either order.
func WithSecurityToken(token string) Option {
	return func(c *config) error {
		if token == "" {
			return errors.New("empty security token")
		}
		if c.cred == nil {
			c.cred = &signer.Credentials{}
		}
		c.cred.SecurityToken = token
		c.unsigned = false
		return nil
	}
}

// WithIAMToken authenticates with an IAM user token in X-Auth-Token
// instead of a signature. A client has one kind of credentials: New fails
// if both a token and an access key are configured, rather than guess.
func WithIAMToken(token string) Option {
	return func(c *config) error {
		if token == "" {
			return errors.New("empty IAM token")
		}
		c.token, c.unsigned = token, false
		return nil
	}
}

// WithoutSigning sends every request, IAM's too, with no credentials: no
// signature, X-Auth-Token or X-Security-Token. It is for endpoints that
// ask for none, such as a fake started without credentials; the AWS
// CLI's --no-sign-request does the same. It drops the credentials of
// earlier options, and credentials given by a later option end it.
func WithoutSigning() Option {
	return func(c *config) error {
		c.unsigned, c.cred, c.provider, c.token = true, nil, nil, ""
		return nil
	}
}

// WithLogger logs every HTTP exchange of the client, IAM's included, at
// level Debug: the attempt number, method, URL, status, X-Request-Id and
// duration, and the Authorization header with its signature replaced by
// signer.RedactedValue. No secret key, token or signature is ever logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("nil *slog.Logger")
		}
		c.log = l
		return nil
	}
}

// WithHTTPClient sends requests through a copy of hc. hc itself is never
// changed; its Transport (or http.DefaultTransport) carries the
// authenticated requests, and its Timeout bounds each attempt. Redirects
// are never followed, whatever hc.CheckRedirect says.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("nil *http.Client")
		}
		c.http = hc
		return nil
	}
}

// WithRetry replaces the retry policy. Zero fields take their defaults.
func WithRetry(p RetryPolicy) Option {
	return func(c *config) error {
		if p.MaxAttempts < 0 {
			return fmt.Errorf("negative MaxAttempts %d", p.MaxAttempts)
		}
		c.retry = p.withDefaults()
		return nil
	}
}

// WithoutRetry makes every call a single attempt.
func WithoutRetry() Option {
	return WithRetry(RetryPolicy{MaxAttempts: 1})
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *config) error {
		if ua == "" {
			return errors.New("empty user agent")
		}
		c.userAgent = ua
		return nil
	}
}

// FromEnv reads the official SDK's variables through getenv (nil means
// none are set): EnvAccessKey and EnvSecretKey, EnvSecurityToken,
// EnvProjectID, the endpoint override EnvEndpointPrefix+REGION, whose
// value may be a comma-separated list of which the first is used, and
// EnvIAMEndpoint. Unset variables leave the configuration as it is. The
// override is looked up for the region in force when New runs, so one
// environment serves clients of several regions; WithEndpoint and
// WithEndpointTemplate still win over it.
func FromEnv(getenv func(string) string) Option {
	return func(c *config) error {
		if getenv == nil {
			return nil
		}
		c.getenv = getenv
		keys, err := envKeys(getenv)
		switch {
		case errors.Is(err, ErrNoCredentials):
		case err != nil:
			return err
		default:
			if err := c.setCredentials(keys); err != nil {
				return err
			}
		}
		if p := getenv(EnvProjectID); p != "" {
			if err := checkProjectID(p); err != nil {
				return fmt.Errorf("%s: %w", EnvProjectID, err)
			}
			c.projectID = p
		}
		return nil
	}
}

func (c *config) setCredentials(cred signer.Credentials) error {
	if err := cred.Validate(); err != nil {
		return err
	}
	c.cred, c.provider, c.unsigned = &cred, nil, false
	return nil
}

// resolveEndpoint picks, in this order: WithEndpoint,
// WithEndpointTemplate, the environment's override for the region, the
// region's public endpoint.
func (c *config) resolveEndpoint() (string, error) {
	if c.endpoint != "" {
		return c.endpoint, nil
	}
	if c.template != "" {
		u, err := expandTemplate(c.template, c.region)
		if err != nil {
			return "", fmt.Errorf("endpoint template for region %s: %w", c.region, err)
		}
		return u, nil
	}
	if c.getenv != nil {
		name := EnvEndpointPrefix + strings.ToUpper(strings.ReplaceAll(c.region, "-", "_"))
		if v := c.getenv(name); v != "" {
			first, _, _ := strings.Cut(v, ",")
			u, err := parseEndpoint(strings.TrimSpace(first))
			if err != nil {
				return "", fmt.Errorf("%s: %w", name, err)
			}
			return u, nil
		}
	}
	return "https://dcs." + c.region + ".myhuaweicloud.com/", nil
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
	if err != nil {
		// url.Error repeats the whole URL, which may hold a password.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("invalid endpoint: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("invalid endpoint %q: want http(s)://host[:port][/path]", u.Redacted())
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("invalid endpoint %q: no user info, query or fragment allowed", u.Redacted())
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u.String(), nil
}

package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dcskit/dcskit/signer"
)

// DefaultMetadataEndpoint is the ECS metadata service, reachable from
// inside an ECS instance only.
const DefaultMetadataEndpoint = "http://169.254.169.254"

// EnvMetadataEndpoint overrides DefaultMetadataEndpoint for the default
// credential chain (package profile). It is dcskit's, not the official
// SDK's, which has no such variable: tests point it at a server on
// loopback, so that nothing ever goes to 169.254.169.254.
const EnvMetadataEndpoint = "DCSKIT_METADATA_ENDPOINT"

const (
	// metadataRefreshBefore is how long before they expire temporary keys
	// are fetched again: the official SDK's 40 minutes.
	metadataRefreshBefore = 40 * time.Minute
	// metadataRetryAfter spaces out fetches while the keys in hand still
	// work, so that a metadata service that fails, or keys that live less
	// than metadataRefreshBefore, do not cost a fetch per request.
	metadataRetryAfter = time.Minute
	// metadataTimeout bounds one request to the metadata service, as the
	// SDK's 3 seconds do: off ECS, 169.254.169.254 may never answer.
	metadataTimeout = 3 * time.Second
	// metadataTokenTTL is the lifetime asked of a metadata session token
	// (the SDK's 6 hours); a token serves one fetch here.
	metadataTokenTTL = "21600"
	maxMetadataBody  = 64 << 10
)

// Paths and headers of the ECS metadata service, as the official SDK
// uses them: a session token first (where the service requires one), then
// the temporary keys of the instance's agency.
const (
	metadataTokenPath    = "/meta-data/latest/api/token"
	metadataKeyPath      = "/openstack/latest/securitykey"
	headerMetadataToken  = "X-Metadata-Token"
	headerMetadataTTL    = "X-Metadata-Token-Ttl-Seconds"
	metadataSourcePrefix = "ECS metadata "
)

// MetadataOptions configure NewMetadataCredentials. The zero value asks
// DefaultMetadataEndpoint.
type MetadataOptions struct {
	// Endpoint is the metadata service's base URL; "" means
	// DefaultMetadataEndpoint.
	Endpoint string
	// HTTPClient sends the requests; nil means a client of its own that
	// bypasses any proxy and gives up on a request after 3 seconds.
	HTTPClient *http.Client
	// Now tells when keys are due for a refresh; nil means time.Now.
	Now func() time.Time
}

// MetadataCredentials are the temporary keys of an ECS instance's agency,
// from the ECS metadata service, the last source of the official SDK's
// chain. It fetches them on first use and again when less than 40 minutes
// are left, as the SDK does, but not more than once a minute; if a
// refresh fails while the keys in hand still work, it goes on with them
// and tries again a minute later. It is safe for concurrent use.
type MetadataCredentials struct {
	endpoint string // no trailing slash
	http     *http.Client
	now      func() time.Time

	lock      chan struct{} // held while fetching; a caller may give up waiting
	cur       *Credentials
	nextFetch time.Time // no fetch before, while cur works or is fresh
	fresh     bool      // cur came from the last fetch, which succeeded
}

// NewMetadataCredentials returns a provider of the ECS metadata service's
// keys. It sends nothing until asked.
func NewMetadataCredentials(o MetadataOptions) (*MetadataCredentials, error) {
	endpoint := o.Endpoint
	if endpoint == "" {
		endpoint = DefaultMetadataEndpoint
	}
	base, err := parseEndpoint(endpoint)
	if err != nil {
		return nil, fmt.Errorf("metadata endpoint: %w", err)
	}
	hc := o.HTTPClient
	if hc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.Proxy = nil // the service is link-local: no proxy reaches it
		hc = &http.Client{Transport: t, Timeout: metadataTimeout}
	}
	copied := *hc
	copied.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &MetadataCredentials{
		endpoint: strings.TrimSuffix(base, "/"),
		http:     &copied,
		now:      now,
		lock:     make(chan struct{}, 1),
	}, nil
}

func (m *MetadataCredentials) String() string { return metadataSourcePrefix + m.endpoint }

// Retrieve returns the keys in hand, fetching them first when there are
// none, when they have expired, or when they will within 40 minutes.
func (m *MetadataCredentials) Retrieve(ctx context.Context) (Credentials, error) {
	select {
	case m.lock <- struct{}{}:
	case <-ctx.Done():
		return Credentials{}, ctx.Err()
	}
	defer func() { <-m.lock }()
	now := m.now()
	// Keys the service has just given are used for a minute even if
	// they look expired: they are the best there is, and a clock that
	// disagrees with the service's must not cost a fetch per request.
	if m.cur != nil && (now.Before(m.cur.Expires.Add(-metadataRefreshBefore)) ||
		now.Before(m.nextFetch) && (m.fresh || now.Before(m.cur.Expires))) {
		return *m.cur, nil
	}
	m.nextFetch = now.Add(metadataRetryAfter)
	cred, err := m.fetch(ctx)
	if err != nil {
		m.fresh = false
		if m.cur != nil && now.Before(m.cur.Expires) && ctx.Err() == nil {
			return *m.cur, nil
		}
		return Credentials{}, err
	}
	m.cur, m.fresh = &cred, true
	return cred, nil
}

// securityKey is the metadata service's answer: the keys, and their
// expiry, such as "2026-05-01T12:00:00.000000Z".
type securityKey struct {
	Credential struct {
		Access        string `json:"access"`
		Secret        string `json:"secret"`
		SecurityToken string `json:"securitytoken"`
		ExpiresAt     string `json:"expires_at"`
	} `json:"credential"`
}

func (m *MetadataCredentials) fetch(ctx context.Context) (Credentials, error) {
	token, err := m.sessionToken(ctx)
	if err != nil {
		return Credentials{}, err
	}
	header := http.Header{}
	if token != "" {
		header.Set(headerMetadataToken, token)
	}
	status, body, err := m.call(ctx, http.MethodGet, metadataKeyPath, header)
	if err != nil {
		return Credentials{}, err
	}
	if status != http.StatusOK {
		return Credentials{}, m.errorf("%s: %s", metadataKeyPath, httpFailure(status, body))
	}
	var sk securityKey
	// The decoder's errors name a field or an offset, never a value.
	if err := json.Unmarshal(body, &sk); err != nil {
		return Credentials{}, m.errorf("%s: not the service's JSON: %v", metadataKeyPath, err)
	}
	c := sk.Credential
	var missing []string
	for _, f := range []struct{ name, value string }{
		{"access", c.Access}, {"secret", c.Secret}, {"securitytoken", c.SecurityToken}, {"expires_at", c.ExpiresAt},
	} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return Credentials{}, m.errorf("%s: the answer lacks credential.%s", metadataKeyPath, strings.Join(missing, ", credential."))
	}
	expires, err := time.Parse(time.RFC3339, c.ExpiresAt)
	if err != nil {
		return Credentials{}, m.errorf("%s: credential.expires_at %q is not a UTC time such as 2006-01-02T15:04:05Z", metadataKeyPath, clean(c.ExpiresAt, 40))
	}
	return Credentials{
		Keys:    signer.Credentials{AccessKey: c.Access, SecretKey: c.Secret, SecurityToken: c.SecurityToken},
		Expires: expires,
		Source:  m.String(),
	}, nil
}

// sessionToken asks for a metadata session token. A service that does
// not issue them (404, 405 or 503, as the SDK reads it) serves the keys
// without one: "" and no error.
func (m *MetadataCredentials) sessionToken(ctx context.Context) (string, error) {
	status, body, err := m.call(ctx, http.MethodPut, metadataTokenPath, http.Header{headerMetadataTTL: {metadataTokenTTL}})
	switch {
	case err != nil:
		return "", err
	case status == http.StatusOK:
		return strings.TrimSpace(string(body)), nil
	case status == http.StatusNotFound, status == http.StatusMethodNotAllowed, status == http.StatusServiceUnavailable:
		return "", nil
	}
	return "", m.errorf("%s: %s", metadataTokenPath, httpFailure(status, body))
}

// call makes one request. A service that cannot be reached means that
// this is no ECS instance: ErrNoCredentials.
func (m *MetadataCredentials) call(ctx context.Context, method, path string, header http.Header) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, m.endpoint+path, nil)
	if err != nil {
		return 0, nil, m.errorf("%v", err)
	}
	req.Header = header
	resp, err := m.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		return 0, nil, NoCredentials(m.String(), "not reachable: "+unwrapURLError(err).Error())
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataBody))
	if err != nil {
		return 0, nil, m.errorf("%s: reading the answer: %v", path, unwrapURLError(err))
	}
	return resp.StatusCode, body, nil
}

func (m *MetadataCredentials) errorf(format string, args ...any) error {
	return fmt.Errorf("%s: %s", m.String(), fmt.Sprintf(format, args...))
}

// httpFailure describes an error answer: its status and an excerpt of its
// body, which for the metadata service says what is wrong, such as
// "Please configure Cloud Service Agency first".
func httpFailure(status int, body []byte) string {
	s := fmt.Sprintf("HTTP %d", status)
	if text := clean(stripTags(string(body)), 200); text != "" {
		s += ": " + text
	}
	return s
}

// unwrapURLError drops the method and URL that *url.Error repeats: the
// source's name already says where.
func unwrapURLError(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}

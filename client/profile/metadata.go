package profile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/signer"
)

// The ECS metadata service, which only an ECS instance reaches, and the
// official SDK's terms for it: keys are fetched again when less than 40
// minutes are left; a request gives up after 3 seconds, since off ECS the
// address may never answer; a session token is asked for 6 hours, though
// here it serves one fetch.
const (
	envMetadataEndpoint = "DCSKIT_METADATA_ENDPOINT"
	metadataEndpoint    = "http://169.254.169.254"
	metadataRefresh     = 40 * time.Minute
	metadataTokenPath   = "/meta-data/latest/api/token"
	metadataKeyPath     = "/openstack/latest/securitykey"
)

// metadata gives the temporary keys of an ECS instance's agency: it
// fetches them on first use and again when less than 40 minutes are left,
// but not more than once a minute, so that a service that fails, or keys
// that live less than 40 minutes, do not cost a fetch per request. If a
// refresh fails while the keys in hand still work, it goes on with them.
type metadata struct {
	endpoint string
	bad      error // the endpoint is no URL
	http     *http.Client
	now      func() time.Time

	mu        sync.Mutex
	cur       *client.Credentials
	nextFetch time.Time // no fetch before, while cur works or is fresh
	fresh     bool      // cur came from the last fetch, which succeeded
}

func newMetadata(endpoint string) *metadata {
	m := &metadata{endpoint: strings.TrimSuffix(endpoint, "/"), now: time.Now}
	if m.endpoint == "" {
		m.endpoint = metadataEndpoint
	}
	if u, err := url.Parse(m.endpoint); err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		m.bad = fmt.Errorf("ECS metadata: %s %q is not an http(s) URL", envMetadataEndpoint, endpoint)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil // the service is link-local: no proxy reaches it
	m.http = &http.Client{Transport: t, Timeout: 3 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return m
}

func (m *metadata) String() string { return "ECS metadata " + m.endpoint }

func (m *metadata) Retrieve(ctx context.Context) (client.Credentials, error) {
	if m.bad != nil {
		return client.Credentials{}, m.bad
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	// Keys the service has just given are used for a minute even if they
	// look expired: a clock that disagrees with the service's must not
	// cost a fetch per request.
	if m.cur != nil && (now.Before(m.cur.Expires.Add(-metadataRefresh)) || now.Before(m.nextFetch) && (m.fresh || now.Before(m.cur.Expires))) {
		return *m.cur, nil
	}
	m.nextFetch = now.Add(time.Minute)
	cred, err := m.fetch(ctx)
	if m.fresh = err == nil; err == nil {
		m.cur = &cred
	} else if m.cur != nil && now.Before(m.cur.Expires) && ctx.Err() == nil {
		return *m.cur, nil
	}
	return cred, err
}

// fetch asks for a session token first, where the service issues them,
// then for the keys, as the SDK does.
func (m *metadata) fetch(ctx context.Context) (client.Credentials, error) {
	status, token, err := m.call(ctx, http.MethodPut, metadataTokenPath, "X-Metadata-Token-Ttl-Seconds", "21600")
	switch {
	case err != nil:
		return client.Credentials{}, err
	case status == http.StatusNotFound || status == http.StatusMethodNotAllowed || status == http.StatusServiceUnavailable:
		token = nil // no session tokens here, as the SDK reads these
	case status != http.StatusOK:
		return client.Credentials{}, m.failure(metadataTokenPath, status, token)
	}
	status, body, err := m.call(ctx, http.MethodGet, metadataKeyPath, "X-Metadata-Token", strings.TrimSpace(string(token)))
	if err != nil {
		return client.Credentials{}, err
	} else if status != http.StatusOK {
		return client.Credentials{}, m.failure(metadataKeyPath, status, body)
	}
	var answer struct {
		Credential struct {
			Access, Secret, SecurityToken string
			ExpiresAt                     string `json:"expires_at"` // such as 2026-05-01T12:00:00.000000Z
		}
	}
	if err := json.Unmarshal(body, &answer); err != nil { // its errors name a field or an offset, never a value
		return client.Credentials{}, fmt.Errorf("%s: %s: not the service's JSON: %v", m, metadataKeyPath, err)
	}
	c := answer.Credential
	var missing []string
	for _, f := range [][2]string{{"access", c.Access}, {"secret", c.Secret}, {"securitytoken", c.SecurityToken}, {"expires_at", c.ExpiresAt}} {
		if f[1] == "" {
			missing = append(missing, "credential."+f[0])
		}
	}
	if len(missing) > 0 {
		return client.Credentials{}, fmt.Errorf("%s: %s: the answer lacks %s", m, metadataKeyPath, strings.Join(missing, ", "))
	}
	expires, err := time.Parse(time.RFC3339, c.ExpiresAt)
	if err != nil {
		return client.Credentials{}, fmt.Errorf("%s: %s: credential.expires_at %q is not a UTC time such as 2006-01-02T15:04:05Z", m, metadataKeyPath, excerpt([]byte(c.ExpiresAt), 40))
	}
	keys := signer.Credentials{AccessKey: c.Access, SecretKey: c.Secret, SecurityToken: c.SecurityToken}
	return client.Credentials{Keys: keys, Expires: expires, Source: m.String()}, nil
}

// call makes one request, with the header name: value if value is not "".
// A service that cannot be reached means that this is no ECS instance:
// client.ErrNoCredentials.
func (m *metadata) call(ctx context.Context, method, path, name, value string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, m.endpoint+path, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %v", m, err)
	}
	if value != "" {
		req.Header.Set(name, value)
	}
	resp, err := m.http.Do(req)
	if err != nil && ctx.Err() != nil {
		return 0, nil, ctx.Err()
	} else if err != nil { // the method and URL that *url.Error repeats are in the name
		return 0, nil, client.NoCredentials(m.String(), "not reachable: "+errors.Unwrap(err).Error())
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %s: reading the answer: %v", m, path, err)
	}
	return resp.StatusCode, body, nil
}

// failure describes an error answer: its status and an excerpt of its
// body, which says what is wrong, such as "Please configure Cloud Service
// Agency first".
func (m *metadata) failure(path string, status int, body []byte) error {
	return fmt.Errorf("%s: %s: %s", m, path, strings.TrimSuffix(fmt.Sprintf("HTTP %d: %s", status, excerpt(body, 200)), ": "))
}

// excerpt is the start of text from the service, on one printable line.
func excerpt(b []byte, max int) string {
	s := []rune(strings.Join(strings.FieldsFunc(string(b), func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }), " "))
	return string(s[:min(len(s), max)])
}

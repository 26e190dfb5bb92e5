package profile

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/internal/clock"
)

// metadataEpoch is when the metadata tests' clock starts.
var metadataEpoch = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// ecsMetadata is an ECS metadata service on loopback. Each fetch of the
// keys hands out testAK/testSK with a new security token, "session-<n>",
// valid for lifetime from the clock's now.
type ecsMetadata struct {
	*httptest.Server
	clock *clock.Manual

	mu       sync.Mutex
	lifetime time.Duration
	// sessions says whether the service issues session tokens, and
	// requires one, as newer ECS instances do; without, the token
	// request gets a 405.
	sessions bool
	fail     int // answer the key requests with this status, if set
	fetches  int // key requests answered with keys
	keyReqs  int // key requests
}

const metadataSession = "metadata-session-token"

func startMetadata(t *testing.T, start time.Time, sessions bool) *ecsMetadata {
	t.Helper()
	m := &ecsMetadata{clock: clock.NewManual(start), lifetime: 2 * time.Hour, sessions: sessions}
	m.Server = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(m.Close)
	return m
}

func (m *ecsMetadata) serve(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case r.Method == http.MethodPut && r.URL.Path == metadataTokenPath && !m.sessions:
		w.WriteHeader(http.StatusMethodNotAllowed)
	case r.Method == http.MethodPut && r.URL.Path == metadataTokenPath && r.Header.Get("X-Metadata-Token-Ttl-Seconds") == "":
		w.WriteHeader(http.StatusBadRequest)
	case r.Method == http.MethodPut && r.URL.Path == metadataTokenPath:
		_, _ = w.Write([]byte(metadataSession))
	case r.Method == http.MethodGet && r.URL.Path == metadataKeyPath:
		m.keyReqs++
		switch {
		case m.sessions && r.Header.Get("X-Metadata-Token") != metadataSession:
			w.WriteHeader(http.StatusUnauthorized)
		case m.fail != 0:
			w.WriteHeader(m.fail)
			_, _ = w.Write([]byte("Please configure Cloud Service Agency first"))
		default:
			m.fetches++
			expires := m.clock.Now().Add(m.lifetime).Format("2006-01-02T15:04:05.000000Z")
			_, _ = fmt.Fprintf(w, `{"credential":{"access":%q,"secret":%q,"securitytoken":"session-%d","expires_at":%q}}`,
				testAK, testSK, m.fetches, expires)
		}
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func (m *ecsMetadata) set(f func(*ecsMetadata)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f(m)
}

func (m *ecsMetadata) counts() (fetches, keyReqs int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fetches, m.keyReqs
}

// provider is the service's provider, on the service's clock.
func (m *ecsMetadata) provider() *metadata {
	p := newMetadata(m.URL)
	p.now = m.clock.Now
	return p
}

// Keys are fetched again when less than 40 minutes are left, not before,
// with a session token where the service issues them.
func TestMetadataRefresh(t *testing.T) {
	t.Parallel()
	for _, sessions := range []bool{true, false} {
		t.Run(fmt.Sprintf("session tokens %v", sessions), func(t *testing.T) {
			t.Parallel()
			m := startMetadata(t, metadataEpoch, sessions)
			p := m.provider()
			token := func() string {
				t.Helper()
				cred, err := p.Retrieve(t.Context())
				require.NoError(t, err)
				return cred.Keys.SecurityToken
			}
			assert.Equal(t, "session-1", token())
			m.clock.Advance(time.Hour) // 60 minutes left
			assert.Equal(t, "session-1", token())
			m.clock.Advance(21 * time.Minute) // 39 minutes left
			assert.Equal(t, "session-2", token())
			assert.Equal(t, "session-2", token())
			fetches, _ := m.counts()
			assert.Equal(t, 2, fetches)
		})
	}
}

// A refresh that fails while the keys in hand still work goes on with
// them, and tries again a minute later; once they have expired, it is an
// error.
func TestMetadataRefreshFailure(t *testing.T) {
	t.Parallel()
	m := startMetadata(t, metadataEpoch, true)
	p := m.provider()
	cred, err := p.Retrieve(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "session-1", cred.Keys.SecurityToken)
	assert.Equal(t, metadataEpoch.Add(2*time.Hour), cred.Expires)
	assert.Equal(t, "ECS metadata "+m.URL, cred.Source)

	m.set(func(m *ecsMetadata) { m.fail = http.StatusInternalServerError })
	m.clock.Advance(90 * time.Minute) // 30 minutes left
	for range 3 {
		cred, err = p.Retrieve(t.Context())
		require.NoError(t, err)
		assert.Equal(t, "session-1", cred.Keys.SecurityToken)
	}
	_, reqs := m.counts()
	assert.Equal(t, 2, reqs, "one failed refresh, then a minute's rest")
	m.clock.Advance(time.Minute)
	_, err = p.Retrieve(t.Context())
	require.NoError(t, err)
	_, reqs = m.counts()
	assert.Equal(t, 3, reqs)

	m.clock.Advance(30 * time.Minute) // expired
	_, err = p.Retrieve(t.Context())
	assert.ErrorContains(t, err, "ECS metadata "+m.URL+": /openstack/latest/securitykey: HTTP 500: Please configure Cloud Service Agency first")

	m.set(func(m *ecsMetadata) { m.fail = 0 })
	cred, err = p.Retrieve(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "session-2", cred.Keys.SecurityToken)
}

// Keys that look expired when they arrive (the service's clock and ours
// disagree) are used for a minute, not fetched again for every request.
func TestMetadataKeysThatLookExpired(t *testing.T) {
	t.Parallel()
	m := startMetadata(t, metadataEpoch, false)
	m.set(func(m *ecsMetadata) { m.lifetime = -time.Hour })
	p := m.provider()
	for range 3 {
		cred, err := p.Retrieve(t.Context())
		require.NoError(t, err)
		assert.Equal(t, "session-1", cred.Keys.SecurityToken)
	}
	m.clock.Advance(time.Minute)
	cred, err := p.Retrieve(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "session-2", cred.Keys.SecurityToken)
}

func TestMetadataBadAnswers(t *testing.T) {
	t.Parallel()
	answer := func(status int, body string) string {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}))
		t.Cleanup(s.Close)
		return s.URL
	}
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusForbidden) }))
	t.Cleanup(refusing.Close)
	keys := fmt.Sprintf(`"access":%q,"secret":%q,"securitytoken":%q`, testAK, testSK, testToken)
	tests := []struct {
		name     string
		endpoint string
		want     string
		nothing  bool // ErrNoCredentials: not an ECS instance
	}{
		{"not reachable", deadURL(t), "not reachable", true},
		{"no agency", answer(404, "Please configure Cloud Service Agency first"), "HTTP 404: Please configure Cloud Service Agency first", false},
		{"not JSON", answer(200, "<html>"), "not the service's JSON", false},
		{"no secret", answer(200, fmt.Sprintf(`{"credential":{"access":%q,"securitytoken":%q,"expires_at":"2026-05-01T13:00:00Z"}}`, testAK, testToken)), "lacks credential.secret", false},
		{"no expiry", answer(200, `{"credential":{`+keys+`}}`), "lacks credential.expires_at", false},
		{"bad expiry", answer(200, `{"credential":{`+keys+`,"expires_at":"tomorrow"}}`), `"tomorrow" is not a UTC time`, false},
		{"token refused", refusing.URL, "/meta-data/latest/api/token: HTTP 403", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := newMetadata(tt.endpoint).Retrieve(t.Context())
			require.Error(t, err)
			assert.Contains(t, err.Error(), "ECS metadata "+tt.endpoint)
			assert.Contains(t, err.Error(), tt.want)
			assert.Equal(t, tt.nothing, errors.Is(err, client.ErrNoCredentials))
			assert.NotContains(t, err.Error(), testSK)
			assert.NotContains(t, err.Error(), testToken)
		})
	}
}

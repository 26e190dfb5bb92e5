package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/gen/admin"
	"github.com/dcskit/dcskit/server"
	"github.com/dcskit/dcskit/signer"
)

const (
	journalAK    = "AKJOURNAL"
	journalSK    = "sk-journal-SECRET"
	journalToken = "tok-journal-SECRET"
	// securityToken is sent, signed, with temporary credentials; it must
	// not show either.
	securityToken = "sectok-journal-SECRET"
)

var journalNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func journalOptions() server.Options {
	return server.Options{
		AccessKey: journalAK, SecretKey: journalSK, Token: journalToken,
		Now: func() time.Time { return journalNow },
	}
}

func signWith(t *testing.T, r *http.Request, cred signer.Credentials) {
	t.Helper()
	r.Header.Set("User-Agent", "journal-test")
	require.NoError(t, signer.Sign(r, nil, cred, journalNow))
}

func TestJournalRecordsEachKindOfRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		path      string
		prep      func(*testing.T, *http.Request)
		status    int
		code      string
		accessKey string
		signed    []string
		result    server.AuthResult
		reason    string
		canonical bool
	}{
		{name: "signed", path: statusPath("p") + "?include_failure=true",
			prep: func(t *testing.T, r *http.Request) {
				signWith(t, r, signer.Credentials{AccessKey: journalAK, SecretKey: journalSK})
			},
			status: 200, accessKey: journalAK, signed: []string{"user-agent", "x-sdk-date"}, result: server.AuthOK},
		{name: "token", path: statusPath("p"),
			prep:   func(_ *testing.T, r *http.Request) { r.Header.Set("X-Auth-Token", journalToken) },
			status: 200, accessKey: server.CredentialToken, result: server.AuthOK},
		{name: "unsigned", path: statusPath("p"), prep: func(*testing.T, *http.Request) {},
			status: 401, code: "APIGW.0301", accessKey: server.CredentialNone, result: server.AuthRejected,
			reason: "no AK/SK signature or token"},
		{name: "wrong token", path: statusPath("p"),
			prep:   func(_ *testing.T, r *http.Request) { r.Header.Set("X-Auth-Token", "wrong-"+journalToken) },
			status: 401, code: "APIGW.0301", accessKey: server.CredentialToken, result: server.AuthRejected,
			reason: "verify token fail"},
		{name: "wrong SK, temporary credentials", path: statusPath("p") + "?include_failure=x",
			prep: func(t *testing.T, r *http.Request) {
				signWith(t, r, signer.Credentials{AccessKey: journalAK, SecretKey: "wrong-" + journalSK, SecurityToken: securityToken})
			},
			status: 401, code: "APIGW.0301", accessKey: journalAK,
			signed: []string{"user-agent", "x-sdk-date", "x-security-token"}, result: server.AuthRejected,
			reason: "verify aksk signature fail: signature mismatch", canonical: true},
		{name: "signed too long ago", path: statusPath("p"),
			prep: func(t *testing.T, r *http.Request) {
				r.Header.Set("User-Agent", "journal-test")
				require.NoError(t, signer.Sign(r, nil, signer.Credentials{AccessKey: journalAK, SecretKey: journalSK}, journalNow.Add(-time.Hour)))
			},
			status: 401, code: "APIGW.0301", accessKey: journalAK, signed: []string{"user-agent", "x-sdk-date"},
			result: server.AuthRejected, reason: "verify aksk signature fail: request date outside the allowed clock skew"},
		{name: "unknown URL", path: "/v3/nowhere?a=1", prep: func(*testing.T, *http.Request) {},
			status: 404, code: "111404001", accessKey: server.CredentialNone, result: server.AuthNone,
			reason: "answered before authentication"},
	}
	for _, m := range modes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				f := m.start(t, journalOptions())
				req := f.request(t, http.MethodGet, tt.path, "")
				tt.prep(t, req)
				before := time.Now()
				r := f.send(t, req)
				require.Equal(t, tt.status, r.status, "body: %s", r.body)
				f.call(t, http.MethodGet, "/_fake/healthz", "") // not journaled

				got := f.Requests()
				require.Len(t, got, 1)
				rr := got[0]
				path, query, _ := strings.Cut(tt.path, "?")
				assert.Equal(t, http.MethodGet, rr.Method)
				assert.Equal(t, path, rr.Path)
				assert.Equal(t, query, rr.RawQuery)
				assert.Equal(t, tt.status, rr.Status)
				assert.Equal(t, tt.code, rr.ErrorCode)
				assert.Equal(t, r.header.Get("X-Request-Id"), rr.RequestID)
				assert.Equal(t, tt.accessKey, rr.AccessKey)
				assert.Equal(t, tt.signed, rr.SignedHeaders)
				assert.Equal(t, tt.result, rr.Auth.Result)
				assert.True(t, strings.HasPrefix(rr.Auth.Reason, tt.reason), "reason %q", rr.Auth.Reason)
				assert.False(t, rr.Time.Before(before.Add(-time.Second)), "time %v", rr.Time)
				if tt.canonical {
					assert.Equal(t, "GET\n"+path+"/\n"+query+"\nuser-agent:journal-test\nx-sdk-date:20260501T120000Z\n"+
						"x-security-token:"+signer.RedactedValue+"\n\nuser-agent;x-sdk-date;x-security-token\n"+
						"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", rr.Auth.CanonicalRequest)
					assert.True(t, strings.HasPrefix(rr.Auth.StringToSign, "SDK-HMAC-SHA256\n20260501T120000Z\n"), rr.Auth.StringToSign)
				} else {
					assert.Empty(t, rr.Auth.CanonicalRequest)
					assert.Empty(t, rr.Auth.StringToSign)
				}
				assertNoJournalSecrets(t, req, got)
			})
		}
	}
}

// assertNoJournalSecrets fails if the journal holds a secret key, a
// token or the signature req carried.
func assertNoJournalSecrets(t *testing.T, req *http.Request, got any) {
	t.Helper()
	text, err := json.Marshal(got)
	require.NoError(t, err)
	secrets := []string{journalSK, journalToken, securityToken}
	if a, err := signer.ParseAuthorization(req.Header.Get("Authorization")); err == nil {
		secrets = append(secrets, a.Signature)
	}
	for _, s := range secrets {
		assert.NotContains(t, string(text), s)
	}
}

func TestJournalWithoutCredentialsStillShowsTheSignature(t *testing.T) {
	t.Parallel()
	f := startListener(t, server.Options{})
	req := f.request(t, http.MethodGet, statusPath("p"), "")
	signWith(t, req, signer.Credentials{AccessKey: journalAK, SecretKey: journalSK})
	require.Equal(t, http.StatusOK, f.send(t, req).status)

	got := f.Requests()
	require.Len(t, got, 1)
	assert.Equal(t, journalAK, got[0].AccessKey)
	assert.Equal(t, []string{"user-agent", "x-sdk-date"}, got[0].SignedHeaders)
	assert.Equal(t, server.Auth{Result: server.AuthNone, Reason: "the fake requires no credentials"}, got[0].Auth)
}

func TestJournalRecordsFaults(t *testing.T) {
	t.Parallel()
	f := startListener(t, journalOptions())
	f.InjectFault(server.Fault{Status: 503})
	f.InjectFault(server.Fault{Drop: true})
	req := f.request(t, http.MethodGet, statusPath("p"), "")
	req.Header.Set("X-Auth-Token", journalToken)
	assert.Equal(t, http.StatusServiceUnavailable, f.send(t, req).status)
	// net/http's client may retry a GET whose connection was dropped; the
	// first attempt is journaled all the same.
	if resp, err := f.do(f.request(t, http.MethodGet, statusPath("p"), "")); err == nil {
		resp.Body.Close()
	}

	got := f.Requests()
	require.GreaterOrEqual(t, len(got), 2)
	assert.Equal(t, 503, got[0].Status)
	assert.Equal(t, "111503000", got[0].ErrorCode)
	assert.Equal(t, server.AuthNone, got[0].Auth.Result, "a fault comes before authentication")
	assert.Equal(t, 0, got[1].Status, "no answer")
	assert.NotEmpty(t, got[1].RequestID)
}

func TestJournalIsBounded(t *testing.T) {
	t.Parallel()
	f := startHandler(t, server.Options{JournalSize: 3})
	for i := range 5 {
		f.call(t, http.MethodGet, statusPath("p")+"?n="+string(rune('0'+i)), "")
	}
	got := f.Requests()
	require.Len(t, got, 3)
	for i, rr := range got {
		assert.Equal(t, "n="+string(rune('2'+i)), rr.RawQuery, "oldest first")
	}
	assert.Equal(t, 2, f.DroppedRequests())

	got[0].Path = "changed"
	assert.Equal(t, statusPath("p"), f.Requests()[0].Path, "Requests returns a copy")

	f.ClearRequests()
	assert.Empty(t, f.Requests())
	assert.Zero(t, f.DroppedRequests())
	f.call(t, http.MethodGet, statusPath("p"), "")
	assert.Len(t, f.Requests(), 1)
}

func TestJournalSizeOptions(t *testing.T) {
	t.Parallel()
	off := startHandler(t, server.Options{JournalSize: -1})
	off.call(t, http.MethodGet, statusPath("p"), "")
	assert.Empty(t, off.Requests())
	assert.Zero(t, off.DroppedRequests())

	_, err := server.New(server.Options{JournalSize: server.MaxJournalSize + 1})
	assert.ErrorContains(t, err, "JournalSize")

	def := startHandler(t, server.Options{})
	for range server.DefaultJournalSize + 1 {
		def.call(t, http.MethodGet, statusPath("p"), "")
	}
	assert.Len(t, def.Requests(), server.DefaultJournalSize)
	assert.Equal(t, 1, def.DroppedRequests())
}

// A hostile path or query does not make an entry as large as itself.
func TestJournalEntriesAreBounded(t *testing.T) {
	t.Parallel()
	f := startHandler(t, server.Options{})
	long := strings.Repeat("a", 100_000)
	f.call(t, http.MethodGet, "/v2/"+long+"?q="+long, "")
	got := f.Requests()
	require.Len(t, got, 1)
	assert.Less(t, len(got[0].Path), 4<<10)
	assert.Less(t, len(got[0].RawQuery), 4<<10)
}

func TestJournalUnderConcurrency(t *testing.T) {
	t.Parallel()
	f := startHandler(t, server.Options{JournalSize: 50})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 25 {
				f.call(t, http.MethodGet, statusPath("p"), "")
				_ = f.Requests()
			}
		})
	}
	wg.Wait()
	assert.Len(t, f.Requests(), 50)
	assert.Equal(t, 50, f.DroppedRequests())
}

func TestJournalAdminAPI(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			f := m.start(t, journalOptions())
			good := f.request(t, http.MethodGet, statusPath("p"), "")
			good.Header.Set("X-Auth-Token", journalToken)
			f.send(t, good)
			bad := f.request(t, http.MethodGet, statusPath("q"), "")
			signWith(t, bad, signer.Credentials{AccessKey: journalAK, SecretKey: "wrong"})
			f.send(t, bad)
			f.call(t, http.MethodGet, "/v3/x", "")

			list := func(query string) admin.RequestJournal {
				t.Helper()
				r := f.call(t, http.MethodGet, "/_fake/requests"+query, "")
				require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
				var j admin.RequestJournal
				require.NoError(t, json.Unmarshal(r.body, &j))
				assertNoJournalSecrets(t, bad, j)
				return j
			}
			paths := func(j admin.RequestJournal) []string {
				var out []string
				for _, rr := range j.Requests {
					out = append(out, rr.Path)
				}
				return out
			}
			all := list("")
			assert.Equal(t, []string{statusPath("p"), statusPath("q"), "/v3/x"}, paths(all), "oldest first, no admin request")
			assert.Zero(t, all.Dropped)
			assert.Equal(t, []string{statusPath("q")}, paths(list("?status=401")))
			assert.Equal(t, []string{statusPath("p")}, paths(list("?path="+statusPath("p"))))
			assert.Equal(t, []string{"/v3/x"}, paths(list("?auth=none&method=GET")))
			assert.Empty(t, list("?status=401&path="+statusPath("p")).Requests, "filters combine")

			rejected := list("?auth=rejected").Requests
			require.Len(t, rejected, 1)
			require.NotNil(t, rejected[0].Auth.CanonicalRequest)
			require.NotNil(t, rejected[0].Auth.StringToSign)
			sum := sha256.Sum256([]byte(*rejected[0].Auth.CanonicalRequest))
			assert.True(t, strings.HasSuffix(*rejected[0].Auth.StringToSign, hex.EncodeToString(sum[:])))

			assert.Equal(t, http.StatusBadRequest, f.call(t, http.MethodGet, "/_fake/requests?status=x", "").status)
			assert.Equal(t, http.StatusBadRequest, f.call(t, http.MethodGet, "/_fake/requests?auth=maybe", "").status)

			assert.Equal(t, http.StatusNoContent, f.call(t, http.MethodDelete, "/_fake/requests", "").status)
			assert.Empty(t, list("").Requests)
		})
	}
}

func TestSignatureDiagnosisInTheLog(t *testing.T) {
	t.Parallel()
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		t.Run(level.String(), func(t *testing.T) {
			t.Parallel()
			opts := journalOptions()
			var logs interface{ String() string }
			opts.Logger, logs = logged(level)
			f := startHandler(t, opts)
			req := f.request(t, http.MethodGet, statusPath("p"), "")
			signWith(t, req, signer.Credentials{AccessKey: journalAK, SecretKey: "wrong-" + journalSK, SecurityToken: securityToken})
			r := f.send(t, req)
			require.Equal(t, http.StatusUnauthorized, r.status)

			text := logs.String()
			assert.Contains(t, text, `"error":"verify aksk signature fail: signature mismatch"`, "the reason, at Info")
			assert.Contains(t, text, r.header.Get("X-Request-Id"))
			cr := f.Requests()[0].Auth.CanonicalRequest
			require.NotEmpty(t, cr)
			crJSON, err := json.Marshal(cr)
			require.NoError(t, err)
			if level == slog.LevelDebug {
				assert.Contains(t, text, `"canonical_request":`+string(crJSON))
				assert.Contains(t, text, `"string_to_sign":`)
			} else {
				assert.NotContains(t, text, "canonical_request")
			}
			assertNoJournalSecrets(t, req, text)
		})
	}
}

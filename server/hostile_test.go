package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/internal/contract/contracttest"
	"github.com/dcskit/dcskit/internal/httpserve"
	"github.com/dcskit/dcskit/server"
	"github.com/dcskit/dcskit/servertest"
	"github.com/dcskit/dcskit/signer"
)

const hostileAK, hostileSK = "HOSTILEACCESSKEY", "hostile-secret-key"

// TestHostileInput sends, over raw TCP connections, what a Go client
// would refuse to send, to the fake on a loopback listener with every
// check on. Each gets a JSON error that the spec allows, with an
// X-Request-Id, including the answers that net/http itself gives before
// any handler runs (400, 431), which the fake's Listener rewrites.
//
// The one exception is a client that never finishes its headers: at
// ReadHeaderTimeout net/http closes the connection without a word, as
// there is no request to answer, and the fake does the same.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	opts := server.Options{AccessKey: hostileAK, SecretKey: hostileSK}

	// Through Start, as tests and `dcskit serve` run it...
	started := servertest.New(t, opts)
	require.NoError(t, started.LoadFixtureFile(fixtureFile))
	// ...and on a listener of its own, with a ReadHeaderTimeout short
	// enough for the slow client to be cut off at once.
	s, err := server.New(opts)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := httpserve.New(s.Handler(), nil)
	srv.ReadHeaderTimeout = 200 * time.Millisecond
	go func() { _ = srv.Serve(s.Listener(ln)) }()
	t.Cleanup(func() { _ = srv.Close() })

	targets := map[string]string{"Start": strings.TrimPrefix(started.URL(), "http://"), "short ReadHeaderTimeout": ln.Addr().String()}
	project := fixtureProject
	tests := []struct {
		name string
		raw  func(t *testing.T) string
		// Zero status: the connection is closed without an answer.
		status int
		code   string
	}{
		{"1 MB query string", func(t *testing.T) string {
			return signRaw(t, "GET "+statusPath(project)+"?include_failure=true&pad="+strings.Repeat("a", 1<<20)+" HTTP/1.1", time.Now())
		}, http.StatusRequestHeaderFieldsTooLarge, "111431000"},
		{"headers over MaxHeaderBytes", func(t *testing.T) string {
			// net/http allows 4096 bytes over MaxHeaderBytes.
			return "GET " + statusPath(project) + " HTTP/1.1\r\nHost: dcs.test\r\nX-Pad: " + strings.Repeat("b", httpserve.MaxHeaderBytes+4097) + "\r\n\r\n"
		}, http.StatusRequestHeaderFieldsTooLarge, "111431000"},
		{"invalid UTF-8 in project_id", func(t *testing.T) string {
			return signRaw(t, "GET /v2/"+project+"\xff\xfe/instances/status HTTP/1.1", time.Now())
		}, http.StatusBadRequest, "111400002"},
		{"invalid UTF-8 in project_id, unsigned", func(t *testing.T) string {
			return "GET /v2/\xc3\x28/instances/status HTTP/1.1\r\nHost: dcs.test\r\n\r\n"
		}, http.StatusUnauthorized, "APIGW.0301"},
		{"CRLF in project_id", func(t *testing.T) string {
			return "GET /v2/ab\r\ncd/instances/status HTTP/1.1\r\nHost: dcs.test\r\n\r\n"
		}, http.StatusBadRequest, "111400063"},
		{"bare LF in project_id", func(t *testing.T) string {
			return "GET /v2/ab\ncd/instances/status HTTP/1.1\r\nHost: dcs.test\r\n\r\n"
		}, http.StatusBadRequest, "111400063"},
		{"NUL in project_id", func(t *testing.T) string {
			return "GET /v2/ab\x00cd/instances/status HTTP/1.1\r\nHost: dcs.test\r\n\r\n"
		}, http.StatusBadRequest, "111400063"},
		{"escaped NUL in project_id", func(t *testing.T) string {
			return signRaw(t, "GET /v2/ab%00cd/instances/status HTTP/1.1", time.Now())
		}, http.StatusBadRequest, "111400002"},
		{"escaped CRLF in project_id", func(t *testing.T) string {
			return signRaw(t, "GET /v2/ab%0D%0Acd/instances/status HTTP/1.1", time.Now())
		}, http.StatusBadRequest, "111400002"},
		{"malformed Authorization", func(t *testing.T) string {
			return "GET " + statusPath(project) + " HTTP/1.1\r\nHost: dcs.test\r\nX-Sdk-Date: " + time.Now().UTC().Format(signer.DateFormat) +
				"\r\nAuthorization: SDK-HMAC-SHA256 Access=, SignedHeaders=;;, Signature=zz\r\n\r\n"
		}, http.StatusUnauthorized, "APIGW.0301"},
		{"Authorization of another scheme", func(t *testing.T) string {
			return "GET " + statusPath(project) + " HTTP/1.1\r\nHost: dcs.test\r\nAuthorization: Basic dXNlcjpwYXNz\r\n\r\n"
		}, http.StatusUnauthorized, "APIGW.0301"},
		{"date 16 minutes behind", func(t *testing.T) string {
			return signRaw(t, "GET "+statusPath(project)+" HTTP/1.1", time.Now().Add(-16*time.Minute))
		}, http.StatusUnauthorized, "APIGW.0301"},
		{"date 16 minutes ahead", func(t *testing.T) string {
			return signRaw(t, "GET "+statusPath(project)+" HTTP/1.1", time.Now().Add(16*time.Minute))
		}, http.StatusUnauthorized, "APIGW.0301"},
		{"HTTP version 9.9", func(t *testing.T) string {
			return "GET " + statusPath(project) + " HTTP/9.9\r\nHost: dcs.test\r\n\r\n"
		}, http.StatusHTTPVersionNotSupported, "111505000"},
		{"OPTIONS *", func(t *testing.T) string {
			return "OPTIONS * HTTP/1.1\r\nHost: dcs.test\r\n\r\n"
		}, http.StatusNotFound, "111404001"},
		{"Expect: 200-ok", func(t *testing.T) string {
			return "GET " + statusPath(project) + " HTTP/1.1\r\nHost: dcs.test\r\nExpect: 200-ok\r\n\r\n"
		}, http.StatusExpectationFailed, "111417000"},
		{"slow client never finishes its headers", func(t *testing.T) string {
			return "GET " + statusPath(project) + " HTTP/1.1\r\nHost: dcs.test\r\nX-Slow: "
		}, 0, ""},
	}
	check := contracttest.New(t)
	for target, addr := range targets {
		for _, tt := range tests {
			if tt.status == 0 && target == "Start" {
				continue // would wait for the production ReadHeaderTimeout
			}
			t.Run(target+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				resp, body := sendRaw(t, addr, tt.raw(t))
				if tt.status == 0 {
					assert.Nil(t, resp, "no answer to half a request")
					return
				}
				require.NotNil(t, resp, "an answer")
				assert.Equal(t, tt.status, resp.StatusCode, "body: %s", body)
				assert.Equal(t, "application/json", resp.Header.Get("Content-Type"), "body: %s", body)
				assert.Len(t, resp.Header.Get("X-Request-Id"), 32)
				var e apiError
				require.NoError(t, json.Unmarshal(body, &e), "body: %s", body)
				assert.Equal(t, tt.code, e.Code, "body: %s", body)
				assert.NotEmpty(t, e.Msg)
				// What the client meant to ask, for the spec to judge the answer.
				meant := httptest.NewRequest(http.MethodGet, statusPath("p"), nil)
				assert.NoError(t, check.CheckResponse(t.Context(), meant, resp.StatusCode, resp.Header, body), "body: %s", body)
			})
		}
	}
}

// signRaw completes a raw request line into a request signed at date, as
// the fake will read it: the signature is computed over the request that
// net/http parses from these very bytes.
func signRaw(t *testing.T, requestLine string, date time.Time) string {
	t.Helper()
	head := requestLine + "\r\nHost: dcs.test\r\nX-Project-Id: " + fixtureProject + "\r\n"
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(head + "\r\n")))
	if err != nil {
		// net/http refuses it before any handler; no need to sign.
		return head + "\r\n"
	}
	require.NoError(t, signer.Sign(req, nil, signer.Credentials{AccessKey: hostileAK, SecretKey: hostileSK}, date))
	return head +
		signer.HeaderDate + ": " + req.Header.Get(signer.HeaderDate) + "\r\n" +
		signer.HeaderAuthorization + ": " + req.Header.Get(signer.HeaderAuthorization) + "\r\n\r\n"
}

// sendRaw writes raw to addr and reads one answer. It returns a nil
// response if the server closes the connection without answering.
func sendRaw(t *testing.T, addr, raw string) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	// A bound on a broken server, not a measure of speed.
	require.NoError(t, conn.SetDeadline(time.Now().Add(30*time.Second)))
	go func() {
		// The server may answer and close before it has read it all.
		_, _ = io.Copy(conn, strings.NewReader(raw))
	}()
	br := bufio.NewReader(conn)
	if _, err := br.Peek(1); errors.Is(err, io.EOF) {
		return nil, nil
	} else {
		require.NoError(t, err)
	}
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, bytes.TrimSpace(body)
}

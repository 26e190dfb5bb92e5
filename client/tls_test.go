package client_test

import (
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/client"
)

// countingListener counts the connections it accepts: one per attempt.
type countingListener struct {
	net.Listener
	n atomic.Int32
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

func listen(t *testing.T) *countingListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return &countingListener{Listener: ln}
}

// A TLS handshake that cannot succeed fails the call at its first
// attempt: another attempt would meet the same server.
func TestFailedTLSHandshakesAreNotRetried(t *testing.T) {
	t.Parallel()
	plainHTTP := func(t *testing.T) (string, *countingListener, *http.Client) {
		ln := listen(t)
		srv := httptest.NewUnstartedServer(jsonBody(http.StatusOK, "{}"))
		srv.Listener = ln
		srv.Start()
		t.Cleanup(srv.Close)
		return "https://" + ln.Addr().String(), ln, nil
	}
	notHTTP := func(t *testing.T) (string, *countingListener, *http.Client) {
		ln := listen(t)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				_, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.0\r\n" + strings.Repeat("x", 64)))
				_ = c.Close()
			}
		}()
		t.Cleanup(func() { _ = ln.Close() })
		return "https://" + ln.Addr().String(), ln, nil
	}
	tlsServer := func(cfg *tls.Config, hc func(*httptest.Server) *http.Client) func(t *testing.T) (string, *countingListener, *http.Client) {
		return func(t *testing.T) (string, *countingListener, *http.Client) {
			ln := listen(t)
			srv := httptest.NewUnstartedServer(jsonBody(http.StatusOK, "{}"))
			srv.Listener = ln
			srv.TLS = cfg
			srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes fail on purpose
			srv.StartTLS()
			t.Cleanup(srv.Close)
			return srv.URL, ln, hc(srv)
		}
	}
	untrusted := tlsServer(nil, func(*httptest.Server) *http.Client { return nil })
	// The server speaks TLS 1.3 only and the client 1.2 at most: the
	// server's protocol_version alert ends the handshake.
	oldClient := tlsServer(&tls.Config{MinVersion: tls.VersionTLS13}, func(s *httptest.Server) *http.Client {
		hc := s.Client()
		tr := hc.Transport.(*http.Transport).Clone()
		tr.TLSClientConfig.MaxVersion = tls.VersionTLS12
		hc.Transport = tr
		return hc
	})
	tests := []struct {
		name  string
		setup func(t *testing.T) (string, *countingListener, *http.Client)
		want  func(error) bool
	}{
		{"TLS to a plain HTTP server", plainHTTP, func(err error) bool { return errors.Is(err, http.ErrSchemeMismatch) }},
		{"TLS to a server that speaks neither", notHTTP, func(err error) bool { return errors.As(err, new(tls.RecordHeaderError)) }},
		{"an untrusted certificate", untrusted, func(err error) bool { return errors.As(err, new(*tls.CertificateVerificationError)) }},
		{"an alert from the server", oldClient, func(err error) bool {
			var op *net.OpError
			return errors.As(err, &op) && op.Op == "remote error"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url, ln, hc := tt.setup(t)
			opts := []client.Option{}
			if hc != nil {
				opts = append(opts, client.WithHTTPClient(hc))
			}
			_, err := newClient(t, url, opts...).InstanceStatus(t.Context())
			require.Error(t, err)
			assert.True(t, tt.want(err), "%v", err)
			assert.NotContains(t, err.Error(), "attempts")
			assert.Equal(t, int32(1), ln.n.Load(), "one attempt")
		})
	}
}

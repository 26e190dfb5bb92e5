package server_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dcskit/dcskit/internal/httpserve"
	"github.com/dcskit/dcskit/server"
	"github.com/dcskit/dcskit/signer"
)

// Load generator settings, the same for every variant of BenchmarkServerPath.
const (
	// benchConns keep-alive connections each send one request at a time.
	benchConns = 8
	benchAK    = "BENCHACCESSKEY"
	benchSK    = "bench-secret-key-0123456789"
)

// BenchmarkServerPath measures the fake behind a real loopback listener
// against the floor: a bare handler that writes a precomputed copy of the
// very same JSON. The three variants share one load generator and one
// request, byte for byte: signed once, before the timer starts, with a
// date well inside the skew window. The fake therefore verifies a
// signature on every request, as it must, while the load generator spends
// nothing on signing, so that its cost does not water down the ratio. The
// floor and the unchecked fake ignore the Authorization header.
//
// Each variant reports req/s; make bench turns them into ratios.
func BenchmarkServerPath(b *testing.B) {
	fixture := loadedServer(b, server.Options{})
	rec := httptest.NewRecorder()
	fixture.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, statusPath(fixtureProject)+"?include_failure=true", nil))
	if rec.Code != http.StatusOK {
		b.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	answer := bytes.Clone(rec.Body.Bytes())

	floor := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	})
	fake := func(opts server.Options) func(b *testing.B) string {
		return func(b *testing.B) string {
			s := loadedServer(b, opts)
			// As Start and `dcskit serve` serve it.
			return serveLoopback(b, s.Handler(), s.Listener)
		}
	}
	variants := []struct {
		name  string
		serve func(b *testing.B) string
	}{
		{"floor", func(b *testing.B) string { return serveLoopback(b, floor, nil) }},
		{"fake_checks_off", fake(server.Options{DisableValidation: true})},
		{"fake_checks_on", fake(server.Options{AccessKey: benchAK, SecretKey: benchSK})},
	}
	raw := signedRequestBytes(b)
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			hammer(b, v.serve(b), raw, len(answer))
		})
	}
}

// loadedServer is a fake holding the test fixture.
func loadedServer(tb testing.TB, opts server.Options) *server.Server {
	tb.Helper()
	s, err := server.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.LoadFixtureFile(fixtureFile); err != nil {
		tb.Fatal(err)
	}
	return s
}

// serveLoopback serves h with dcskit's limits on a free loopback port,
// on the listener that wrap makes, if any.
func serveLoopback(tb testing.TB, h http.Handler, wrap func(net.Listener) net.Listener) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	if wrap != nil {
		ln = wrap(ln)
	}
	srv := httpserve.New(h, nil)
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return addr
}

// signedRequestBytes is one signed query as it goes on the wire.
func signedRequestBytes(tb testing.TB) []byte {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://127.0.0.1"+statusPath(fixtureProject)+"?include_failure=true", nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("User-Agent", "dcskit-bench")
	req.Header.Set(signer.HeaderProjectID, fixtureProject)
	// Valid for the skew window either side of now: longer than any run.
	if err := signer.Sign(req, nil, signer.Credentials{AccessKey: benchAK, SecretKey: benchSK}, time.Now()); err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// hammer sends b.N copies of raw to addr over benchConns keep-alive
// connections, each waiting for its answer before sending again, and
// reports req/s. Every answer must be a 200 with a body of wantLen bytes.
// It parses answers by hand, cheaply, so that the generator's own cost,
// shared by all variants on the same cores, stays small.
func hammer(b *testing.B, addr string, raw []byte, wantLen int) {
	conns := make([]net.Conn, benchConns)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		errMu sync.Mutex
		first error
	)
	n := int64(b.N)
	b.ResetTimer()
	for _, c := range conns {
		wg.Go(func() {
			br := bufio.NewReaderSize(c, 4096)
			for next.Add(1) <= n {
				if _, err := c.Write(raw); err != nil {
					errMu.Lock()
					first = cmpErr(first, err)
					errMu.Unlock()
					return
				}
				if err := readAnswer(br, wantLen); err != nil {
					errMu.Lock()
					first = cmpErr(first, err)
					errMu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if first != nil {
		b.Fatal(first)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// readAnswer reads one HTTP/1.1 response and checks that it is a 200 with
// a Content-Length of wantLen.
func readAnswer(br *bufio.Reader, wantLen int) error {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
		return fmt.Errorf("answer %q", line)
	}
	length := -1
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if name, value, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(name, []byte("Content-Length")) {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(value))); err != nil {
				return err
			}
		}
	}
	if length != wantLen {
		return errors.New("answer of Content-Length " + strconv.Itoa(length) + ", want " + strconv.Itoa(wantLen))
	}
	_, err = br.Discard(length)
	return err
}

package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/internal/httpserve"
	"github.com/dcskit/dcskit/server"
	"github.com/dcskit/dcskit/signer"
)

// BenchmarkServerNew is the cost of one more fake in a process that has
// made one already, as a test suite with a fake per test pays it: the
// OpenAPI documents are parsed once per process, so only the fake's own
// state is left.
func BenchmarkServerNew(b *testing.B) {
	if _, err := server.New(server.Options{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := server.New(server.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkQuery shows that a query costs the same however many instances
// the fake holds: counters are kept up to date as instances change.
func BenchmarkQuery(b *testing.B) {
	for _, n := range []int{10, 10_000, 1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s, err := server.New(server.Options{})
			if err != nil {
				b.Fatal(err)
			}
			insts := make([]server.Instance, n)
			engines, statuses := dcs.Engines(), dcs.Statuses()
			for i := range insts {
				insts[i] = server.Instance{ProjectID: "p", Engine: engines[i%len(engines)], Status: statuses[i%len(statuses)]}
			}
			if _, err := s.Add(insts...); err != nil {
				b.Fatal(err)
			}
			// Collect the setup's garbage now, not while timing: what is
			// left to mark is the store itself.
			insts = nil
			runtime.GC()
			h := s.Handler()
			req := httptest.NewRequest(http.MethodGet, "/v2/p/instances/status?include_failure=true", nil)
			b.ResetTimer()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

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

// fixtureOf is a fixture of n instances of one project, spread evenly
// over engines and statuses, written as entries with a count, as a user
// would write a big one.
func fixtureOf(tb testing.TB, n int) []byte {
	tb.Helper()
	type entry struct {
		ProjectID string `json:"project_id"`
		Engine    string `json:"engine"`
		Status    string `json:"status"`
		Count     int    `json:"count"`
	}
	var entries []entry
	kinds := len(dcs.Engines()) * len(dcs.Statuses())
	for i := range kinds {
		count := n / kinds
		if i < n%kinds {
			count++
		}
		if count > 0 {
			entries = append(entries, entry{"p", string(dcs.Engines()[i%2]), string(dcs.Statuses()[i/2]), count})
		}
	}
	b, err := json.Marshal(map[string]any{"instances": entries})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkLoadFixture1M loads a fixture of 1,000,000 instances, and
// reports the heap that the loaded store keeps per instance.
func BenchmarkLoadFixture1M(b *testing.B) {
	const n = 1_000_000
	data := fixtureOf(b, n)
	s, err := server.New(server.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var before, after runtime.MemStats
	for b.Loop() {
		b.StopTimer()
		s.Reset()
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		if err := s.LoadFixture("bench", bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "bytes/instance")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/instance")
	runtime.KeepAlive(s)
	if got := s.Counts("p", true).Total.Total(); got != n {
		b.Fatalf("loaded %d instances, want %d", got, n)
	}
}

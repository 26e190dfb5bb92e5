package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/server"
)

// BenchmarkServerNew is the cost of one more fake in a process that has
// made one already, as a test suite with a fake per test pays it: the
// OpenAPI documents are parsed once per process, so only the fake's own
// state is left. Shutdown stops the store's timer and is counted.
func BenchmarkServerNew(b *testing.B) {
	if _, err := server.New(server.Options{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s, err := server.New(server.Options{})
		if err != nil {
			b.Fatal(err)
		}
		_ = s.Shutdown(context.Background())
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

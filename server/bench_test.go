package server_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/server"
)

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
			for i := range insts {
				insts[i] = server.Instance{ProjectID: "p", Engine: dcs.Engines[i%2], Status: dcs.Statuses[i%dcs.NumStatuses]}
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

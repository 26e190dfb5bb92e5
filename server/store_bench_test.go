package server_test

import (
	"bytes"
	"encoding/json"
	"runtime"
	"testing"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/server"
)

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
	kinds := len(dcs.Engines()) * dcs.NumStatuses
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

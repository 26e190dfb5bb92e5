package server_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dcskit/dcskit/server"
	"github.com/dcskit/dcskit/signer"
)

// BenchmarkJournal is the cost of the request journal on a signed query,
// in the handler alone: off (JournalSize -1) against on, the default.
func BenchmarkJournal(b *testing.B) {
	for _, v := range []struct {
		name string
		size int
	}{{"off", -1}, {"on", 0}} {
		b.Run(v.name, func(b *testing.B) {
			now := time.Now()
			s, err := server.New(server.Options{AccessKey: benchAK, SecretKey: benchSK, JournalSize: v.size,
				Now: func() time.Time { return now }})
			if err != nil {
				b.Fatal(err)
			}
			h := s.Handler()
			req := httptest.NewRequest(http.MethodGet, statusPath("p")+"?include_failure=true", nil)
			req.Header.Set("User-Agent", "bench")
			if err := signer.Sign(req, nil, signer.Credentials{AccessKey: benchAK, SecretKey: benchSK}, now); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
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

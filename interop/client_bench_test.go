package interop_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	dcs "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/dcs/v2"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/dcs/v2/model"

	"github.com/dcskit/dcskit/client"
)

// benchAnswer is a complete 200 answer, as the fake writes it for the
// test fixture, so that both clients decode every counter.
const benchAnswer = `{"createfailed_count":44,"creating_count":0,"error_count":0,"extending_count":0,"flushing_count":0,"freezing_count":0,"frozen_count":0,"memcached":{"createfailed_count":22,"creating_count":0,"error_count":0,"extending_count":0,"flushing_count":0,"freezing_count":0,"frozen_count":0,"migrating_count":0,"paying_count":0,"restarting_count":0,"restoring_count":0,"running_count":8,"upgrading_count":0},"migrating_count":0,"paying_count":0,"redis":{"createfailed_count":22,"creating_count":0,"error_count":0,"extending_count":0,"flushing_count":0,"freezing_count":0,"frozen_count":0,"migrating_count":0,"paying_count":0,"restarting_count":1,"restoring_count":0,"running_count":8,"upgrading_count":0},"restarting_count":1,"restoring_count":0,"running_count":16,"upgrading_count":0}
`

// benchServer answers every request with benchAnswer, checking nothing, so
// that the two clients are what differs. It runs in the benchmark's
// process: its cost is in both figures alike.
func benchServer(b *testing.B) string {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "0123456789abcdef0123456789abcdef")
		_, _ = w.Write([]byte(benchAnswer))
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}

// stubTransport answers every request with benchAnswer without a
// network: what is left is each client's own work (building, signing,
// decoding).
type stubTransport struct{}

func (stubTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{
			"Content-Type": {"application/json"},
			"X-Request-Id": {"0123456789abcdef0123456789abcdef"},
		},
		Body:          io.NopCloser(strings.NewReader(benchAnswer)),
		ContentLength: int64(len(benchAnswer)),
		Request:       req,
	}, nil
}

// cpuTime is the CPU time, user and system, this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkInstanceStatus compares our client with the official SDK on
// the same call, include_failure=true, signed with AK/SK:
//
//   - loopback: over keep-alive connections to an in-process server that
//     writes a precomputed answer. The server's work is in both figures
//     alike, and so is net/http's: both clients use its Transport.
//   - stub: through a RoundTripper that returns the answer at once, so
//     that only the clients' own work is measured.
//
// Each reports ns/op, cpu-ns/op (process CPU time, both cores), B/op and
// allocs/op; make bench shows ours against the SDK, which runs first.
func BenchmarkInstanceStatus(b *testing.B) {
	for _, net := range []string{"loopback", "stub"} {
		b.Run(net+"/impl=sdk", func(b *testing.B) {
			cred, err := basic.NewCredentialsBuilder().WithAk(ak).WithSk(sk).WithProjectId(projectID).SafeBuild()
			if err != nil {
				b.Fatal(err)
			}
			cfg, endpoint := config.DefaultHttpConfig(), "http://dcs.test"
			if net == "stub" {
				cfg = cfg.WithHttpRoundTripper(stubTransport{})
			} else {
				endpoint = benchServer(b)
			}
			hc, err := dcs.DcsClientBuilder().WithEndpoints([]string{endpoint}).WithCredential(cred).WithHttpConfig(cfg).SafeBuild()
			if err != nil {
				b.Fatal(err)
			}
			c := dcs.NewDcsClient(hc)
			includeFailure := "true"
			call(b, func() int32 {
				resp, err := c.ListNumberOfInstancesInDifferentStatus(&model.ListNumberOfInstancesInDifferentStatusRequest{IncludeFailure: &includeFailure})
				if err != nil {
					b.Fatal(err)
				}
				return *resp.RunningCount
			})
		})
		b.Run(net+"/impl=ours", func(b *testing.B) {
			opts := []client.Option{client.WithProjectID(projectID), client.WithCredentials(ak, sk)}
			if net == "stub" {
				opts = append(opts, client.WithEndpoint("http://dcs.test"), client.WithHTTPClient(&http.Client{Transport: stubTransport{}}))
			} else {
				opts = append(opts, client.WithEndpoint(benchServer(b)))
			}
			c, err := client.New(opts...)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			call(b, func() int32 {
				s, err := c.InstanceStatus(ctx, client.IncludeFailure())
				if err != nil {
					b.Fatal(err)
				}
				return s.Total[8]
			})
		})
	}
}

// call runs one client call per iteration, checks its answer, and reports
// CPU time per call besides the usual figures.
func call(b *testing.B, do func() (running int32)) {
	if got := do(); got != 16 { // warm up: connections, caches
		b.Fatalf("running_count %d, want 16", got)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime(b)
	for b.Loop() {
		do()
	}
	b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/op")
}

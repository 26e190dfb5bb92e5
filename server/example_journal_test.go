package server_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/server"
)

// The journal tells a test what its code sent, and why the fake refused it.
func ExampleServer_Requests() {
	s, err := server.New(server.Options{AccessKey: "AK", SecretKey: "SK"})
	if err != nil {
		panic(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	for _, sk := range []string{"SK", "not-the-SK"} {
		c, err := client.New(client.WithEndpoint(ts.URL), client.WithProjectID("my-project"),
			client.WithCredentials("AK", sk), client.WithRetry(client.RetryPolicy{MaxAttempts: 1}))
		if err != nil {
			panic(err)
		}
		_, _ = c.InstanceStatus(context.Background(), client.IncludeFailure())
	}

	orDash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for _, rr := range s.Requests() {
		fmt.Printf("%s %s?%s: %d %s\n", rr.Method, rr.Path, rr.RawQuery, rr.Status, orDash(rr.ErrorCode))
		fmt.Printf("  signed by %s over %v\n", rr.AccessKey, rr.SignedHeaders)
		fmt.Printf("  auth %s: %s\n", rr.Auth.Result, orDash(rr.Auth.Reason))
	}
	// Output:
	// GET /v2/my-project/instances/status?include_failure=true: 200 -
	//   signed by AK over [user-agent x-project-id x-sdk-date]
	//   auth ok: -
	// GET /v2/my-project/instances/status?include_failure=true: 401 APIGW.0301
	//   signed by AK over [user-agent x-project-id x-sdk-date]
	//   auth rejected: verify aksk signature fail: signature mismatch
}

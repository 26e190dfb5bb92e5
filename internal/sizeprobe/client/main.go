// Command client is a size probe: one GET through github.com/dcskit/dcskit/client.
//
// BenchmarkBinarySize, in internal/sizeprobe, measures it: it builds it
// and reports the size of the stripped binary. No test ever runs it. Keep
// it as it is, so that sizes measured before and after a change compare.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/dcs"
)

func main() {
	c, err := client.New(client.WithEndpoint(os.Args[1]), client.WithProjectID("p"), client.WithCredentials("AK", "SK"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx := context.Background()
	st, err := c.InstanceStatus(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(st.Count(dcs.Running))
}

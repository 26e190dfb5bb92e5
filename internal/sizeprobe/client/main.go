// Command client is a size probe: the README's program, one call through
// github.com/dcskit/dcskit/client configured by the environment.
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
	c, err := client.New(client.FromEnv(os.Getenv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	st, err := c.InstanceStatus(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(st.Count(dcs.Running))
}

package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/dcskit/dcskit/internal/httpserve"
	"github.com/dcskit/dcskit/proxy"
)

func newProxyCmd(e *env) *cobra.Command {
	var upstream, listen string
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Forward to an endpoint and check the traffic against the spec",
		Long: `Forward every request to --upstream as it came, and check each request and
each answer against openapi/dcs.yaml. Point a test suite's client (dcskit's,
the official SDK, anything) at it to find where either side breaks the
contract.

Requests keep their signatures: SDK-HMAC-SHA256 does not sign Host, the one
header that changes on the way; --upstream is scheme and host only, since
a path prefix would change the signed path. Each violation is logged on
stderr with the request id, never a header value. See
docs/contract-testing.md.

The first line on stdout is the proxy's base URL. SIGINT or SIGTERM stops
it and prints a summary. Exit status: 0 if it saw no violation, 1 if it
saw any (so that it can wrap a CI job), 2 for a mistake in the command line.`,
		Example: `  dcskit proxy --upstream https://dcs.ap-southeast-1.myhuaweicloud.com --listen 127.0.0.1:0`,
		Args:    noArgs,
	}
	fs := cmd.Flags()
	fs.StringVar(&upstream, "upstream", "", "where requests go: scheme://host[:port] (required)")
	fs.StringVar(&listen, "listen", "127.0.0.1:9000", "address to listen on; port 0 picks a free one")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if upstream == "" {
			return usageErrorf("--upstream is required")
		}
		logger := slog.New(slog.NewTextHandler(e.stderr, nil))
		p, err := proxy.New(proxy.Options{Upstream: upstream, Transport: e.transport, Logger: logger})
		if err != nil {
			return usageError{err}
		}
		ln, err := e.listen(listen)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", listen, err)
		}
		fmt.Fprintf(e.stdout, "http://%s\n", ln.Addr())
		logger.Info("proxy listening", "addr", ln.Addr().String(), "upstream", upstream)
		err = httpserve.Run(cmd.Context(), httpserve.New(p, logger), ln, e.drainTimeout(), logger)
		sum := p.Summary()
		fmt.Fprintf(e.stdout, "proxy: %s\n", sum)
		if err != nil {
			return err
		}
		if sum.Violations > 0 {
			return fmt.Errorf("%d violations of the spec: see the log", sum.Violations)
		}
		return nil
	}
	return cmd
}

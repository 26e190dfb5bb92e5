package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/dcskit/dcskit/exporter"
	"github.com/dcskit/dcskit/internal/httpserve"
)

func newExporterCmd(e *env) *cobra.Command {
	var (
		listen      string
		minInterval time.Duration
	)
	cmd := &cobra.Command{
		Use:   "exporter",
		Short: "Serve DCS instance counts as Prometheus metrics",
		Long: `Serve the project's DCS instance counts on /metrics for Prometheus, and
/healthz for liveness checks.

huaweicloud_dcs_instances{project_id,engine,status} is one gauge per engine
and status, zeros included. When a call to the
API fails, the gauges keep their last good values and
huaweicloud_dcs_scrape_success drops to 0; the error goes to the log on
stderr. --min-interval reuses an answer for that long, and concurrent
scrapes share one call, so that scrapes do not hammer the API. --timeout
bounds one API call, retries included. A scrape answers within the timeout
Prometheus sends (X-Prometheus-Scrape-Timeout-Seconds, less 0.5s): if the
API is slower, with the last good values and scrape_success 0, and the call
is cancelled once no scrape waits for it.

The first line on stdout is the metrics URL. SIGINT or SIGTERM answers the
scrapes in flight at once and exits 0.

` + failedCreationsRule + `

` + credentialsHelp,
		Example: `  dcskit exporter --project-id 0a1b2c3d4e5f --listen 127.0.0.1:9787
  curl -s 127.0.0.1:9787/metrics | grep huaweicloud_dcs_instances`,
		Args: noArgs,
	}
	conn := addConnFlags(cmd, exporter.DefaultTimeout)
	fs := cmd.Flags()
	fs.StringVar(&listen, "listen", "127.0.0.1:9787", "address to serve /metrics and /healthz on")
	fs.DurationVar(&minInterval, "min-interval", 30*time.Second, "reuse an API answer for this long")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if minInterval < 0 {
			return usageErrorf("--min-interval must not be negative, got %s", minInterval)
		}
		c, err := conn.newClient(cmd.Context(), e)
		if err != nil {
			return err
		}
		logger := slog.New(slog.NewTextHandler(e.stderr, nil))
		timeout := conn.timeout
		if timeout <= 0 {
			timeout = pollTimeout
		}
		exp, err := exporter.New(exporter.Options{
			ProjectID:   c.ProjectID(),
			Fetch:       fetchCounts(c, timeout),
			MinInterval: minInterval,
			Timeout:     timeout,
			Logger:      logger,
		})
		if err != nil {
			return err
		}
		h, err := exp.Handler()
		if err != nil {
			return err
		}
		ln, err := e.listen(listen)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", listen, err)
		}
		fmt.Fprintf(e.stdout, "http://%s/metrics\n", ln.Addr())
		logger.Info("exporter listening", "addr", ln.Addr().String(), "project_id", c.ProjectID(), "endpoint", c.Endpoint())
		srv := httpserve.New(h, logger)
		// Scrapes waiting for the API answer at once, with the last good
		// values, rather than holding the shutdown up.
		srv.RegisterOnShutdown(exp.Close)
		return httpserve.Run(cmd.Context(), srv, ln, e.drainTimeout(), logger)
	}
	return cmd
}

package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/client/profile"
	"github.com/dcskit/dcskit/exporter"
	"github.com/dcskit/dcskit/internal/httpserve"
)

func newExporterCmd(e *env) *cobra.Command {
	var (
		listen                  string
		minInterval             time.Duration
		configFile              string
		allProjects             bool
		maxTargets, maxInFlight int
	)
	cmd := &cobra.Command{
		Use:   "exporter",
		Short: "Serve DCS instance counts as Prometheus metrics",
		Long: `Serve DCS instance counts for Prometheus: /metrics, /probe, and /healthz
for liveness checks.

huaweicloud_dcs_instances{project_id,region,engine,status} is one gauge per
engine and status, zeros included. When a call to the API fails, the
gauges keep their last good values and
huaweicloud_dcs_scrape_success drops to 0; the error goes to the log on
stderr. --min-interval reuses an answer for that long, and concurrent
scrapes share one call, so that scrapes do not hammer the API. --timeout
bounds one API call, retries included. A scrape answers within the timeout
Prometheus sends (X-Prometheus-Scrape-Timeout-Seconds, less 0.5s): if the
API is slower, with the last good values and scrape_success 0, and the call
is cancelled once no scrape waits for it.

/metrics serves the exporter's own metrics (Go, process, targets known,
calls in flight) and those of its targets: the project of --project-id or
--region (found through IAM without an id); or every target of --config
FILE, a YAML list of targets, each with region, and optionally project_id
and profile (a credentials file of its own, INI as the SDK reads it);
or, with --all-projects, every project the credentials can access (IAM's
GET /v3/auth/projects, listed again every 10 minutes), each in the region
its name starts with. Targets are fetched concurrently, at most
--max-in-flight calls at once; one failing target never hides the others.

/probe?region=R[&project_id=P] serves one target, its project found
through IAM when not given: Prometheus' multi-target pattern (see
deploy/prometheus-scrape.yaml). A target of --config is reached with its
profile; any other with the default credentials. The exporter remembers at
most --max-targets targets, forgetting those /probe asked for least
recently first. A malformed query answers 400; a region IAM has no project
for, 404.

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
	fs.StringVar(&listen, "listen", "127.0.0.1:9787", "address to serve /metrics, /probe and /healthz on")
	fs.DurationVar(&minInterval, "min-interval", 30*time.Second, "reuse an API answer for this long, per target")
	fs.StringVar(&configFile, "config", "", "serve every target of this YAML file on /metrics (see --help)")
	fs.BoolVar(&allProjects, "all-projects", false, "serve every project the credentials can access on /metrics")
	fs.IntVar(&maxTargets, "max-targets", exporter.DefaultMaxTargets, "targets remembered at most")
	fs.IntVar(&maxInFlight, "max-in-flight", exporter.DefaultMaxInFlight, "API calls in flight at most")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		switch {
		case minInterval < 0:
			return usageErrorf("--min-interval must not be negative, got %s", minInterval)
		case maxTargets < 1 || maxInFlight < 1:
			return usageErrorf("--max-targets and --max-in-flight must be at least 1")
		case configFile != "" && allProjects:
			return usageErrorf("--config and --all-projects exclude each other")
		}
		if configFile != "" || allProjects {
			for _, name := range []string{"project-id", "region"} {
				if cmd.Flags().Changed(name) {
					return usageErrorf("--%s names the one target of an exporter without --config or --all-projects", name)
				}
			}
		}
		logger := slog.New(slog.NewTextHandler(e.stderr, nil))
		timeout := conn.timeout
		if timeout <= 0 {
			timeout = pollTimeout
		}
		clientOpts, err := conn.options(e)
		if err != nil {
			return err
		}
		account, err := exporter.NewAccount(clientOpts...)
		if err != nil {
			return usageError{err}
		}
		opts := exporter.Options{
			Account:     account,
			AllProjects: allProjects,
			MinInterval: minInterval,
			Timeout:     timeout,
			MaxTargets:  maxTargets,
			MaxInFlight: maxInFlight,
			Logger:      logger,
		}
		switch {
		case configFile != "":
			if opts.Targets, err = configTargets(cmd.Context(), e, conn, account, configFile); err != nil {
				return err
			}
		case !allProjects:
			c, err := conn.newClient(cmd.Context(), e)
			if err != nil {
				return err
			}
			id, err := c.ProjectID(cmd.Context())
			if err != nil {
				return err
			}
			opts.Targets = []exporter.Spec{{Region: c.Region(), ProjectID: id}}
		}
		exp, err := exporter.New(opts)
		if err != nil {
			return usageError{err}
		}
		if allProjects {
			ctx, cancel := conn.withTimeout(cmd.Context())
			err := exp.Refresh(ctx)
			cancel()
			if err != nil {
				return asUsageError[*client.CredentialsError](err)
			}
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
		logger.Info("exporter listening", "addr", ln.Addr().String(), "targets", len(opts.Targets), "all_projects", allProjects)
		srv := httpserve.New(h, logger)
		// Scrapes waiting for the API answer at once, with the last good
		// values, rather than holding the shutdown up.
		srv.RegisterOnShutdown(exp.Close)
		return httpserve.Run(cmd.Context(), srv, ln, e.drainTimeout(), logger)
	}
	return cmd
}

// configTargets are the targets of the --config file, each profile's
// credentials and, if a target has no profile, the default credentials
// checked now: a configuration that cannot work is a usage error.
func configTargets(ctx context.Context, e *env, conn *connFlags, account *exporter.ClientAccount, path string) ([]exporter.Spec, error) {
	cfg, err := exporter.ReadConfig(path)
	if err != nil {
		return nil, usageError{err}
	}
	clientOpts, err := conn.options(e)
	if err != nil {
		return nil, err
	}
	ctx, cancel := conn.withTimeout(ctx)
	defer cancel()
	specs, err := cfg.Specs(account, func(file string) (exporter.Account, error) {
		a, err := exporter.NewAccount(append(clientOpts, client.WithCredentialsProvider(profile.FileAt(file)))...)
		if err != nil {
			return nil, err
		}
		return a, a.Credentials(ctx)
	})
	if err != nil {
		return nil, usageError{fmt.Errorf("configuration %s: %w", path, err)}
	}
	for i, s := range specs {
		if s.Account == exporter.Account(account) {
			if err := account.Credentials(ctx); err != nil {
				return nil, asUsageError[*client.CredentialsError](fmt.Errorf("configuration %s: targets[%d] has no profile, and the default credentials fail: %w", path, i, err))
			}
			break
		}
	}
	return specs, nil
}

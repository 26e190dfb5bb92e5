package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/client/profile"
	"github.com/dcskit/dcskit/exporter"
	"github.com/dcskit/dcskit/internal/httpserve"
)

func newExporterCmd(e *env) *cobra.Command {
	var (
		listen, configFile           string
		allProjects                  bool
		minInterval, refreshInterval time.Duration
		maxTargets, maxInFlight      int
		rate                         float64
	)
	cmd := &cobra.Command{
		Use:   "exporter",
		Short: "Serve DCS instance counts as Prometheus metrics",
		Long: `Serve DCS instance counts for Prometheus (see docs/many-projects.md).

/metrics serves the exporter's own metrics and those of its targets: the
project of --project-id or --region, every target of --config FILE (a YAML
list of region, project_id, profile), or with --all-projects every project
the credentials can access. Each is refreshed in the background every
--refresh-interval, so that no scrape waits for the API; a failed call
keeps the last good gauges, and huaweicloud_dcs_last_scrape_timestamp_seconds
says how old they are. /probe?region=R[&project_id=P] calls the API for one
target while Prometheus waits, within its scrape timeout. At most
--max-in-flight calls are in flight; a 429 or 503 pauses them all. The
first line on stdout is the metrics URL, once every target was refreshed or
--timeout passed. SIGINT or SIGTERM stops at once and exits 0.

` + failedCreationsRule + `

` + credentialsHelp,
		Example: `  dcskit exporter --project-id 0a1b2c3d4e5f --listen 127.0.0.1:9787
  curl -s 127.0.0.1:9787/metrics | grep huaweicloud_dcs_instances`,
		Args: noArgs,
	}
	conn := addConnFlags(cmd, exporter.DefaultTimeout)
	fs := cmd.Flags()
	fs.StringVar(&listen, "listen", "127.0.0.1:9787", "address to serve /metrics, /probe and /healthz on")
	fs.StringVar(&configFile, "config", "", "serve every target of this YAML file on /metrics (see --help)")
	fs.BoolVar(&allProjects, "all-projects", false, "serve every project the credentials can access on /metrics")
	fs.DurationVar(&refreshInterval, "refresh-interval", exporter.DefaultRefreshInterval, "refresh each target of /metrics this often")
	fs.DurationVar(&minInterval, "min-interval", 30*time.Second, "reuse an answer of /probe for this long, per target")
	fs.IntVar(&maxTargets, "max-targets", exporter.DefaultMaxTargets, "targets of /metrics at most, and apart those /probe remembers")
	fs.IntVar(&maxInFlight, "max-in-flight", exporter.DefaultMaxInFlight, "API calls in flight at most")
	fs.Float64Var(&rate, "rate", 0, "API calls started per second at most (0: no bound)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		switch {
		case minInterval < 0 || rate < 0 || refreshInterval <= 0 || conn.timeout <= 0:
			return usageErrorf("--min-interval and --rate must not be negative, --refresh-interval and --timeout must be positive")
		case maxTargets < 1 || maxInFlight < 1:
			return usageErrorf("--max-targets and --max-in-flight must be at least 1")
		case configFile != "" && allProjects:
			return usageErrorf("--config and --all-projects exclude each other")
		}
		for _, name := range []string{"project-id", "region"} {
			if (configFile != "" || allProjects) && cmd.Flags().Changed(name) {
				return usageErrorf("--%s names the one target of an exporter without --config or --all-projects", name)
			}
		}
		logger := slog.New(slog.NewTextHandler(e.stderr, nil))
		clientOpts, err := conn.options(e)
		if err != nil {
			return err
		}
		account, err := exporter.NewAccount(clientOpts...)
		if err != nil {
			return usageError{err}
		}
		opts := exporter.Options{Account: account, AllProjects: allProjects, RefreshInterval: refreshInterval,
			MinInterval: minInterval, Timeout: conn.timeout, MaxTargets: maxTargets, MaxInFlight: maxInFlight, Rate: rate, Logger: logger}
		ctx, cancel := context.WithTimeout(cmd.Context(), conn.timeout)
		defer cancel()
		switch {
		case configFile != "":
			if opts.Targets, err = configTargets(ctx, clientOpts, account, configFile); err != nil {
				return err
			}
		case !allProjects:
			c, err := conn.newClient(cmd.Context(), e)
			if err != nil {
				return err
			}
			project, _ := c.ProjectID(ctx) // found by newClient, which fails else
			opts.Targets = []exporter.Spec{{Region: c.Region(), ProjectID: project}}
		}
		exp, err := exporter.New(opts)
		if err != nil {
			return usageError{err}
		}
		if err := exp.Discover(ctx); err != nil {
			return asUsageError[*client.CredentialsError](err)
		}
		go exp.Run(cmd.Context())
		select { // so that the first scrape has data
		case <-exp.Ready():
		case <-ctx.Done():
		}
		ln, err := e.listen(listen)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", listen, err)
		}
		fmt.Fprintf(e.stdout, "http://%s/metrics\n", ln.Addr())
		logger.Info("exporter listening", "addr", ln.Addr().String(), "targets", len(opts.Targets), "all_projects", allProjects)
		return httpserve.Run(cmd.Context(), httpserve.New(exp.Handler(), logger), ln, e.drainTimeout(), logger)
	}
	return cmd
}

// configTargets are the targets of the --config file. Each profile's
// credentials and, if a target has no profile, the default credentials
// are checked now: a configuration that cannot work is a usage error.
func configTargets(ctx context.Context, clientOpts []client.Option, account *exporter.Account, path string) ([]exporter.Spec, error) {
	specs, err := exporter.ReadConfig(path, account, func(file string) (*exporter.Account, error) {
		a, err := exporter.NewAccount(append(clientOpts, client.WithCredentialsProvider(profile.FileAt(file)))...)
		if err != nil {
			return nil, err
		}
		return a, a.Credentials(ctx)
	})
	if err != nil {
		return nil, usageError{err}
	}
	if i := slices.IndexFunc(specs, func(s exporter.Spec) bool { return s.Account == account }); i >= 0 {
		if err := account.Credentials(ctx); err != nil {
			return nil, asUsageError[*client.CredentialsError](fmt.Errorf("configuration %s: targets[%d] has no profile, and the default credentials fail: %w", path, i, err))
		}
	}
	return specs, nil
}

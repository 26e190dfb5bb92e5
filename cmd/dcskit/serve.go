package main

import (
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/internal/httpserve"
	"github.com/dcskit/dcskit/server"
)

func newServeCmd(e *env) *cobra.Command {
	var (
		addr, fixture, logLevel string
		opts                    server.Options
		projects                []string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve a fake of the DCS instance status API for tests",
		Long: `Serve a stateful fake of GET /v2/{project_id}/instances/status that
answers as the real API does, errors included, and validates every request
against the OpenAPI document.

--fixture seeds it from a JSON file:
  {"instances": [{"project_id": "...", "engine": "Redis", "status": "CREATING",
                  "id": "optional", "name": "optional", "count": 1,
                  "becomes": {"status": "RUNNING", "after": "30s"}}]}
"becomes" (optional) changes the status when "after" has passed.
--ak with --sk requires AK/SK (SDK-HMAC-SHA256) signatures; --token requires
X-Auth-Token; with both, either is accepted. The admin API under /_fake/
(reset, instances, projects, faults, healthz; see openapi/admin.yaml)
changes the fake while it runs.

It also serves IAM's project listings (GET /v3/projects?name=<region>, GET
/v3/auth/projects), with which clients find a project id, from --project,
the fixture's "projects" (a list of {"id": ..., "name": "<region>"}) or
/_fake/projects. A project that has instances but no entry is listed under
` + client.DefaultRegion + `.

The fake journals every request but those to /_fake/: GET /_fake/requests
(?status=401&path=...) tells what clients sent, which access key signed it
and why a request was refused; DELETE /_fake/requests empties it. It keeps
the last --journal-size requests and holds no secret.

The first line on stdout is the base URL. Logs go to stderr, one line per
request, with the reason of a refused signature; --log-level debug adds the
canonical request and string to sign the fake expected, to debug a signer.
SIGINT or SIGTERM drains requests in flight and exits 0.`,
		Example: `  dcskit serve --addr 127.0.0.1:0 --fixture instances.json --ak AK --sk SK
  curl -s -X POST localhost:8080/_fake/faults -d '{"status":503,"times":2}'`,
		Args: noArgs,
	}
	fs := cmd.Flags()
	fs.StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on; port 0 picks a free one")
	fs.StringVar(&fixture, "fixture", "", "JSON `file` of instances to serve")
	fs.StringVar(&opts.AccessKey, "ak", "", "require AK/SK signatures with this access key (needs --sk)")
	fs.StringVar(&opts.SecretKey, "sk", "", "the secret key of --ak")
	fs.StringVar(&opts.Token, "token", "", "require X-Auth-Token to equal this token")
	fs.BoolVar(&opts.DisableValidation, "disable-validation", false, "do not check requests against the OpenAPI document")
	fs.StringArrayVar(&projects, "project", nil, "`ID=REGION`: a project that IAM lists, named after its region (repeatable)")
	fs.IntVar(&opts.JournalSize, "journal-size", server.DefaultJournalSize, fmt.Sprintf("requests the journal keeps, at most %d; negative: none", server.MaxJournalSize))
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if (opts.AccessKey == "") != (opts.SecretKey == "") {
			return usageErrorf("--ak and --sk must be given together")
		}
		for _, p := range projects {
			id, region, ok := strings.Cut(p, "=")
			if !ok {
				return usageErrorf("--project %q: want ID=REGION", p)
			}
			opts.Projects = append(opts.Projects, server.Project{ID: id, Name: region})
		}
		var level slog.Level
		if err := level.UnmarshalText([]byte(logLevel)); err != nil {
			return usageErrorf("--log-level %q: want debug, info, warn or error", logLevel)
		}
		if opts.JournalSize > server.MaxJournalSize {
			return usageErrorf("--journal-size %d: at most %d", opts.JournalSize, server.MaxJournalSize)
		}
		opts.Logger = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
		s, err := server.New(opts)
		if err != nil {
			return asUsageError[*server.InvalidError](err)
		}
		if fixture != "" {
			if err := s.LoadFixtureFile(fixture); err != nil {
				return usageError{err}
			}
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", addr, err)
		}
		fmt.Fprintf(e.stdout, "http://%s\n", ln.Addr())
		opts.Logger.Info("fake DCS API listening", "addr", ln.Addr().String(), "instances", len(s.Instances("")))
		return httpserve.Run(cmd.Context(), httpserve.New(s.Handler(), opts.Logger), s.Listener(ln), httpserve.DrainTimeout)
	}
	return cmd
}

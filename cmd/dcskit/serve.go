package main

import (
	"cmp"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/internal/httpserve"
	"github.com/dcskit/dcskit/server"
)

func newServeCmd(e *env) *cobra.Command {
	var (
		addr, fixture, logLevel string
		skFile, tokenFile       string
		opts                    server.Options
		projects                []string
		allowRemote             bool
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

--ak with a secret key requires AK/SK (SDK-HMAC-SHA256) signatures; a token
requires X-Auth-Token; with both, either is accepted. The secret key comes
from $` + envServeSK + ` or --sk-file, the token from $` + envServeToken + ` or
--token-file: --sk and --token work too, but any user of the machine can
read them in the process list. Without credentials the fake takes every
request, and 'dcskit status --no-sign-request' asks it.

The admin API under /_fake/ (reset, instances, projects, faults, requests,
healthz, and the fake's own OpenAPI documents under /_fake/openapi/; see
openapi/admin.yaml) changes the fake while it runs. It takes JSON bodies
with Content-Type application/json, none, or what curl -d sends. Requests
from this machine need no credentials; with credentials, requests from
other hosts (see --allow-remote) need the same as the DCS API (all but
/_fake/healthz).

It also serves IAM's project listings (GET /v3/projects?name=<region>, GET
/v3/auth/projects), with which clients find a project id, from --project,
the fixture's "projects" (a list of {"id": ..., "name": "<region>"}) or
/_fake/projects. A project that has instances but no entry is listed under
` + client.DefaultRegion + `.

The fake journals every request but those to /_fake/: GET /_fake/requests
(?status=401&path=...) tells what clients sent, which access key signed it
and why a request was refused; DELETE /_fake/requests empties it. It keeps
the last --journal-size requests and holds no secret.

It listens on loopback only, unless --allow-remote: then it warns on stderr.
Every request is bounded (see "Limits" in openapi/admin.yaml): at most
--max-instances instances, 4 MiB admin bodies, pages of 1,000 instances.

The first line on stdout is the base URL. Logs go to stderr, one line per
request, with the reason of a refused signature; --log-level debug adds the
canonical request and string to sign the fake expected, to debug a signer.
SIGINT or SIGTERM drains requests in flight for up to 5s and exits 0;
requests still running then are cut off, and it exits 1 saying how many.`,
		Example: `  dcskit serve --addr 127.0.0.1:8080
  curl -s -X POST localhost:8080/_fake/instances -d '{"instances": [{"project_id": "p1", "engine": "Redis", "status": "CREATING", "becomes": {"status": "RUNNING", "after": "30s"}}]}'
  curl -s -X POST localhost:8080/_fake/faults -d '{"status": 503, "times": 2}'
  dcskit status --endpoint http://127.0.0.1:8080 --project-id p1 --no-sign-request`,
		Args: noArgs,
	}
	fs := cmd.Flags()
	fs.StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on; port 0 picks a free one")
	fs.StringVar(&fixture, "fixture", "", "JSON `file` of instances to serve")
	fs.StringVar(&opts.AccessKey, "ak", "", "require AK/SK signatures with this access key (needs a secret key: $"+envServeSK+" or --sk-file)")
	fs.StringVar(&opts.SecretKey, "sk", "", "the secret key of --ak, visible in the process list (default $"+envServeSK+")")
	fs.StringVar(&skFile, "sk-file", "", "read the secret key of --ak from this `file`")
	fs.StringVar(&opts.Token, "token", "", "require X-Auth-Token to equal this token, visible in the process list (default $"+envServeToken+")")
	fs.StringVar(&tokenFile, "token-file", "", "read the token that X-Auth-Token must equal from this `file`")
	fs.BoolVar(&opts.DisableValidation, "disable-validation", false, "do not check requests against the OpenAPI document")
	fs.StringArrayVar(&projects, "project", nil, "`ID=REGION`: a project that IAM lists, named after its region (repeatable)")
	fs.IntVar(&opts.JournalSize, "journal-size", server.DefaultJournalSize, fmt.Sprintf("requests the journal keeps, at most %d; negative: none", server.MaxJournalSize))
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&allowRemote, "allow-remote", false, "listen on a non-loopback --addr, reachable from other hosts")
	fs.IntVar(&opts.MaxInstances, "max-instances", server.DefaultMaxInstances, "hold at most this many instances")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var err error
		if opts.SecretKey, err = secret(e, opts.SecretKey, "--sk", skFile, "--sk-file", envServeSK); err != nil {
			return err
		}
		if opts.Token, err = secret(e, opts.Token, "--token", tokenFile, "--token-file", envServeToken); err != nil {
			return err
		}
		if (opts.AccessKey == "") != (opts.SecretKey == "") {
			return usageErrorf("--ak and a secret key ($%s, --sk-file or --sk) must be given together", envServeSK)
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
		if opts.MaxInstances < 1 {
			return usageErrorf("--max-instances must be positive, got %d", opts.MaxInstances)
		}
		loopback, err := isLoopback(addr)
		if err != nil {
			return usageError{err}
		}
		switch {
		case !loopback && !allowRemote:
			return usageErrorf("--addr %s is not a loopback address: the fake would be reachable from other hosts; pass --allow-remote to mean it", addr)
		case !loopback:
			warning := "other hosts can reach it, and change it through the admin API under /_fake/"
			if opts.AccessKey == "" && opts.Token == "" {
				warning += " without credentials (--ak/--sk or --token require them)"
			}
			fmt.Fprintf(e.stderr, "dcskit: warning: serving on %s: %s\n", addr, warning)
		}
		if e.getenv("GOMEMLIMIT") == "" {
			defer debug.SetMemoryLimit(debug.SetMemoryLimit(memoryLimit(opts.MaxInstances)))
		}
		opts.Logger = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
		if e.clock != nil {
			opts.Clock = e.clock // a test's, which wait moves too
		}
		s, err := server.New(opts)
		if err != nil {
			return asUsageError[*server.InvalidError](err)
		}
		if fixture != "" {
			if err := s.LoadFixtureFile(fixture); err != nil {
				return usageError{err}
			}
		}
		ln, err := e.listen(addr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", addr, err)
		}
		fmt.Fprintf(e.stdout, "http://%s\n", ln.Addr())
		opts.Logger.Info("fake DCS API listening", "addr", ln.Addr().String(), "instances", len(s.Instances("")))
		return httpserve.Run(cmd.Context(), httpserve.New(s.Handler(), opts.Logger), s.Listener(ln), e.drainTimeout(), opts.Logger)
	}
	return cmd
}

// The environment variables of serve's secrets, which need not be flags
// that the process list shows.
const (
	envServeSK    = "DCSKIT_SERVE_SK"
	envServeToken = "DCSKIT_SERVE_TOKEN"
)

// memoryLimit is the soft memory limit of `dcskit serve` for at most
// maxInstances instances, unless GOMEMLIMIT sets one. Near it the garbage
// collector runs more often, where by default it lets the heap grow to
// twice what it found live: with a full store of DefaultMaxInstances (up
// to 350 MB) and admin requests in flight, that went past 1.5 GB of RSS;
// with this, make attack measures about 1.0 GB.
func memoryLimit(maxInstances int) int64 {
	return max(1<<30, int64(maxInstances)<<10)
}

// drainTimeout is how long serve and exporter wait for requests in flight
// when they stop.
func (e *env) drainTimeout() time.Duration { return cmp.Or(e.drain, httpserve.DrainTimeout) }

// isLoopback reports whether addr (host:port) listens on loopback only:
// an empty host is every interface, and a name other than localhost may
// resolve to anything.
func isLoopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("--addr %q: want host:port, such as 127.0.0.1:8080", addr)
	}
	if host == "localhost" {
		return true, nil
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback(), nil
}

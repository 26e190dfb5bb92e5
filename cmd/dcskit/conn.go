package main

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/client/profile"
)

// Environment variables of dcskit's own: the official SDK has none for a
// region or an IAM token, nor has hcloud (KooCLI). A token is a secret, so
// it is never a flag's value, which the process list shows.
const (
	envRegion = "DCSKIT_REGION"
	envToken  = "DCSKIT_IAM_TOKEN"
)

// credentialsHelp is in the help of every command that calls the API.
const credentialsHelp = `Credentials come from where the official SDK finds them: the environment
(HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK, HUAWEICLOUD_SDK_SECURITY_TOKEN),
the profile file (HUAWEICLOUD_SDK_CREDENTIALS_FILE or
~/.huaweicloud/credentials), then the ECS metadata service. An IAM token
in $` + envToken + ` or --token-file is sent as X-Auth-Token instead;
--no-sign-request sends no credentials. Without a project id
(HUAWEICLOUD_SDK_PROJECT_ID, the profile's project_id), the region's
project is found through IAM. The region is --region, else $` + envRegion + `,
else ` + client.DefaultRegion + `. See docs/credentials.md.

--debug logs every HTTP exchange on stderr, without a secret key, token or
signature.`

// failedCreationsRule is in the help of status, wait and exporter.
const failedCreationsRule = `Failed creations (CREATEFAILED) are counted, as every dcskit command counts
them: the API is asked with include_failure=true.`

// connFlags are the flags of every command that calls the API.
type connFlags struct {
	projectID, region, endpoint, endpointTemplate, tokenFile string
	timeout                                                  time.Duration
	noSignRequest, debug                                     bool
}

func addConnFlags(cmd *cobra.Command, defaultTimeout time.Duration) *connFlags {
	f := &connFlags{}
	fs := cmd.Flags()
	timeoutUsage := "limit for the whole command, retries included (0: none)"
	if cmd.Name() == "exporter" {
		timeoutUsage = "bound on one API call, retries included"
	}
	fs.StringVar(&f.projectID, "project-id", "", "project ID (default $"+client.EnvProjectID+", the profile's project_id, or the region's project in IAM)")
	fs.StringVar(&f.region, "region", "", "region; the endpoint is https://dcs.<region>.myhuaweicloud.com (default $"+envRegion+", else "+client.DefaultRegion+")")
	fs.StringVar(&f.endpoint, "endpoint", "", "API base URL, such as http://127.0.0.1:8080; overrides --region and $"+client.EnvEndpointPrefix+"<REGION>")
	fs.StringVar(&f.endpointTemplate, "endpoint-template", "", "API base URL of every region, {region} replaced, e.g. https://dcs.{region}.example; overrides $"+client.EnvEndpointPrefix+"<REGION>")
	fs.DurationVar(&f.timeout, "timeout", defaultTimeout, timeoutUsage)
	fs.BoolVar(&f.noSignRequest, "no-sign-request", false, "send no credentials (for an endpoint that needs none, such as a fake served without them)")
	fs.StringVar(&f.tokenFile, "token-file", "", "read an IAM token to send as X-Auth-Token from this `file` (default $"+envToken+")")
	fs.BoolVar(&f.debug, "debug", false, "log every HTTP exchange on stderr, without secrets")
	_ = cmd.RegisterFlagCompletionFunc("region", completeRegion)
	return f
}

// newClient builds a client from the flags and the official SDK's
// defaults, flags winning, and finds its credentials and project before
// the command starts. Bad flags, no credentials, or no single project for
// the region are usage errors; a failure to reach IAM is not.
func (f *connFlags) newClient(ctx context.Context, e *env) (*client.Client, error) {
	opts, err := f.options(e)
	if err != nil {
		return nil, err
	}
	opts = append(opts, client.WithRegion(cmp.Or(f.region, e.getenv(envRegion), client.DefaultRegion)))
	if f.projectID != "" {
		opts = append(opts, client.WithProjectID(f.projectID))
	}
	c, err := client.New(opts...)
	if err != nil {
		return nil, usageError{err}
	}
	ctx, cancel := f.withTimeout(ctx)
	defer cancel()
	if _, err := c.Credentials(ctx); err != nil {
		return nil, asUsageError[*client.CredentialsError](withCredentialsHint(err))
	}
	if _, err := c.ProjectID(ctx); err != nil {
		return nil, asUsageError[*client.DiscoveryError](asUsageError[*client.CredentialsError](err))
	}
	return c, nil
}

// options are the client options that every client of the command
// shares: all but the region and project.
func (f *connFlags) options(e *env) ([]client.Option, error) {
	auth, err := f.auth(e)
	if err != nil {
		return nil, err
	}
	opts := auth
	if f.endpoint != "" {
		opts = append(opts, client.WithEndpoint(f.endpoint))
	}
	if f.endpointTemplate != "" {
		opts = append(opts, client.WithEndpointTemplate(f.endpointTemplate))
	}
	if f.debug {
		opts = append(opts, client.WithLogger(slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	}
	return append(opts, e.clientOptions...), nil
}

// auth is how the client proves who it is: no credentials with
// --no-sign-request, an IAM token from --token-file or $DCSKIT_IAM_TOKEN,
// else the official SDK's chain. The environment's project id and
// endpoints apply in every case; its keys only to the chain, since
// explicit credentials win over the keys FromEnv reads.
func (f *connFlags) auth(e *env) ([]client.Option, error) {
	token, err := secret(e, "", "", f.tokenFile, "--token-file", envToken)
	from := "$" + envToken
	if f.tokenFile != "" {
		from = "--token-file"
	}
	switch {
	case err != nil:
		return nil, err
	case f.noSignRequest && f.tokenFile != "":
		return nil, usageErrorf("--no-sign-request and --token-file exclude each other")
	case f.noSignRequest:
		return []client.Option{client.FromEnv(e.getenv), client.WithoutSigning()}, nil
	case token != "" && e.getenv(client.EnvAccessKey) != "":
		return nil, usageErrorf("both an IAM token (%s) and %s are set: use one", from, client.EnvAccessKey)
	case token != "":
		return []client.Option{client.FromEnv(e.getenv), client.WithIAMToken(token)}, nil
	case e.getenv(client.EnvAccessKey) != "" || e.getenv(client.EnvSecretKey) != "":
		// The chain's first source, read at New: half a pair is the
		// environment's mistake, and says so alone.
		return []client.Option{client.FromEnv(e.getenv)}, nil
	}
	return []client.Option{client.FromEnv(e.getenv), client.WithCredentialsProvider(profile.DefaultChain(e.getenv))}, nil
}

// secret is a flag's value, else the first line of a file a flag names,
// else an environment variable's value.
func secret(e *env, value, flag, file, fileFlag, envVar string) (string, error) {
	switch {
	case value != "" && file != "":
		return "", usageErrorf("%s and %s exclude each other", flag, fileFlag)
	case value != "":
		return value, nil
	case file == "":
		return e.getenv(envVar), nil
	}
	fh, err := os.Open(file)
	if err != nil {
		return "", usageErrorf("%s: %w", fileFlag, err)
	}
	defer fh.Close()
	// Bounded however the file is made: a pipe has no size to check. IAM
	// tokens are a few KiB.
	const limit = 64 << 10
	data, err := io.ReadAll(io.LimitReader(fh, limit+1))
	first, _, _ := strings.Cut(string(data), "\n")
	switch s := strings.TrimSpace(first); {
	case err != nil:
		return "", usageErrorf("%s: %w", fileFlag, err)
	case len(data) > limit:
		return "", usageErrorf("%s: %s: larger than %d KiB", fileFlag, file, limit>>10)
	case s == "":
		// No error quotes the file's content.
		return "", usageErrorf("%s: %s: its first line is empty", fileFlag, file)
	default:
		return s, nil
	}
}

// withCredentialsHint adds, to an error that no source had credentials,
// the two ways of calling without keys.
func withCredentialsHint(err error) error {
	ce, ok := errors.AsType[*client.CredentialsError](err)
	if !ok {
		return err
	}
	for _, tried := range ce.Tried {
		if !errors.Is(tried, client.ErrNoCredentials) {
			return err // a source is set up but broken: that is the news
		}
	}
	return fmt.Errorf("%w; or set %s to send an IAM token, or pass --no-sign-request to an endpoint that needs no credentials", err, envToken)
}

// asUsageError makes err a usage error if it is an E.
func asUsageError[E error](err error) error {
	if _, ok := errors.AsType[E](err); ok {
		return usageError{err}
	}
	return err
}

// withTimeout bounds ctx by --timeout.
func (f *connFlags) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if f.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, f.timeout)
}

// regions are the regions of DCS that the official Go SDK lists, one a
// line after a comment; interop/regions_test.go holds the two together.
//
//go:embed regions.txt
var regions string

// completeRegion offers the SDK's DCS regions for --region.
func completeRegion(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for line := range strings.Lines(regions) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// addOutputFlag registers -o/--output; the first format is the default.
func addOutputFlag(cmd *cobra.Command, output *string, formats ...string) {
	cmd.Flags().StringVarP(output, "output", "o", formats[0], "output format: "+strings.Join(formats, ", "))
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
}

func checkOutput(output string, formats ...string) error {
	if slices.Contains(formats, output) {
		return nil
	}
	return usageErrorf("unknown output %q: want %s", output, strings.Join(formats, ", "))
}

package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/dcskit/dcskit/client"
)

// connFlags are the flags of every command that calls the API.
type connFlags struct {
	projectID string
	region    string
	endpoint  string
	timeout   time.Duration
}

// addConnFlags registers --project-id, --region, --endpoint and --timeout,
// whose default is defaultTimeout, on cmd.
func addConnFlags(cmd *cobra.Command, defaultTimeout time.Duration) *connFlags {
	f := &connFlags{}
	fs := cmd.Flags()
	fs.StringVar(&f.projectID, "project-id", "", "project ID (default $"+client.EnvProjectID+")")
	fs.StringVar(&f.region, "region", client.DefaultRegion, "region; the endpoint is https://dcs.<region>.myhuaweicloud.com")
	fs.StringVar(&f.endpoint, "endpoint", "", "API base URL; overrides --region and $"+client.EnvEndpointPrefix+"<REGION>")
	fs.DurationVar(&f.timeout, "timeout", defaultTimeout, "limit for the whole command, retries included (0: none)")
	return f
}

// newClient builds a client from the flags and the environment (the
// official SDK's variables, see client.FromEnv). Flags win. Every failure
// is a usage error: nothing has been sent yet.
func (f *connFlags) newClient(e *env) (*client.Client, error) {
	getenv := e.getenv
	if f.projectID == "" && getenv(client.EnvProjectID) == "" {
		return nil, usageErrorf("a project id is required: --project-id or $%s", client.EnvProjectID)
	}
	opts := []client.Option{client.FromEnv(getenv), client.WithRegion(f.region)}
	if f.projectID != "" {
		opts = append(opts, client.WithProjectID(f.projectID))
	}
	if f.endpoint != "" {
		opts = append(opts, client.WithEndpoint(f.endpoint))
	}
	c, err := client.New(append(opts, e.clientOptions...)...)
	if err != nil {
		return nil, usageError{err}
	}
	return c, nil
}

// withTimeout bounds ctx by --timeout.
func (f *connFlags) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if f.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, f.timeout)
}

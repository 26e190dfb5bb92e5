package main

import (
	"context"
	"errors"
	"time"

	"github.com/spf13/cobra"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/client/profile"
)

// connFlags are the flags of every command that calls the API.
type connFlags struct {
	projectID        string
	region           string
	endpoint         string
	endpointTemplate string
	timeout          time.Duration
}

// addConnFlags registers --project-id, --region, --endpoint,
// --endpoint-template and --timeout, whose default is defaultTimeout, on
// cmd.
func addConnFlags(cmd *cobra.Command, defaultTimeout time.Duration) *connFlags {
	f := &connFlags{}
	fs := cmd.Flags()
	fs.StringVar(&f.projectID, "project-id", "", "project ID (default $"+client.EnvProjectID+", the profile's project_id, or the region's project in IAM)")
	fs.StringVar(&f.region, "region", client.DefaultRegion, "region; the endpoint is https://dcs.<region>.myhuaweicloud.com")
	fs.StringVar(&f.endpoint, "endpoint", "", "API base URL; overrides --region and $"+client.EnvEndpointPrefix+"<REGION>")
	fs.StringVar(&f.endpointTemplate, "endpoint-template", "", "API base URL of every region, {region} replaced, e.g. https://dcs.{region}.example; overrides $"+client.EnvEndpointPrefix+"<REGION>")
	fs.DurationVar(&f.timeout, "timeout", defaultTimeout, "limit for the whole command, retries included (0: none)")
	return f
}

// newClient builds a client from the flags and the official SDK's
// defaults (the environment, the profile file, ECS metadata; see
// profile.FromDefaultChain), flags winning, and finds its credentials and
// project before the command starts. Bad flags, no credentials, or no
// single project for the region are usage errors; a failure to reach IAM
// is not.
func (f *connFlags) newClient(ctx context.Context, e *env) (*client.Client, error) {
	opts := append(f.options(e), client.WithRegion(f.region))
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
		return nil, asUsageError[*client.CredentialsError](err)
	}
	if _, err := c.Project(ctx); err != nil {
		return nil, asUsageError[*client.DiscoveryError](err)
	}
	return c, nil
}

// options are the client options of the flags and the environment but
// the region and project: what every client of the command shares.
func (f *connFlags) options(e *env) []client.Option {
	opts := []client.Option{profile.FromDefaultChain(e.getenv)}
	if f.endpoint != "" {
		opts = append(opts, client.WithEndpoint(f.endpoint))
	}
	if f.endpointTemplate != "" {
		opts = append(opts, client.WithEndpointTemplate(f.endpointTemplate))
	}
	return append(opts, e.clientOptions...)
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

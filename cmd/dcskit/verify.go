package main

import (
	"errors"
	"time"

	"github.com/spf13/cobra"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/conformance"
)

// errNotConformant is verify's exit status 1: the report says why.
var errNotConformant = errors.New("the endpoint does not answer as the spec says")

func newVerifyCmd(e *env) *cobra.Command {
	var output string
	formats := []string{"text", "json"}
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check that an endpoint answers as the spec says",
		Long: `Check that an endpoint of ListNumberOfInstancesInDifferentStatus (the real
service, a fake, a proxy) answers as openapi/dcs.yaml says. It signs like
'status', with the same flags and environment variables, and asks with
include_failure absent, "true", "false" and "TRUE", then once with a
spoiled signature.

Each answer is validated against the spec (status, Content-Type, body),
and against what the API page says beyond the schema: each top-level
counter is the sum of the engines' counters; createfailed_count is 0 unless
include_failure is exactly "true"; every answer has an X-Request-Id; a bad
signature gets the API gateway's 401 (APIGW.xxxx, with request_id). Fields
the spec does not know, which other API versions send, are notes, not
errors.

With --no-sign-request there is no signature to spoil, and the last check
is a note.

` + credentialsHelp + `

Exit status: 0 when the endpoint is conformant, 1 when a check failed, 2
for a mistake in the command line or the configuration.`,
		Example: `  dcskit verify --region ap-southeast-1
  dcskit verify --region ap-southeast-1 -o json`,
		Args: noArgs,
	}
	conn := addConnFlags(cmd, time.Minute)
	addOutputFlag(cmd, &output, formats...)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := checkOutput(output, formats...); err != nil {
			return err
		}
		c, err := conn.newClient(cmd.Context(), e)
		if err != nil {
			return err
		}
		ctx, cancel := conn.withTimeout(cmd.Context())
		defer cancel()
		project, err := c.ProjectID(ctx)
		if err != nil {
			return err
		}
		opts, err := conn.options(e)
		if err != nil {
			return err
		}
		report, err := conformance.Check(ctx, append(opts, client.WithRegion(c.Region()), client.WithProjectID(project))...)
		if err != nil {
			return err
		}
		if output == "json" {
			err = writeJSON(e.stdout, report)
		} else {
			err = report.WriteText(e.stdout)
		}
		if err != nil {
			return err
		}
		if !report.Conformant() {
			if err := cmd.Context().Err(); err != nil {
				return err // a signal cut the checks short: no verdict
			}
			return errNotConformant
		}
		return nil
	}
	return cmd
}

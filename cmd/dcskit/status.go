package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/server"
)

func newStatusCmd(e *env) *cobra.Command {
	var (
		includeFailure, all bool
		output              string
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Print how many DCS instances are in each status",
		Long: `Print how many of the project's DCS instances are in each status, per
engine and in total, from the ListNumberOfInstancesInDifferentStatus API.

Credentials come from where the official SDK finds them, in its order: the
environment (HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK, plus
HUAWEICLOUD_SDK_SECURITY_TOKEN for temporary credentials), the profile file
(HUAWEICLOUD_SDK_CREDENTIALS_FILE or ~/.huaweicloud/credentials, section
[basic]), then the ECS metadata service. The project is --project-id,
HUAWEICLOUD_SDK_PROJECT_ID or the profile's project_id; without one, the
region's project is found through IAM (HUAWEICLOUD_SDK_IAM_ENDPOINT). The
endpoint override is HUAWEICLOUD_SDK_REGION_DCS_<REGION>.

-o fixture writes the answer as a fixture for 'dcskit serve --fixture' (and
server.LoadFixture): one count-based entry per engine and status with
instances, asked with include_failure=true so that failed creations are
kept. A fake loaded from it answers this project's counts as they were.

Exit status: 0 on success, 1 when the API or the network fails, 2 for a
mistake in the command line or the configuration.`,
		Example: `  export HUAWEICLOUD_SDK_AK=... HUAWEICLOUD_SDK_SK=...
  dcskit status --project-id 0a1b2c... --region ap-southeast-1
  dcskit status --include-failure --all
  dcskit status -o json | jq .running_count
  dcskit status --region ap-southeast-1 -o fixture`,
		Args: noArgs,
	}
	conn := addConnFlags(cmd, 30*time.Second)
	fs := cmd.Flags()
	fs.BoolVar(&includeFailure, "include-failure", false, "count instances whose creation failed")
	fs.BoolVar(&all, "all", false, "show every status, also those with no instances")
	fs.StringVarP(&output, "output", "o", "table", "output format: table, json (the API's own fields) or fixture (for serve --fixture)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if output != "table" && output != "json" && output != "fixture" {
			return usageErrorf("unknown output %q: want table, json or fixture", output)
		}
		c, err := conn.newClient(cmd.Context(), e)
		if err != nil {
			return err
		}
		ctx, cancel := conn.withTimeout(cmd.Context())
		defer cancel()
		var opts []client.StatusOption
		if includeFailure || output == "fixture" {
			opts = append(opts, client.IncludeFailure())
		}
		st, err := c.InstanceStatus(ctx, opts...)
		if err != nil {
			return err
		}
		switch output {
		case "json":
			return writeJSON(e.stdout, st)
		case "fixture":
			fx, err := server.CountsFixture(c.ProjectID(), st.Counts)
			if err != nil {
				return fmt.Errorf("the answer makes no fixture: %w", err)
			}
			return writeJSON(e.stdout, fx)
		}
		return writeTable(e.stdout, st.Counts, all)
	}
	return cmd
}

// writeJSON prints v as indented JSON, the form of every -o json.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeTable prints one row per status with the counts per engine and in
// total. Rows that are zero everywhere are left out unless all is set.
func writeTable(w io.Writer, c dcs.Counts, all bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	engines := dcs.Engines()
	fmt.Fprint(tw, "STATUS")
	for _, e := range engines {
		fmt.Fprint(tw, "\t"+strings.ToUpper(e.Key()))
	}
	fmt.Fprintln(tw, "\tTOTAL")
	for _, s := range dcs.Statuses() {
		row := []int32{}
		nonzero := false
		for _, e := range engines {
			row = append(row, c.Engine(e).Get(s))
		}
		row = append(row, c.Total.Get(s))
		for _, n := range row {
			nonzero = nonzero || n != 0
		}
		if !all && !nonzero {
			continue
		}
		fmt.Fprint(tw, s)
		for _, n := range row {
			fmt.Fprintf(tw, "\t%d", n)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

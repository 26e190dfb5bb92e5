package main

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
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
	formats := []string{"table", "json", "fixture"}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Print how many DCS instances are in each status",
		Long: `Print how many of the project's DCS instances are in each status, per
engine and in total, from the ListNumberOfInstancesInDifferentStatus API.

` + failedCreationsRule + `
--include-failure=false asks without them, as the API does by default:
their count is then shown as not requested, "-" in the table and null in
JSON, never as 0.

-o json prints the API's own fields. -o fixture writes the answer as a
fixture for 'dcskit serve --fixture' (and server.LoadFixture): one
count-based entry per engine and status with instances. A fake loaded from
it answers this project's counts as they were.

` + credentialsHelp + `

Exit status: 0 on success, 1 when the API or the network fails, 2 for a
mistake in the command line or the configuration.`,
		Example: `  dcskit status --project-id 0a1b2c3d4e5f --region ap-southeast-1
  dcskit status --all
  dcskit status -o json | jq .running_count
  dcskit status --region ap-southeast-1 -o fixture`,
		Args: noArgs,
	}
	conn := addConnFlags(cmd, 30*time.Second)
	fs := cmd.Flags()
	fs.BoolVar(&includeFailure, "include-failure", true, "count instances whose creation failed (false: show their count as not requested)")
	fs.BoolVar(&all, "all", false, "show every status, also those with no instances")
	addOutputFlag(cmd, &output, formats...)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := checkOutput(output, formats...); err != nil {
			return err
		}
		if output == "fixture" && !includeFailure {
			return usageErrorf("-o fixture keeps failed creations: drop --include-failure=false")
		}
		c, err := conn.newClient(cmd.Context(), e)
		if err != nil {
			return err
		}
		ctx, cancel := conn.withTimeout(cmd.Context())
		defer cancel()
		var opts []client.StatusOption
		var notRequested []dcs.Status
		if includeFailure {
			opts = append(opts, client.IncludeFailure())
		} else {
			notRequested = append(notRequested, dcs.CreateFailed)
		}
		st, err := c.InstanceStatus(ctx, opts...)
		if err != nil {
			return err
		}
		switch output {
		case "json":
			return writeCountsJSON(e.stdout, st, notRequested)
		case "fixture":
			project, _ := c.ProjectID(ctx) // newClient found it
			fx, err := server.CountsFixture(project, st.Counts)
			if err != nil {
				return fmt.Errorf("the answer makes no fixture: %w", err)
			}
			return writeJSON(e.stdout, fx)
		}
		return writeTable(e.stdout, st.Counts, all, notRequested...)
	}
	return cmd
}

// writeJSON prints v as indented JSON, the form of every -o json.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeCountsJSON prints st as the API's JSON, indented, in its order,
// with the counters of the statuses in notRequested as null: a count that
// was not asked for is not 0.
func writeCountsJSON(w io.Writer, st client.Status, notRequested []dcs.Status) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	for _, s := range notRequested {
		// JSON of numbers: a name and its colon are only where it is.
		data = regexp.MustCompile(`"`+s.Counter()+`": -?\d+`).ReplaceAll(data, []byte(`"`+s.Counter()+`": null`))
	}
	_, err = fmt.Fprintf(w, "%s\n", data)
	return err
}

// writeTable prints one row per status with the counts per engine and in
// total. Rows that are zero everywhere are left out unless all is set;
// the counts of the statuses in notRequested show as "-".
func writeTable(w io.Writer, c dcs.Counts, all bool, notRequested ...dcs.Status) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "STATUS")
	for _, e := range dcs.Engines() {
		fmt.Fprint(tw, "\t"+strings.ToUpper(e.Key()))
	}
	fmt.Fprintln(tw, "\tTOTAL")
	for _, s := range dcs.Statuses() {
		var row []int32
		for _, e := range dcs.Engines() {
			row = append(row, c.Engine(e).Get(s))
		}
		row = append(row, c.Total.Get(s))
		if !all && !slices.ContainsFunc(row, func(n int32) bool { return n != 0 }) {
			continue
		}
		fmt.Fprint(tw, s)
		for _, n := range row {
			if slices.Contains(notRequested, s) {
				fmt.Fprint(tw, "\t-")
			} else {
				fmt.Fprintf(tw, "\t%d", n)
			}
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

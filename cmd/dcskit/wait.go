package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/settle"
)

// pollTimeout bounds one poll of wait, retries included, so that one hung
// call cannot use up the whole --timeout.
const pollTimeout = time.Minute

func newWaitCmd(e *env) *cobra.Command {
	var (
		interval    time.Duration
		until       []string
		failOnError bool
		output      string
	)
	formats := []string{"table", "json"}
	cmd := &cobra.Command{
		Use:   "wait",
		Short: "Wait until no DCS instance is still changing",
		Long: `Poll the instance status API until no instance is in a transitional status
(creating, restarting, extending, restoring, flushing, upgrading, migrating,
paying, freezing), or until every --until condition holds.

A condition compares a counter with a number: running_count>=16,
creating_count==0, or one engine's counter: redis.error_count==0. A status
name serves as well as its counter: RUNNING>=16, running>=16.

` + failedCreationsRule + `

Progress goes to stderr: one line rewritten in place on a terminal, one
timestamped line per poll otherwise. The final counts go to stdout, as
'dcskit status' prints them (-o json: the API's own fields).

` + credentialsHelp + `

Exit status: 0 when settled, 1 on timeout (with the last counts), on
--fail-on-error, or when the API rejects the request; 2 for a mistake in
the command line or the configuration.`,
		Example: `  dcskit wait --project-id 0a1b2c3d4e5f
  dcskit wait --until 'running_count>=16' --until 'creating_count==0' --interval 30s --timeout 1h
  dcskit wait --fail-on-error -o json`,
		Args: noArgs,
	}
	conn := addConnFlags(cmd, 30*time.Minute)
	fs := cmd.Flags()
	fs.DurationVar(&interval, "interval", 10*time.Second, "time between polls")
	fs.StringArrayVar(&until, "until", nil, "condition that must hold, e.g. 'running_count>=16' (quote it; repeatable; all must hold)")
	fs.BoolVar(&failOnError, "fail-on-error", false, "exit 1 as soon as error_count or createfailed_count is above 0")
	addOutputFlag(cmd, &output, formats...)
	_ = cmd.RegisterFlagCompletionFunc("until", completeCondition)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := checkOutput(output, formats...); err != nil {
			return err
		}
		if interval <= 0 {
			return usageErrorf("--interval must be positive, got %s", interval)
		}
		conds := make([]settle.Condition, 0, len(until))
		for _, u := range until {
			c, err := settle.ParseCondition(u)
			if err != nil {
				return usageError{err}
			}
			conds = append(conds, c)
		}
		c, err := conn.newClient(cmd.Context(), e)
		if err != nil {
			return err
		}
		progress := &settle.Reporter{W: e.stderr, Live: isTerminal(e.stderr)}
		// However the wait ends, Ctrl-C included, the next line starts
		// on a line of its own.
		defer progress.Close()
		warned := false
		opts := settle.Options{
			Fetch: func(ctx context.Context) (dcs.Counts, error) {
				ctx, cancel := context.WithTimeout(ctx, pollTimeout)
				defer cancel()
				st, err := c.InstanceStatus(ctx, client.IncludeFailure())
				return st.Counts, err
			},
			Interval:    interval,
			Timeout:     conn.timeout,
			Until:       conds,
			FailOnError: failOnError,
			Fatal:       rejected,
			Progress: func(p settle.Poll) {
				progress.Report(p)
				if p.Err == nil && !warned && p.Counts.EngineSum().Total() == 0 {
					// A mistyped project id has no instances, and waiting
					// on it would settle at once.
					progress.Close()
					project, _ := c.ProjectID(cmd.Context()) // newClient found it
					fmt.Fprintf(e.stderr, "warning: project %s has no instances at %s; check --project-id and --region\n", project, c.Endpoint())
					warned = true
				}
			},
		}
		if e.clock != nil {
			opts.Sleep, opts.Now = e.clock.Sleep, e.clock.Now
		}
		counts, err := settle.Wait(cmd.Context(), opts)
		progress.Close()
		if stop, ok := errors.AsType[*settle.StopError](err); ok && stop.Last != nil {
			fmt.Fprintln(e.stderr, "last counts:")
			_ = writeTable(e.stderr, *stop.Last, false)
		}
		if err != nil {
			return err
		}
		if output == "json" {
			return writeCountsJSON(e.stdout, client.Status{Counts: counts}, nil)
		}
		return writeTable(e.stdout, counts, false)
	}
	return cmd
}

// rejected tells an answer that waiting will not change (bad credentials,
// a bad project id) from a failure worth another poll.
func rejected(err error) bool {
	apiErr, ok := errors.AsType[*client.APIError](err)
	if !ok {
		return false
	}
	s := apiErr.StatusCode
	return s >= 400 && s < 500 && s != http.StatusRequestTimeout && s != http.StatusTooManyRequests
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// completeCondition offers the counters, bare and per engine, for the
// start of an --until condition; the operator and number are the user's.
func completeCondition(_ *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, s := range dcs.Statuses() {
		out = append(out, s.Counter())
		for _, e := range dcs.Engines() {
			out = append(out, e.Key()+"."+s.Counter())
		}
	}
	return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
}

// Command dcskit queries the Huawei Cloud DCS instance status API, and
// serves a fake of it for tests.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/dcskit/dcskit/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(report(err, os.Stderr))
}

// env is what a command may use of the process it runs in.
type env struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer

	// Tests set these; nil is the real thing.
	clock         waitClock       // the time wait polls and times out by
	clientOptions []client.Option // added to every client a command builds
	drain         time.Duration   // how long serve and exporter drain; 0: httpserve.DrainTimeout
}

// run executes one dcskit command line. It never calls os.Exit, so tests
// run it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return (&env{getenv: getenv, stdout: stdout, stderr: stderr}).run(ctx, args)
}

// run executes one command line in e.
func (e *env) run(ctx context.Context, args []string) error {
	root := &cobra.Command{
		Use:   "dcskit",
		Short: "Query and fake the Huawei Cloud DCS instance status API",
		Long: `dcskit counts Huawei Cloud DCS (Redis and Memcached) cache instances by
status through the ListNumberOfInstancesInDifferentStatus API, and serves a
signature-checking fake of that API for tests.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// Without this, cobra reports an unknown command as a generic error
	// and exit status 1; it is a usage error.
	root.Args = cobra.ArbitraryArgs
	root.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usageErrorf("unknown command %q", args[0])
		}
		return cmd.Help()
	}
	root.SetArgs(args)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(commands(e)...)
	return root.ExecuteContext(ctx)
}

// usageError marks a mistake in the command line: exit status 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// report prints err for a person and returns the exit status: 0 for
// success, 2 for a usage error, 1 for anything else.
func report(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "dcskit: %v\n", err)
	var u usageError
	if errors.As(err, &u) {
		fmt.Fprintln(stderr, "Run 'dcskit --help' for usage.")
		return 2
	}
	return 1
}

// noArgs is cobra.NoArgs as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("%s takes no arguments, got %q", cmd.CommandPath(), args)
	}
	return nil
}

// Command dcskit queries the Huawei Cloud DCS instance status API, and
// serves a fake of it for tests.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/internal/clock"
)

func main() {
	// The first SIGINT or SIGTERM cancels the command, which stops as it
	// should (serve and exporter drain their requests); a second one ends
	// the process at once.
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		cancel(interrupted{(<-sigs).(syscall.Signal)})
		sig := (<-sigs).(syscall.Signal)
		fmt.Fprintln(os.Stderr, "\ndcskit: interrupted again, exiting now")
		os.Exit(128 + int(sig))
	}()
	os.Exit(report(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr), os.Stderr))
}

// interrupted is the cause of a command cancelled by a signal, whose exit
// status is the shell's for a process the signal ended: 128 plus its
// number, 130 for SIGINT, 143 for SIGTERM.
type interrupted struct{ sig syscall.Signal }

func (i interrupted) Error() string { return "interrupted (" + i.sig.String() + ")" }
func (interrupted) Unwrap() error   { return context.Canceled }

// env is what a command may use of the process it runs in.
type env struct {
	getenv         func(string) string
	stdout, stderr io.Writer

	// Tests set these; nil is the real thing.
	clock interface { // of wait's polls and timeout, and serve's scheduled changes
		clock.Clock
		Sleep(ctx context.Context, d time.Duration) error
	}
	clientOptions []client.Option                         // added to every client a command builds
	transport     http.RoundTripper                       // how proxy reaches its upstream
	drain         time.Duration                           // how long serve and exporter drain; 0: httpserve.DrainTimeout
	listenOn      func(addr string) (net.Listener, error) // for serve, exporter and proxy
}

func (e *env) listen(addr string) (net.Listener, error) {
	if e.listenOn != nil {
		return e.listenOn(addr)
	}
	return net.Listen("tcp", addr)
}

// run executes one dcskit command line. It never calls os.Exit: tests run
// it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return (&env{getenv: getenv, stdout: stdout, stderr: stderr}).run(ctx, args)
}

func (e *env) run(ctx context.Context, args []string) error {
	root := e.root()
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		// A command that a signal stopped says so, not what the
		// cancelled call said. One that stopped as it should after the
		// signal (serve draining, proxy summing up) keeps its own word.
		return context.Cause(ctx)
	}
	if _, ok := errors.AsType[usageError](err); ok && cmd != nil {
		return usageIn{err, cmd.CommandPath()}
	}
	return err
}

// root is the dcskit command, with every subcommand.
func (e *env) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "dcskit",
		Short: "Query and fake the Huawei Cloud DCS instance status API",
		Long: `dcskit counts Huawei Cloud DCS (Redis and Memcached) cache instances by
status through the ListNumberOfInstancesInDifferentStatus API, and serves a
signature-checking fake of that API for tests.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
		// Without Args, cobra calls an unknown command a plain error, exit
		// status 1; it is a usage error.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			err := fmt.Errorf("unknown command %q", args[0])
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				err = fmt.Errorf("%w; did you mean %s?", err, strings.Join(s, " or "))
			}
			return usageError{err}
		},
	}
	root.SetVersionTemplate("dcskit {{.Version}}\n")
	root.SuggestionsMinimumDistance = 2
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newStatusCmd(e), newDemoCmd(e), newServeCmd(e), newWaitCmd(e), newExporterCmd(e), newVerifyCmd(e), newProxyCmd(e))
	return root
}

// usageError marks a mistake in the command line: exit status 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// usageIn is a usage error and the command whose --help explains it.
type usageIn struct {
	err     error
	command string // such as "dcskit status"
}

func (u usageIn) Error() string { return u.err.Error() }
func (u usageIn) Unwrap() error { return u.err }

// version is the module's version from the build info: a tag for
// `go install ...@v1.2.3`, else "(devel)" and the VCS revision when the
// build recorded one.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := cmp.Or(info.Main.Version, "(devel)")
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v + " " + info.GoVersion
}

// report prints err for a person and returns the exit status: 0 for
// success, 2 for a usage error, 128+n for a command a signal stopped (130
// for Ctrl-C), 1 for anything else.
func report(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "dcskit: %v\n", err)
	if i, ok := errors.AsType[interrupted](err); ok {
		return 128 + int(i.sig)
	}
	if _, ok := errors.AsType[usageError](err); !ok {
		return 1
	}
	command := "dcskit"
	if u, ok := errors.AsType[usageIn](err); ok {
		command = u.command
	}
	fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", command)
	return 2
}

// noArgs is cobra.NoArgs as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("%s takes no arguments, got %q", cmd.CommandPath(), args)
	}
	return nil
}

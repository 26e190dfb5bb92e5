package main

import "github.com/spf13/cobra"

// commands lists dcskit's subcommands. Each lives in its own file.
func commands(e *env) []*cobra.Command {
	return []*cobra.Command{
		newStatusCmd(e),
		newDemoCmd(e),
		newServeCmd(e),
		newWaitCmd(e),
		newExporterCmd(e),
		newVerifyCmd(e),
		newProxyCmd(e),
	}
}

package main

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/server"
)

// demoProject is the project of the API page's response example, whose 8
// running and 22 create-failed instances per engine the demo serves.
const demoProject = "0605767e2c00d5552f8fc01a6f4d3b3a"

func newDemoCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Query an embedded fake through the real client: no configuration, no network",
		Long: `Start the fake DCS API on a loopback port with throwaway AK/SK, seed it
with the API page's example (8 running and 22 create-failed instances per
engine), ask it through the signing, retrying client with include_failure,
and print the table that 'dcskit status' would print.`,
		Example: "  go run ./cmd/dcskit demo",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ak, sk := rand.Text(), rand.Text()
			srv, err := server.New(server.Options{AccessKey: ak, SecretKey: sk})
			if err != nil {
				return err
			}
			if err := srv.Start("127.0.0.1:0"); err != nil {
				return err
			}
			defer srv.Shutdown(context.WithoutCancel(cmd.Context())) // its one client is done by then
			var insts []server.Instance
			for _, eng := range dcs.Engines() {
				for st, n := range map[dcs.Status]int{dcs.Running: 8, dcs.CreateFailed: 22} {
					for range n {
						insts = append(insts, server.Instance{ProjectID: demoProject, Engine: eng, Status: st})
					}
				}
			}
			if _, err := srv.Add(insts...); err != nil {
				return err
			}
			c, err := client.New(client.WithEndpoint(srv.URL()), client.WithProjectID(demoProject), client.WithCredentials(ak, sk))
			if err != nil {
				return err
			}
			st, err := c.InstanceStatus(cmd.Context(), client.IncludeFailure())
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Asked a fake DCS API on %s, seeded with %d instances and signed with throwaway AK/SK,\n"+
				"for the counts of project %s with include_failure=true:\n\n", srv.URL(), len(insts), demoProject)
			return writeTable(e.stdout, st.Counts, false)
		},
	}
}

package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newServeCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:  "serve",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return errors.New("serve: not built yet") },
	}
}

package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newStatusCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:  "status",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return errors.New("status: not built yet") },
	}
}

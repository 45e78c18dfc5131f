package main

import (
	"github.com/podbox/podbox/sandbox"
	"github.com/urfave/cli/v2"
)

func describeCommand() *cli.Command {
	return &cli.Command{
		Name:      "describe",
		Usage:     "show a pod's containers, states, exit codes and events, as kubectl describe",
		ArgsUsage: "[pod] NAME",
		Action: func(c *cli.Context) error {
			name, err := podArg(c, "describe", true)
			if err != nil {
				return err
			}
			return sandbox.Describe(c.Context, sandbox.DescribeOptions{Name: name, Out: c.App.Writer})
		},
	}
}

package main

import (
	"github.com/podbox/podbox/sandbox"
	"github.com/urfave/cli/v2"
)

func psCommand() *cli.Command {
	return &cli.Command{
		Name:  "ps",
		Usage: "list pods (NAME STATUS READY RESTARTS AGE); -a lists their containers",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "list every container with its state and exit code"},
			&cli.StringFlag{Name: "format", Usage: "json: a v1 List of the Pods with their status"},
		},
		Action: func(c *cli.Context) error {
			return sandbox.List(c.Context, sandbox.ListOptions{
				Containers: c.Bool("all"),
				Format:     c.String("format"),
				Store:      storeOptions(c),
				Out:        c.App.Writer,
			})
		},
	}
}

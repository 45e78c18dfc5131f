package main

import (
	"errors"
	"os/signal"

	"github.com/podbox/podbox/sandbox"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

func logsCommand() *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "print a pod's container logs",
		ArgsUsage: "POD",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "container", Aliases: []string{"c"}, Usage: "only this container"},
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing until the container or pod is done"},
			&cli.BoolFlag{Name: "timestamps", Usage: "print each line's time"},
			&cli.IntFlag{Name: "tail", Value: -1, Usage: "only the last `N` lines of each container"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return errors.New("logs: name one pod")
			}
			ctx, stop := signal.NotifyContext(c.Context, unix.SIGINT, unix.SIGTERM)
			defer stop()
			return sandbox.Logs(ctx, sandbox.LogsOptions{
				Pod:        c.Args().First(),
				Container:  c.String("container"),
				Follow:     c.Bool("follow"),
				Timestamps: c.Bool("timestamps"),
				Tail:       c.Int("tail"),
				Out:        c.App.Writer,
			})
		},
	}
}

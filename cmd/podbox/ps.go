package main

import (
	"context"
	"errors"
	"os/signal"

	"github.com/podbox/podbox/sandbox"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

func psCommand() *cli.Command {
	return &cli.Command{
		Name:  "ps",
		Usage: "list pods (NAME STATUS READY RESTARTS AGE); -a lists their containers; -w follows changes",
		Description: "-o wide adds kubectl's IP, NODE, NOMINATED NODE and READINESS GATES; -o json and yaml print a v1 List\n" +
			"of the Pods with their status, -o name prints pod/NAME.\n" +
			"--watch (-w) prints the list, then a line for each pod whose row changes (the AGE column aside)\n" +
			"or that goes away, without repeating the header, as kubectl get -w; it looks every second, until Ctrl-C.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "list every container with its state and exit code"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "wide, json, yaml or name"},
			&cli.StringFlag{Name: "format", Usage: "json: same as -o json"},
			watchFlag(),
		},
		Action: func(c *cli.Context) error {
			format := c.String("output")
			if c.IsSet("format") {
				if c.IsSet("output") {
					return errors.New("ps: give -o or --format, not both")
				}
				format = c.String("format")
			}
			ctx, stop := watchContext(c)
			defer stop()
			return sandbox.List(ctx, sandbox.ListOptions{
				Containers: c.Bool("all"),
				Format:     format,
				Watch:      c.Bool("watch"),
				Store:      storeOptions(c),
				Out:        c.App.Writer,
			})
		},
	}
}

// watchFlag is --watch (-w), of ps and get.
func watchFlag() cli.Flag {
	return &cli.BoolFlag{Name: "watch", Aliases: []string{"w"}, Usage: "after the list, print a line per change until Ctrl-C"}
}

// watchContext ends on Ctrl-C or SIGTERM, which end a watch with exit 0.
func watchContext(c *cli.Context) (ctx context.Context, stop func()) {
	return signal.NotifyContext(c.Context, unix.SIGINT, unix.SIGTERM)
}

package main

import (
	"errors"

	"github.com/podbox/podbox/sandbox"
	"github.com/urfave/cli/v2"
)

func upCommand() *cli.Command {
	return &cli.Command{
		Name:  "up",
		Usage: "run the pods of a manifest; in the foreground, stream their output until they finish or Ctrl-C",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "the pod manifest `FILE` (YAML, one or more Pods; - for standard input)"},
			&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the containers have started, printing the pod names"},
			stallTimeoutFlag(),
			&cli.StringFlag{Name: "port-driver", Usage: "forward hostPorts with `DRIVER` builtin (fast) or slirp4netns (keeps the client's address), for every pod; default: the pod's podbox.io/port-driver annotation, else builtin"},
		},
		Action: func(c *cli.Context) error {
			if c.String("file") == "" {
				return errors.New("up: name the manifest with -f FILE")
			}
			return inUserNS(func() error {
				code, err := sandbox.Up(c.Context, sandbox.UpOptions{
					ManifestPath: c.String("file"),
					Detach:       c.Bool("detach"),
					Runtime:      c.String("runtime"),
					Store:        storeOptions(c),
					LogLevel:     c.String("log-level"),
					PortDriver:   c.String("port-driver"),
					StallTimeout: stallTimeout(c),
					Out:          c.App.Writer,
					Err:          c.App.ErrWriter,
				})
				if err != nil && code == exitInterrupted {
					// Ctrl-C while pulling: say it, and exit 130 as documented.
					return cli.Exit("up: "+err.Error(), code)
				}
				if err != nil {
					return err
				}
				if code != 0 {
					return exitCodeError{code}
				}
				return nil
			})
		},
	}
}

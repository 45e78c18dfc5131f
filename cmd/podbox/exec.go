package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/podbox/podbox/sandbox"
	"github.com/urfave/cli/v2"
)

func execCommand() *cli.Command {
	return &cli.Command{
		Name:      "exec",
		Usage:     "run a command in a running container of a pod; exits with the command's code",
		ArgsUsage: "POD -- COMMAND [ARG…]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "container", Aliases: []string{"c"}, Usage: "the container (default: the pod's first)"},
			&cli.BoolFlag{Name: "stdin", Aliases: []string{"i"}, Usage: "pass stdin to the command"},
			&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "give the command a terminal"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() < 2 {
				return errors.New("exec: name a pod and a command: podbox exec POD -- COMMAND")
			}
			code, err := sandbox.Exec(c.Context, sandbox.ExecOptions{
				Pod:       c.Args().First(),
				Container: c.String("container"),
				Command:   c.Args().Slice()[1:],
				Stdin:     c.Bool("stdin"),
				TTY:       c.Bool("tty"),
				In:        os.Stdin,
				Out:       os.Stdout,
				Err:       os.Stderr,
			})
			if err != nil {
				if code != 0 {
					// The runtime could not run the command: say why, exit
					// 126 or 127 as Podman does.
					fmt.Fprintf(c.App.ErrWriter, "podbox: %s\n", err)
					return exitCodeError{code}
				}
				return err
			}
			if code != 0 {
				return exitCodeError{code}
			}
			return nil
		},
	}
}

package main

import (
	"errors"
	"fmt"
	"os/signal"

	"github.com/podbox/podbox/sandbox"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

func portForwardCommand() *cli.Command {
	return &cli.Command{
		Name:  "port-forward",
		Usage: "forward local ports to a pod's ports (any port, hostPort or not), until Ctrl-C or the pod ends",
		Description: "Listens on localhost (127.0.0.1 and ::1) and forwards each connection to the pod's own\n" +
			"localhost:REMOTE, as kubectl port-forward. LOCAL 0 or empty (:80) takes a free port;\n" +
			"REMOTE may be a containerPort's name. Ends with Ctrl-C (exit 0) or when the pod goes (exit 1).",
		ArgsUsage: "[pod/]POD [LOCAL:]REMOTE [...]",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "address", Usage: "addresses to listen on, comma separated: IPs or localhost (default: localhost)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() < 2 {
				return errors.New("port-forward: name a pod and a port: podbox port-forward POD [LOCAL:]REMOTE")
			}
			pod, err := podSlashName("port-forward", c.Args().First())
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context, unix.SIGINT, unix.SIGTERM)
			defer stop()
			err = sandbox.PortForward(ctx, sandbox.PortForwardOptions{
				Pod:       pod,
				Ports:     c.Args().Slice()[1:],
				Addresses: c.StringSlice("address"),
				Out:       c.App.Writer,
				Err:       c.App.ErrWriter,
			})
			if errors.Is(err, sandbox.ErrLostPod) {
				// kubectl's exit code when its pod goes away.
				fmt.Fprintf(c.App.ErrWriter, "podbox: %s\n", err)
				return exitCodeError{1}
			}
			return err
		},
	}
}

package main

import (
	"errors"
	"fmt"

	"github.com/podbox/podbox/sandbox"
	"github.com/urfave/cli/v2"
)

func upCommand() *cli.Command {
	return &cli.Command{
		Name:  "up",
		Usage: "run the pods of a manifest; in the foreground, stream their output until they finish or Ctrl-C",
		Description: `up applies the files, as kubectl apply does: a pod that does not run is created; one that
runs with the same spec (after defaults, with the ConfigMaps and Secrets it names) is left alone
("web: unchanged", no pull); one whose spec changed is stopped (its grace period) and started
again ("web: recreated (containers[0].image changed)"); a finished pod kept for inspection is
created anew. Pods an earlier up of the same files made that the files no longer have are listed
("old: not in the files any more"), and removed with --prune.
In the foreground, up follows the pods it started and those that ran already, and Ctrl-C stops
them all. --watch stays in the foreground and applies the files again whenever one changes; a
file that does not load is reported and the pods run on; Ctrl-C stops the pods. The annotation
podbox.io/restart-on-change: "web" (comma-separated container names) restarts those containers
at once when a file under their hostPath mounts changes, with or without --watch.
Exit codes: 0 the pods succeeded (foreground) or were applied (-d); 1 a pod failed, or --wait
found it not ready; 125 podbox failed (nothing started, or what started was stopped);
128+N a signal N (130: Ctrl-C) stopped it.`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "file", Aliases: []string{"f"}, Usage: "the manifest `FILE`: YAML of Pods, workloads (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job), Services, PersistentVolumeClaims, ConfigMaps and Secrets; a directory for its .yaml, .yml and .json files; - for standard input; repeat it (or a,b) for several, as kubectl"},
			&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once every container has been started (or failed to) once, printing the pod names; podbox ps shows how they do; a Job goes on in a controller process until it ends (podbox down -f FILE removes it)"},
			&cli.BoolFlag{Name: "wait", Usage: "with -d: then wait until every container is ready (or the pod succeeded); exit 1 naming what is not, after --timeout"},
			&cli.DurationFlag{Name: "timeout", Usage: "how long --wait waits (e.g. 90s, 2m)", Value: sandbox.DefaultWaitTimeout},
			stallTimeoutFlag(),
			&cli.BoolFlag{Name: "strict", Usage: "refuse a manifest with a field podbox ignores (an error naming its file and line instead of a warning); podbox explain says what podbox does with each field"},
			&cli.BoolFlag{Name: "prune", Usage: "remove the pods an earlier up of the same files made that the files no longer have (without it, up lists them)"},
			&cli.BoolFlag{Name: "watch", Usage: "stay in the foreground and apply the files again whenever one of them changes; Ctrl-C stops the pods"},
			&cli.StringFlag{Name: "port-driver", Usage: "forward hostPorts with `DRIVER` builtin (fast), bypass (TCP clients reach the server itself; seccomp) or slirp4netns (keeps the client's address), for every pod; default: the pod's podbox.io/port-driver annotation, else builtin"},
		},
		Action: func(c *cli.Context) error {
			if len(c.StringSlice("file")) == 0 {
				return errors.New("up: name the manifest with -f FILE")
			}
			if c.Bool("wait") && !c.Bool("detach") {
				return errors.New("up: --wait goes with -d (in the foreground, up runs until the pods finish)")
			}
			if c.Bool("watch") && c.Bool("detach") {
				return errors.New("up: --watch runs in the foreground: drop -d")
			}
			if c.IsSet("timeout") && !c.Bool("wait") {
				return errors.New("up: --timeout goes with --wait")
			}
			if c.Duration("timeout") <= 0 {
				return errors.New("up: --timeout must be positive, e.g. 30s")
			}
			return inUserNS(func() error {
				code, err := sandbox.Up(c.Context, sandbox.UpOptions{
					ManifestPaths: c.StringSlice("file"),
					Detach:        c.Bool("detach"),
					Strict:        c.Bool("strict"),
					Wait:          c.Bool("wait"),
					WaitTimeout:   c.Duration("timeout"),
					Runtime:       c.String("runtime"),
					Store:         storeOptions(c),
					LogLevel:      c.String("log-level"),
					PortDriver:    c.String("port-driver"),
					Prune:         c.Bool("prune"),
					Watch:         c.Bool("watch"),
					StallTimeout:  stallTimeout(c),
					Out:           c.App.Writer,
					Err:           c.App.ErrWriter,
				})
				if err != nil && code == exitInterrupted {
					// Ctrl-C while pulling: say it, and exit 130 as documented.
					return cli.Exit("up: "+err.Error(), code)
				}
				var nr *sandbox.NotReadyError
				if errors.As(err, &nr) {
					// Not podbox failing: the pod is not ready, as
					// `kubectl wait` exits 1.
					fmt.Fprintf(c.App.ErrWriter, "podbox: %s\n", nr)
					return exitCodeError{1}
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

package main

import (
	"errors"
	"time"

	"github.com/podbox/podbox/sandbox"
	"github.com/urfave/cli/v2"
)

func downCommand() *cli.Command {
	return &cli.Command{
		Name:      "down",
		Usage:     "stop pods and remove them, leaving nothing behind (a NAME may be a Job of up -d: its controller and pods)",
		ArgsUsage: "NAME… | -f FILE | --all",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "file", Aliases: []string{"f"}, Usage: "the pods of the manifest `FILE` (a directory: its .yaml, .yml and .json files; - for standard input); repeat it for several"},
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "every pod"},
			&cli.IntFlag{Name: "grace-period", Value: -1, Usage: "`SECONDS` the containers get between SIGTERM and SIGKILL, instead of the pod's terminationGracePeriodSeconds; 0 kills at once; -1: the pod's (as kubectl delete)"},
			&cli.BoolFlag{Name: "now", Usage: "stop at once: the same as --grace-period 1 (as kubectl delete)"},
			&cli.BoolFlag{Name: "volumes", Usage: "remove the PersistentVolumeClaims too: those the pods mount, those of the files with -f, every one with --all (never one a remaining pod mounts); without it they stay for the next up"},
			&cli.DurationFlag{Name: "timeout", Usage: "how long to wait for a pod to stop (e.g. 20s) before killing its process outright; 0: its grace period plus 15s"},
		},
		Action: func(c *cli.Context) error {
			o := sandbox.DownOptions{
				Names:         c.Args().Slice(),
				ManifestPaths: c.StringSlice("file"),
				All:           c.Bool("all"),
				Volumes:       c.Bool("volumes"),
				Store:         storeOptions(c),
				Out:           c.App.Writer,
				Timeout:       c.Duration("timeout"),
			}
			if len(o.Names) == 0 && len(o.ManifestPaths) == 0 && !o.All {
				return errors.New("down: name the pods, or use -f FILE or --all")
			}
			if c.Bool("now") && c.IsSet("grace-period") {
				return errors.New("down: --now and --grace-period cannot be used together")
			}
			if g := c.Int("grace-period"); g >= 0 {
				o.GracePeriod = ptrTo(time.Duration(g) * time.Second)
			}
			if c.Bool("now") {
				o.GracePeriod = ptrTo(time.Second)
			}
			if o.Timeout < 0 {
				return errors.New("down: --timeout must not be negative")
			}
			return inUserNS(func() error { return sandbox.Down(c.Context, o) })
		},
	}
}

func ptrTo[T any](v T) *T { return &v }

package main

import (
	"errors"
	"fmt"
	"os/signal"
	"time"

	"github.com/podbox/podbox/sandbox"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

const logsDescription = `Prints the containers' logs from the CRI log files the pod writes in its data
directory, while the pod runs and after it finished (until it is taken down).

Without -c, every container's log is printed, init containers first, lines in
time order across containers, each prefixed with [pod/POD/CTR] (coloured on a
terminal, as a foreground 'up') when the pod has several. kubectl instead
picks the pod's default container (or errors) and needs --all-containers and
--prefix for that; both are accepted here.

The log of each container is its current run's; --previous (-p) prints the
run before it, the last terminated instance of a restarted container, which
podbox keeps as the kubelet does (only that one: older runs are removed);
without -c, of the containers that have one.
-f follows a container across its restarts, until it will run no more or the
pod finished. --since takes a duration (5s, 2m, 3h) or, as --since-time, an
RFC3339 time. --tail is applied first, then --since, as the kubelet does.
--limit-bytes counts each container's output, timestamps included, the
prefix not.`

func logsCommand() *cli.Command {
	return &cli.Command{
		Name:        "logs",
		Usage:       "print a pod's container logs",
		ArgsUsage:   "[pod/]POD [CONTAINER]",
		Description: logsDescription,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "container", Aliases: []string{"c"}, Usage: "only this container"},
			&cli.BoolFlag{Name: "all-containers", Usage: "every container (the default without -c)"},
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing, across restarts, until the container or pod is done"},
			&cli.BoolFlag{Name: "previous", Aliases: []string{"p"}, Usage: "the previous run's log: the last terminated instance"},
			&cli.BoolFlag{Name: "timestamps", Usage: "print each line's time (RFC3339Nano)"},
			&cli.IntFlag{Name: "tail", Value: -1, Usage: "only the last `N` lines of each container; -1: all"},
			&cli.StringFlag{Name: "since", Usage: "only lines newer than a relative `DURATION` like 5s, 2m or 3h (or an RFC3339 time)"},
			&cli.StringFlag{Name: "since-time", Usage: "only lines at or after an RFC3339 `TIME`"},
			&cli.Int64Flag{Name: "limit-bytes", Usage: "at most `N` bytes of each container's log; 0: no limit"},
			&cli.BoolFlag{Name: "prefix", Usage: "prefix each line with [pod/POD/CTR]", DefaultText: "when several containers"},
		},
		Action: func(c *cli.Context) error {
			o, err := logsOptions(c, time.Now())
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context, unix.SIGINT, unix.SIGTERM)
			defer stop()
			return sandbox.Logs(ctx, o)
		},
	}
}

// logsOptions checks the flags as kubectl does, with its messages.
func logsOptions(c *cli.Context, now time.Time) (sandbox.LogsOptions, error) {
	o := sandbox.LogsOptions{
		Container:  c.String("container"),
		Follow:     c.Bool("follow"),
		Previous:   c.Bool("previous"),
		Timestamps: c.Bool("timestamps"),
		Tail:       c.Int("tail"),
		LimitBytes: c.Int64("limit-bytes"),
		Out:        c.App.Writer,
	}
	switch c.NArg() {
	case 1:
	case 2:
		if c.IsSet("container") {
			return o, errors.New("only one of -c or an inline [CONTAINER] arg is allowed")
		}
		o.Container = c.Args().Get(1)
	default:
		return o, errors.New("logs: name one pod (and at most one container)")
	}
	pod, err := podSlashName("logs", c.Args().First())
	if err != nil {
		return o, err
	}
	o.Pod = pod
	if c.Bool("all-containers") && o.Container != "" {
		return o, fmt.Errorf("--all-containers=true should not be specified with container name %s", o.Container)
	}
	if c.IsSet("prefix") {
		p := c.Bool("prefix")
		o.Prefix = &p
	}
	if o.Tail < -1 {
		return o, errors.New("--tail must be greater than or equal to -1")
	}
	if o.LimitBytes < 0 {
		return o, errors.New("--limit-bytes must be greater than 0")
	}
	since, sinceTime := c.String("since"), c.String("since-time")
	if since != "" && sinceTime != "" {
		return o, errors.New("at most one of `sinceTime` or `sinceSeconds` may be specified")
	}
	if since != "" {
		d, err := time.ParseDuration(since)
		if err != nil {
			// The issue's `--since 5m|TIME`: a time is taken too.
			t, terr := time.Parse(time.RFC3339Nano, since)
			if terr != nil {
				return o, fmt.Errorf("--since %q: want a duration like 5s, 2m or 3h, or an RFC3339 time", since)
			}
			o.Since = t
		} else if d < 0 {
			return o, errors.New("--since must be greater than 0")
		} else if d > 0 {
			o.Since = now.Add(-d)
		}
	}
	if sinceTime != "" {
		t, err := time.Parse(time.RFC3339Nano, sinceTime)
		if err != nil {
			return o, fmt.Errorf("--since-time %q: want an RFC3339 time like 2006-01-02T15:04:05Z", sinceTime)
		}
		o.Since = t
	}
	return o, nil
}

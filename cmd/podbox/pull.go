package main

import (
	"errors"
	"fmt"
	"os/signal"
	"time"

	"github.com/podbox/podbox/image"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

func pullCommand() *cli.Command {
	return &cli.Command{
		Name:      "pull",
		Usage:     "pull images into podbox's store",
		ArgsUsage: "IMAGE… (NAME[:TAG|@DIGEST], docker://, oci:, oci-archive:, docker-archive:, dir:)",
		Description: "An image already stored under the name is first checked against the registry's digest for the tag:\n" +
			"unchanged, pull says NAME: up to date and copies nothing. A registry that cannot be reached is an error\n" +
			"here; `up` uses the stored image then, with a warning.",
		Flags:  pullFlags(),
		Action: pullAction,
	}
}

func pullFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the image IDs"},
		&cli.BoolFlag{Name: "tls-verify", Value: true, Usage: "require HTTPS and verify certificates (default: true, except for registries on loopback)"},
		stallTimeoutFlag(),
	}
}

// stallTimeoutFlag is --stall-timeout, of pull and up.
func stallTimeoutFlag() cli.Flag {
	return &cli.DurationFlag{Name: "stall-timeout", Value: image.DefaultStallTimeout, EnvVars: []string{"PODBOX_PULL_STALL_TIMEOUT"},
		Usage: "give up on a registry that sends nothing for `DURATION` while pulling (0: wait forever)"}
}

// stallTimeout is --stall-timeout as image.PullOptions wants it.
func stallTimeout(c *cli.Context) time.Duration {
	if d := c.Duration("stall-timeout"); d > 0 {
		return d
	}
	return -1
}

func pullAction(c *cli.Context) error {
	if c.NArg() == 0 {
		return errors.New("pull: name at least one image")
	}
	o := image.PullOptions{Out: c.App.ErrWriter, Quiet: c.Bool("quiet"), StallTimeout: stallTimeout(c)}
	if c.IsSet("tls-verify") {
		v := c.Bool("tls-verify")
		o.TLSVerify = &v
	}
	return withStore(c, func(s *image.Store) error {
		// Ctrl-C cancels the copy; storage drops what was half written.
		ctx, stop := signal.NotifyContext(c.Context, unix.SIGINT, unix.SIGTERM)
		defer stop()
		for _, ref := range c.Args().Slice() {
			img, err := s.Pull(ctx, ref, o)
			if ctx.Err() != nil {
				fmt.Fprintf(c.App.ErrWriter, "podbox: pull of %s interrupted; the store is unchanged\n", ref)
				return exitCodeError{exitInterrupted}
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(c.App.Writer, img.ID)
		}
		return nil
	})
}

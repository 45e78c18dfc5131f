package main

import (
	"errors"

	"github.com/podbox/podbox/sandbox"
	"github.com/urfave/cli/v2"
)

func cpCommand() *cli.Command {
	return &cli.Command{
		Name:  "cp",
		Usage: "copy files and directories into or out of a running container (no tar needed in the image)",
		Description: "One of SRC and DEST is POD:PATH; PATH resolves inside the container's root (its symbolic\n" +
			"links never lead out of it) and is relative to its working directory unless absolute.\n" +
			"Copied in, files belong to the container's root and keep their permission bits; copied out,\n" +
			"they are yours. Symbolic links are kept copying in and skipped copying out, as kubectl cp.",
		ArgsUsage: "SRC DEST",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "container", Aliases: []string{"c"}, Usage: "the container (default: the pod's first)"},
			&cli.BoolFlag{Name: "no-preserve", Usage: "copying in, mask the permission bits with 022"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return errors.New("cp: name a source and a destination: podbox cp POD:PATH LOCAL or podbox cp LOCAL POD:PATH")
			}
			return sandbox.Copy(c.Context, sandbox.CopyOptions{
				Src:        c.Args().Get(0),
				Dst:        c.Args().Get(1),
				Container:  c.String("container"),
				NoPreserve: c.Bool("no-preserve"),
				Warn:       c.App.ErrWriter,
			})
		},
	}
}

package main

import (
	"errors"

	"github.com/podbox/podbox/sandbox"
	"github.com/urfave/cli/v2"
)

func downCommand() *cli.Command {
	return &cli.Command{
		Name:      "down",
		Usage:     "stop pods and remove them, leaving nothing behind",
		ArgsUsage: "NAME… | -f FILE | --all",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "the pods of the manifest `FILE` (- for standard input)"},
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "every pod"},
		},
		Action: func(c *cli.Context) error {
			o := sandbox.DownOptions{
				Names:        c.Args().Slice(),
				ManifestPath: c.String("file"),
				All:          c.Bool("all"),
				Store:        storeOptions(c),
				Out:          c.App.Writer,
			}
			if len(o.Names) == 0 && o.ManifestPath == "" && !o.All {
				return errors.New("down: name the pods, or use -f FILE or --all")
			}
			return inUserNS(func() error { return sandbox.Down(c.Context, o) })
		},
	}
}

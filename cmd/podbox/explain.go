package main

import (
	"errors"

	"github.com/podbox/podbox/sandbox/manifest"
	"github.com/urfave/cli/v2"
)

func explainCommand() *cli.Command {
	return &cli.Command{
		Name:      "explain",
		Usage:     "say what podbox does with a Pod field (honoured, accepted without effect, refused, or ignored with a warning), as kubectl explain lays it out",
		ArgsUsage: "[FIELD]  (e.g. spec.containers.livenessProbe; none: the Pod's top-level fields)",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "table", Usage: "print every Pod field as a markdown table instead (sandbox/manifest/FIELDS.md)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return errors.New("explain: one FIELD at a time")
			}
			if c.Bool("table") {
				if c.NArg() > 0 {
					return errors.New("explain: --table lists every field: give no FIELD")
				}
				manifest.FieldsTable(c.App.Writer)
				return nil
			}
			return manifest.Explain(c.App.Writer, c.Args().First())
		},
	}
}

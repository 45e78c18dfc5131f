package main

import (
	"fmt"
	"strings"

	"github.com/podbox/podbox/sandbox"
	"github.com/urfave/cli/v2"
)

func getCommand() *cli.Command {
	return &cli.Command{
		Name:      "get",
		Usage:     "print pods as kubectl get does: a table, or v1.Pods in YAML or JSON",
		ArgsUsage: "pod|pods [NAME]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "yaml, json, wide or name"},
		},
		Action: func(c *cli.Context) error {
			name, err := podArg(c, "get", false)
			if err != nil {
				return err
			}
			return sandbox.Get(c.Context, sandbox.GetOptions{
				Name:   name,
				Output: c.String("output"),
				Out:    c.App.Writer,
				Err:    c.App.ErrWriter,
			})
		},
	}
}

// podArg reads `pod NAME`, `pods NAME`, `po NAME` or `pod/NAME`; the name
// is optional unless required.
func podArg(c *cli.Context, cmd string, required bool) (string, error) {
	args := c.Args().Slice()
	usage := fmt.Errorf("%s: usage: podbox %s pod NAME", cmd, cmd)
	if len(args) == 0 {
		return "", usage
	}
	kind, name, _ := strings.Cut(args[0], "/")
	switch kind {
	case "pod", "pods", "po":
	default:
		return "", fmt.Errorf("%s: %q: podbox knows only pods", cmd, kind)
	}
	if name == "" && len(args) > 1 {
		name, args = args[1], args[1:]
	}
	if len(args) > 1 {
		return "", usage
	}
	if required && name == "" {
		return "", usage
	}
	return name, nil
}

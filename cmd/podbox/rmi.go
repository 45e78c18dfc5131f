package main

import (
	"errors"
	"fmt"

	"github.com/podbox/podbox/image"
	"github.com/urfave/cli/v2"
)

func rmiCommand() *cli.Command {
	return &cli.Command{
		Name:      "rmi",
		Usage:     "remove images from podbox's store",
		ArgsUsage: "IMAGE…",
		Flags:     rmiFlags(),
		Action:    rmiAction,
	}
}

func rmiFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "also remove the containers that use the image"},
	}
}

func rmiAction(c *cli.Context) error {
	if c.NArg() == 0 {
		return errors.New("rmi: name at least one image")
	}
	return withStore(c, func(s *image.Store) error {
		var errs []error
		for _, ref := range c.Args().Slice() {
			rep, err := s.Remove(ref, c.Bool("force"))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			for _, n := range rep.Untagged {
				fmt.Fprintf(c.App.Writer, "Untagged: %s\n", n)
			}
			if rep.Deleted != "" {
				fmt.Fprintf(c.App.Writer, "Deleted: %s\n", rep.Deleted)
			}
		}
		return errors.Join(errs...)
	})
}

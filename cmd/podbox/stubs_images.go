package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// Placeholders until the images issue lands; replaced by pull.go, images.go …
var errNotYet = errors.New("not implemented yet")

func pullCommand() *cli.Command   { return &cli.Command{Name: "pull", Action: notYet} }
func imagesCommand() *cli.Command { return &cli.Command{Name: "images", Action: notYet} }
func rmiCommand() *cli.Command    { return &cli.Command{Name: "rmi", Action: notYet} }
func imageCommand() *cli.Command  { return &cli.Command{Name: "image", Action: notYet} }
func systemCommand() *cli.Command { return &cli.Command{Name: "system", Action: notYet} }

func notYet(*cli.Context) error { return errNotYet }

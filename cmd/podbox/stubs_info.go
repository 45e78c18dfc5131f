package main

import "github.com/urfave/cli/v2"

func infoCommand() *cli.Command { return &cli.Command{Name: "info", Action: notYet} }

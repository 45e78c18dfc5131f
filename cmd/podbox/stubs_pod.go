package main

import "github.com/urfave/cli/v2"

// Placeholders until the pod issue lands; replaced by up.go, down.go …
func upCommand() *cli.Command   { return &cli.Command{Name: "up", Action: notYet} }
func downCommand() *cli.Command { return &cli.Command{Name: "down", Action: notYet} }
func psCommand() *cli.Command   { return &cli.Command{Name: "ps", Action: notYet} }
func logsCommand() *cli.Command {
	return &cli.Command{Name: "logs", Action: notYet, Flags: []cli.Flag{
		&cli.StringFlag{Name: "container", Aliases: []string{"c"}},
		&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}},
	}}
}

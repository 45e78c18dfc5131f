package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// usageError is a command line podbox cannot parse. It is said in one line
// on stderr with the hint to --help, exit 125, as kubectl and podman do,
// instead of urfave/cli's whole usage on stdout (its default for a bad flag)
// or "No help topic" and exit 3 (its default for an unknown command).
type usageError struct {
	cmd string // "podbox up"
	err error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }
func (e *usageError) Hint() string  { return fmt.Sprintf("see '%s --help'", e.cmd) }

// onUsageError is the OnUsageError of the app and of every command.
func onUsageError(c *cli.Context, err error, _ bool) error {
	return &usageError{cmd: helpName(c), err: err}
}

// unknownCommand is the Action of the app and of every command that only
// groups subcommands: without arguments it shows the help, as before.
func unknownCommand(c *cli.Context) error {
	if !c.Args().Present() {
		if c.Command != nil && c.Command.Name != "" {
			return cli.ShowSubcommandHelp(c)
		}
		return cli.ShowAppHelp(c)
	}
	return &usageError{cmd: helpName(c), err: fmt.Errorf("unknown command %q for %q", c.Args().First(), helpName(c))}
}

func helpName(c *cli.Context) string {
	if c.Command != nil && c.Command.HelpName != "" {
		return c.Command.HelpName
	}
	return c.App.Name
}

// setUsageHandlers gives cmds and their subcommands onUsageError, and
// unknownCommand to those that only group subcommands.
func setUsageHandlers(cmds []*cli.Command) {
	for _, cmd := range cmds {
		if cmd.OnUsageError == nil {
			cmd.OnUsageError = onUsageError
		}
		if len(cmd.Subcommands) > 0 {
			if cmd.Action == nil {
				cmd.Action = unknownCommand
			}
			setUsageHandlers(cmd.Subcommands)
		}
	}
}

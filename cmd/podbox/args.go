package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// reorderArgs moves each command's flags in front of its positional
// arguments, so that `podbox logs web -c server -f` parses like
// `podbox logs -c server -f -- web`. Everything after a literal `--` stays
// positional, untouched (`podbox exec web -- ls -l`).
func reorderArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := []string{args[0]}
	rest := args[1:]
	flags := app.Flags
	cmds := app.Commands
	for {
		// Global or command flags up to the next command name.
		var name string
		for len(rest) > 0 {
			a := rest[0]
			if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
				break
			}
			out = append(out, a)
			rest = rest[1:]
			if takesValue(flags, a) && len(rest) > 0 {
				out = append(out, rest[0])
				rest = rest[1:]
			}
		}
		if len(rest) == 0 || rest[0] == "--" {
			return append(out, rest...)
		}
		name = rest[0]
		cmd := findCommand(cmds, name)
		if cmd == nil {
			return append(out, rest...)
		}
		out = append(out, name)
		rest = rest[1:]
		if len(cmd.Subcommands) > 0 {
			flags, cmds = cmd.Flags, cmd.Subcommands
			continue
		}
		if cmd.SkipFlagParsing {
			return append(out, rest...)
		}
		var pos []string
		for len(rest) > 0 {
			a := rest[0]
			rest = rest[1:]
			switch {
			case a == "--":
				pos = append(pos, rest...)
				rest = nil
			case strings.HasPrefix(a, "-") && a != "-":
				out = append(out, a)
				if takesValue(cmd.Flags, a) && len(rest) > 0 {
					out = append(out, rest[0])
					rest = rest[1:]
				}
			default:
				pos = append(pos, a)
			}
		}
		if len(pos) > 0 {
			out = append(out, "--")
			out = append(out, pos...)
		}
		return out
	}
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// takesValue reports whether flag argument a (like -c, --since, -o=yaml)
// consumes the next argument as its value.
func takesValue(flags []cli.Flag, a string) bool {
	if strings.Contains(a, "=") {
		return false
	}
	name := strings.TrimLeft(a, "-")
	for _, f := range flags {
		for _, n := range f.Names() {
			if n != name {
				continue
			}
			if bf, ok := f.(*cli.BoolFlag); ok && bf != nil {
				return false
			}
			if df, ok := f.(cli.DocGenerationFlag); ok {
				return df.TakesValue()
			}
			return true
		}
	}
	return false
}

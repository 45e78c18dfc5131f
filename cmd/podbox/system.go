package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/podbox/podbox/image"
	"github.com/podbox/podbox/sandbox"
	"github.com/podbox/podbox/sandbox/userns"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

func systemCommand() *cli.Command {
	return &cli.Command{
		Name:  "system",
		Usage: "manage podbox's storage",
		Subcommands: []*cli.Command{
			{
				Name:  "reset",
				Usage: "remove all images, pod data and state podbox keeps for this user",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not ask"},
				},
				Action: systemResetAction,
			},
		},
	}
}

// errNeedsForce is a reset without a terminal to confirm on.
type errNeedsForce struct{}

func (errNeedsForce) Error() string {
	return "system reset: refusing to wipe podbox's storage without confirmation, and there is no terminal to ask"
}
func (errNeedsForce) Hint() string { return "run `podbox system reset --force`" }

func systemResetAction(c *cli.Context) error {
	// Ask outside the user namespace; the re-executed command inside has
	// been confirmed already.
	if !c.Bool("force") && !userns.Inside() {
		if !term.IsTerminal(int(os.Stdin.Fd())) {
			return errNeedsForce{}
		}
		o := storeOptions(c)
		fmt.Fprintf(c.App.ErrWriter, "This stops and removes every pod, and removes all podbox images, containers, pod data and state:\n  %s\n  %s\nContinue? [y/N] ",
			orDefault(o.Root, image.DataDir()), orDefault(o.RunRoot, image.RunDir()))
		line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			return errors.New("system reset: not confirmed, nothing removed")
		}
	}
	return inUserNS(func() error {
		// As Podman's system reset: pods go first, the way down removes them,
		// so that none is left running on a wiped store.
		if err := sandbox.Down(c.Context, sandbox.DownOptions{All: true, Store: storeOptions(c), Out: c.App.ErrWriter}); err != nil {
			// On a full disk the pods are stopped but their storage
			// containers cannot be removed: the reset removes the whole
			// store, which needs no space (issue 9).
			var full *image.NoSpaceError
			if !errors.As(err, &full) {
				return fmt.Errorf("system reset: removing pods: %w", err)
			}
			logrus.Warnf("system reset: %v; removing the whole store instead", err)
		}
		return image.Reset(storeOptions(c))
	})
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// errNotYet is what a command that is still a placeholder returns.
var errNotYet = errors.New("not implemented yet")

func notYet(*cli.Context) error { return errNotYet }

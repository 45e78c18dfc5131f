package main

import (
	"github.com/podbox/podbox/sandbox/hostcheck"
	"github.com/urfave/cli/v2"
)

// runtimeAndStorageChecks probes the OCI runtimes and the storage driver.
func runtimeAndStorageChecks(c *cli.Context) []hostcheck.Check {
	return nil
}

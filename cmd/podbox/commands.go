package main

import "github.com/urfave/cli/v2"

// commands lists podbox's commands; each lives in its own file.
func commands() []*cli.Command {
	return []*cli.Command{
		upCommand(),
		downCommand(),
		psCommand(),
		logsCommand(),
		execCommand(),
		portForwardCommand(),
		cpCommand(),
		getCommand(),
		describeCommand(),
		explainCommand(),
		pullCommand(),
		imagesCommand(),
		rmiCommand(),
		imageCommand(),
		systemCommand(),
		infoCommand(),
		versionCommand(),
		completionCommand(),
		completeCommand(),
	}
}

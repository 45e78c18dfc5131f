// Command podbox runs Kubernetes Pods on a developer's machine without root.
//
// This package is the command line only: flags become options structs that
// go to the sandbox, image, slirp and mounts packages. One binary plays a few
// roles, chosen in main before any flag is parsed: go.podman.io/storage's
// re-exec helpers, a child waiting for its user namespace map, the pod's
// infra process (when no podbox-pod is beside it), the cleanup helper a
// pod runs at its end, a Job's controller left by `up -d`, and the CLI.
//
// Flags may follow positional arguments (`podbox logs web -c server -f`), as
// kubectl and podman accept them: urfave/cli/v2 stops at the first argument,
// so run reorders the command line first (see reorderArgs).
//
// A bad command line (unknown flag or command, missing value) is one line
// on stderr with the hint to --help, exit 125, as kubectl and podman say it;
// urfave/cli's own answer, the whole usage on stdout, is replaced in
// usage.go. podbox runs only pods, so `describe NAME` and `get NAME` mean
// `describe pod NAME`, besides kubectl's `pod NAME`, `pods NAME`, `pod/NAME`.
// `-f -` reads the manifest from stdin, which the user-namespace re-exec
// inherits.
//
// Shell completion is one hidden command, `__complete WORD…`, that the
// small bash, zsh and fish scripts of `podbox completion` call on each Tab
// (completion.go says why not urfave/cli's bash-only mechanism); it reads
// pod and container names from the pods' directories only, so a Tab never
// enters a user namespace, opens the store or starts anything.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/podbox/podbox/sandbox"
	"github.com/podbox/podbox/sandbox/pod"
	"github.com/podbox/podbox/sandbox/userns"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"
	"go.podman.io/storage/pkg/reexec"
)

// version is set by the Makefile with -ldflags.
var version = "0.1.0-dev"

func main() {
	if reexec.Init() { // go.podman.io/storage's helpers; must come first
		return
	}
	if userns.IsChild() {
		userns.WaitMapped() // then carry on as the same command, inside
	}
	if sandbox.IsPodChild() {
		os.Exit(pod.Main())
	}
	if sandbox.IsCleanup() { // run by a pod's PID 1 at its end (sandbox.CleanupCommand)
		os.Exit(sandbox.CleanupMain())
	}
	if sandbox.IsJobController() { // left by `up -d` of a Job (sandbox/jobrole.go)
		os.Exit(sandbox.JobControllerMain())
	}
	if sandbox.IsProbeHelper() { // run by a pod's PID 1 for an HTTPS or gRPC probe (sandbox/probehelper.go)
		os.Exit(sandbox.ProbeHelperMain())
	}
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// Exit codes, as Podman's libpod/define/exec_codes.go.
const (
	exitFailed      = 125 // podbox itself failed
	exitCannotRun   = 126 // the command could not be run
	exitNotFound    = 127 // the command was not found
	exitInterrupted = 130
)

// exitCodeError makes podbox exit with code after printing nothing more.
type exitCodeError struct{ code int }

func (e exitCodeError) Error() string { return fmt.Sprintf("exit code %d", e.code) }

// hinter is an error that knows how the user can fix it.
type hinter interface{ Hint() string }

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:                   "podbox",
		Usage:                  "run Kubernetes Pods on this machine, without root",
		Version:                version,
		Writer:                 stdout,
		ErrWriter:              stderr,
		EnableBashCompletion:   true,
		UseShortOptionHandling: true,
		HideVersion:            true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-level", Value: "warn", Usage: "debug, info, warn or error", EnvVars: []string{"PODBOX_LOG_LEVEL"}},
			&cli.StringFlag{Name: "root", Usage: "image storage `DIR` (default $XDG_DATA_HOME/podbox/storage)", EnvVars: []string{"PODBOX_ROOT"}},
			&cli.StringFlag{Name: "runroot", Usage: "runtime state `DIR` (default $XDG_RUNTIME_DIR/podbox)", EnvVars: []string{"PODBOX_RUNROOT"}},
			&cli.StringFlag{Name: "storage-driver", Usage: "overlay, fuse-overlayfs or vfs (default: the first that works)", EnvVars: []string{"PODBOX_STORAGE_DRIVER"}},
			&cli.StringFlag{Name: "runtime", Usage: "OCI runtime: runc, crun or a path (default: the first that works here)", EnvVars: []string{"PODBOX_RUNTIME"}},
		},
		Before: func(c *cli.Context) error {
			lvl, err := logrus.ParseLevel(c.String("log-level"))
			if err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			logrus.SetLevel(lvl)
			logrus.SetOutput(stderr)
			logrus.SetFormatter(&roleFormatter{role: role()})
			return nil
		},
		Commands: commands(),
		ExitErrHandler: func(*cli.Context, error) {
			// run prints errors and picks the exit code.
		},
		OnUsageError: onUsageError,
		Action:       unknownCommand,
	}
	setUsageHandlers(app.Commands)
	return app
}

// role names this process in log lines, as rootlesskit's main.go does.
func role() string {
	if userns.Inside() {
		return "podbox:userns"
	}
	return "podbox"
}

func run(args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	err := app.Run(reorderArgs(app, args))
	if err == nil {
		return 0
	}
	var ec exitCodeError
	if errors.As(err, &ec) {
		return ec.code
	}
	var cec cli.ExitCoder
	if errors.As(err, &cec) && cec.ExitCode() != 1 {
		if msg := err.Error(); msg != "" {
			fmt.Fprintf(stderr, "podbox: %s\n", msg)
		}
		return cec.ExitCode()
	}
	fmt.Fprintf(stderr, "podbox: %s\n", err)
	var h hinter
	if errors.As(err, &h) && h.Hint() != "" {
		fmt.Fprintf(stderr, "hint: %s\n", h.Hint())
	}
	return exitFailed
}

// inUserNS runs fn inside podbox's user namespace (the user's subuid mapping
// and a private mount namespace, host network): the process re-executes
// itself there and exits with the child's code. Inside, it just runs fn.
func inUserNS(fn func() error) error {
	if userns.Inside() {
		return fn()
	}
	m, err := userns.Lookup()
	if err != nil {
		warnSingleMapping(m)
	}
	code, err := userns.Reexec(m, 0)
	if err != nil {
		return err
	}
	if code != 0 {
		return exitCodeError{code}
	}
	return nil
}

// warnSingleMapping says once that the user has no subordinate ids.
func warnSingleMapping(m userns.Mapping) {
	logrus.Warnf("user %s has no range in /etc/subuid or /etc/subgid: mapping only uid %d; files of other owners in images become yours. To fix: %s",
		m.User, m.UID, m.FixLines())
}

type roleFormatter struct{ role string }

func (f *roleFormatter) Format(e *logrus.Entry) ([]byte, error) {
	return []byte(fmt.Sprintf("[%s] %s: %s\n", f.role, e.Level, e.Message)), nil
}

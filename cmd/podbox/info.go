package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"github.com/podbox/podbox/sandbox"
	"github.com/podbox/podbox/sandbox/hostcheck"
	"github.com/podbox/podbox/sandbox/userns"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

func infoCommand() *cli.Command {
	return &cli.Command{
		Name:  "info",
		Usage: "show what podbox found on this machine, and what is missing",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Usage: "text or json"},
			&cli.BoolFlag{Name: "inner", Hidden: true, Usage: "print the user-namespace checks as JSON (internal)"},
		},
		Action: func(c *cli.Context) error {
			if c.Bool("inner") {
				return json.NewEncoder(c.App.Writer).Encode(innerChecks(c))
			}
			r := hostcheck.Host()
			nsChecks(c, r)
			podProcess(r)
			if err := printInfo(c.App.Writer, r, c.String("format")); err != nil {
				return err
			}
			if !r.Ready() {
				return exitCodeError{exitFailed}
			}
			return nil
		},
	}
}

// nsChecks runs `podbox info --inner` in the user namespace and merges what
// it found (the runtime that works, the storage driver) into r.
func nsChecks(c *cli.Context, r *hostcheck.Report) {
	if u := r.Get("user namespaces"); u != nil && u.Status == hostcheck.Missing {
		return
	}
	m, _ := userns.Lookup()
	args := []string{"info", "--inner"}
	for _, g := range []string{"root", "runroot", "storage-driver", "runtime", "log-level"} {
		if v := c.String(g); v != "" {
			args = append([]string{"--" + g, v}, args...)
		}
	}
	cmd := exec.Command("/proc/self/exe", args...)
	cmd.Args[0] = "podbox"
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: unix.SIGKILL}
	child, err := userns.Start(cmd, m, unix.CLONE_NEWNS)
	if err == nil {
		err = child.Release()
		if werr := cmd.Wait(); err == nil {
			err = werr
		}
	}
	var inner []hostcheck.Check
	if err == nil {
		err = json.Unmarshal(out.Bytes(), &inner)
	}
	if err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		r.Set(hostcheck.Check{Name: "user namespace", Status: hostcheck.Missing,
			Value: "cannot create one: " + msg, Fix: "see the lines above; podbox needs newuidmap/newgidmap (package uidmap) and unprivileged user namespaces"})
		return
	}
	r.Set(hostcheck.Check{Name: "user namespace", Status: hostcheck.OK, Value: fmt.Sprintf("created, ids 0-%d mapped", m.Size()-1)})
	for _, ch := range inner {
		r.Set(ch)
	}
}

// podProcess says which program runs the pods' PID 1 (sandbox.PodBinary).
func podProcess(r *hostcheck.Report) {
	v, stale := sandbox.PodProcessInfo()
	ch := hostcheck.Check{Name: "pod process", Status: hostcheck.OK, Value: v}
	if stale {
		ch.Status = hostcheck.Warn
		ch.Fix = "each pod uses more memory: install the podbox-pod of this build beside podbox (make install, or go install github.com/podbox/podbox/cmd/...), or remove the other"
	}
	r.Set(ch)
}

func printInfo(w io.Writer, r *hostcheck.Report, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Version string `json:"version"`
			Ready   bool   `json:"ready"`
			*hostcheck.Report
		}{version, r.Ready(), r})
	case "", "text":
	default:
		return fmt.Errorf("--format: want text or json, got %q", format)
	}
	fmt.Fprintf(w, "podbox %s\n", version)
	for _, ch := range r.Checks {
		fmt.Fprintf(w, "  %-16s %s\n", ch.Name+":", ch.Value)
	}
	var problems []hostcheck.Check
	for _, ch := range r.Checks {
		if ch.Status != hostcheck.OK {
			problems = append(problems, ch)
		}
	}
	if len(problems) == 0 {
		fmt.Fprintln(w, "podbox can run pods here.")
		return nil
	}
	fmt.Fprintln(w)
	for _, ch := range problems {
		fmt.Fprintf(w, "%s: %s: %s\n", ch.Status, ch.Name, ch.Value)
		if ch.Fix != "" {
			fmt.Fprintf(w, "  fix: %s\n", ch.Fix)
		}
	}
	if r.Ready() {
		fmt.Fprintln(w, "podbox can run pods here, with the warnings above.")
	} else {
		fmt.Fprintln(w, "podbox cannot run pods here until the missing pieces above are fixed.")
	}
	return nil
}

// innerChecks runs inside the user namespace.
func innerChecks(c *cli.Context) []hostcheck.Check {
	_ = os.Getpid()
	return runtimeAndStorageChecks(c)
}

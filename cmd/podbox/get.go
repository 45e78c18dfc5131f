package main

import (
	"fmt"
	"strings"

	"github.com/podbox/podbox/sandbox"
	"github.com/urfave/cli/v2"
)

func getCommand() *cli.Command {
	return &cli.Command{
		Name:      "get",
		Usage:     "print pods as kubectl get does: a table, or v1.Pods in YAML or JSON",
		ArgsUsage: "pods | [pod] NAME | jobs | job NAME",
		Description: "-o wide adds IP, NODE, NOMINATED NODE and READINESS GATES; -o name prints pod/NAME.\n" +
			"--watch (-w) prints the pods, then a line (or object) for each pod whose row changes (the AGE column\n" +
			"aside) or that goes away, without repeating the header, as kubectl get -w; it looks every second, until Ctrl-C.\n" +
			"get jobs (job NAME, job/NAME) lists the Jobs up -d started, as kubectl get jobs: NAME STATUS COMPLETIONS\n" +
			"DURATION AGE, or batch/v1 Jobs with their status (-o yaml|json); a foreground up's Job leaves no record.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "yaml, json, wide or name"},
			watchFlag(),
		},
		Action: func(c *cli.Context) error {
			if name, ok, err := jobArg(c.Args().Slice()); ok || err != nil {
				if err != nil {
					return err
				}
				return sandbox.GetJobs(sandbox.GetOptions{Name: name, Output: c.String("output"), Watch: c.Bool("watch"),
					Out: c.App.Writer, Err: c.App.ErrWriter})
			}
			name, err := podArg(c, "get", false)
			if err != nil {
				return err
			}
			ctx, stop := watchContext(c)
			defer stop()
			return sandbox.Get(ctx, sandbox.GetOptions{
				Name:   name,
				Output: c.String("output"),
				Watch:  c.Bool("watch"),
				Out:    c.App.Writer,
				Err:    c.App.ErrWriter,
			})
		},
	}
}

// podArg reads `pod NAME`, `pods NAME`, `po NAME`, `pod/NAME` as kubectl
// does, or just `NAME`: podbox runs only pods, so the kind may be left out
// (`podbox describe web`); the name is optional unless required.
func podArg(c *cli.Context, cmd string, required bool) (string, error) {
	return parsePodArg(c.Args().Slice(), cmd, c.Command.ArgsUsage, required)
}

func parsePodArg(args []string, cmd, argsUsage string, required bool) (string, error) {
	usage := fmt.Errorf("%s: usage: podbox %s %s", cmd, cmd, argsUsage)
	if len(args) == 0 {
		return "", usage
	}
	kind, name, slash := strings.Cut(args[0], "/")
	switch {
	case kind == "pod" || kind == "pods" || kind == "po":
	case !slash && len(args) == 1 && !otherKinds[kind]:
		return args[0], nil
	default:
		return "", fmt.Errorf("%s: %q: podbox knows only pods", cmd, kind)
	}
	if name == "" && len(args) > 1 {
		name, args = args[1], args[1:]
	}
	if len(args) > 1 {
		return "", usage
	}
	if required && name == "" {
		return "", usage
	}
	return name, nil
}

// podSlashName reads one argument that is NAME or kubectl's TYPE/NAME
// (pod/web), for commands whose further arguments are not names (logs,
// port-forward); any other slash is left for the pod name's check.
func podSlashName(cmd, arg string) (string, error) {
	switch kind, name, _ := strings.Cut(arg, "/"); {
	case kind == "pod" || kind == "pods" || kind == "po":
		return name, nil
	case otherKinds[kind] && name != "":
		return "", fmt.Errorf("%s: %q: podbox knows only pods", cmd, kind)
	}
	return arg, nil
}

// otherKinds are resource kinds kubectl users type that podbox does not
// have: `podbox get svc` says so rather than look for a pod named svc.
var otherKinds = map[string]bool{
	"all": true, "configmap": true, "configmaps": true, "cm": true, "cronjob": true, "cronjobs": true,
	"daemonset": true, "daemonsets": true, "ds": true, "deployment": true, "deployments": true, "deploy": true,
	"ingress": true, "ingresses": true, "ing": true, "job": true, "jobs": true, "namespace": true, "namespaces": true,
	"ns": true, "node": true, "nodes": true, "no": true, "replicaset": true, "replicasets": true, "rs": true,
	"secret": true, "secrets": true, "service": true, "services": true, "svc": true, "statefulset": true,
	"statefulsets": true, "sts": true,
}

// jobArg reads `jobs`, `job NAME`, `job/NAME` (and job.batch, jobs.batch):
// ok is true when the arguments name Jobs.
func jobArg(args []string) (name string, ok bool, err error) {
	if len(args) == 0 {
		return "", false, nil
	}
	kind, name, slash := strings.Cut(args[0], "/")
	switch kind {
	case "job", "jobs", "job.batch", "jobs.batch":
	default:
		return "", false, nil
	}
	if !slash && len(args) > 1 {
		name, args = args[1], args[1:]
	}
	if len(args) > 1 {
		return "", true, fmt.Errorf("get: usage: podbox get jobs | job NAME")
	}
	return name, true, nil
}

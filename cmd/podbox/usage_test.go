package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args string
		want string
	}{
		{"unknown flag", "podbox up --bogus", "podbox: flag provided but not defined: -bogus\nhint: see 'podbox up --help'\n"},
		{"unknown global flag", "podbox --bogus ps", "podbox: flag provided but not defined: -bogus\nhint: see 'podbox --help'\n"},
		{"missing value", "podbox up -f", "podbox: flag needs an argument: -f\nhint: see 'podbox up --help'\n"},
		{"unknown command", "podbox bogus", "podbox: unknown command \"bogus\" for \"podbox\"\nhint: see 'podbox --help'\n"},
		{"unknown subcommand", "podbox image bogus", "podbox: unknown command \"bogus\" for \"podbox image\"\nhint: see 'podbox image --help'\n"},
		{"unknown flag of a subcommand", "podbox image inspect --bogus x", "podbox: flag provided but not defined: -bogus\nhint: see 'podbox image inspect --help'\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(strings.Fields(tc.args), &stdout, &stderr)
			if code != exitFailed || stdout.Len() != 0 || stderr.String() != tc.want {
				t.Errorf("got exit %d, stdout %q, stderr %q; want exit 125, no stdout, stderr %q", code, stdout.String(), stderr.String(), tc.want)
			}
		})
	}
}

func TestHelpStillShown(t *testing.T) {
	for _, args := range []string{"podbox", "podbox --help", "podbox up --help", "podbox image"} {
		var stdout, stderr bytes.Buffer
		if code := run(strings.Fields(args), &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "USAGE") || stderr.Len() != 0 {
			t.Errorf("%s: got exit %d, stdout %q, stderr %q; want the help on stdout", args, code, stdout.String(), stderr.String())
		}
	}
}

func TestParsePodArg(t *testing.T) {
	for _, tc := range []struct {
		args     string
		required bool
		want     string
		err      string
	}{
		{"web", true, "web", ""},
		{"pod web", true, "web", ""},
		{"pods web", true, "web", ""},
		{"po web", true, "web", ""},
		{"pod/web", true, "web", ""},
		{"pods/web", true, "web", ""},
		{"pods", false, "", ""},
		{"pod", true, "", "describe: usage: podbox describe [pod] NAME"},
		{"", true, "", "describe: usage: podbox describe [pod] NAME"},
		{"pod a b", true, "", "describe: usage: podbox describe [pod] NAME"},
		{"svc", false, "", `describe: "svc": podbox knows only pods`},
		{"deployment web", true, "", `describe: "deployment": podbox knows only pods`},
		{"deploy/web", true, "", `describe: "deploy": podbox knows only pods`},
		{"web other", true, "", `describe: "web": podbox knows only pods`},
	} {
		t.Run(tc.args, func(t *testing.T) {
			got, err := parsePodArg(strings.Fields(tc.args), "describe", "[pod] NAME", tc.required)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if got != tc.want || gotErr != tc.err {
				t.Errorf("got %q, %q; want %q, %q", got, gotErr, tc.want, tc.err)
			}
		})
	}
}

package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestLogsFlagErrors checks that logs refuses what kubectl refuses, with
// kubectl's words, before it looks for the pod.
func TestLogsFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args string
		want string
	}{
		{"since and since-time", "podbox logs web --since 1m --since-time 2026-01-02T03:04:05Z", "at most one of `sinceTime` or `sinceSeconds` may be specified"},
		{"negative since", "podbox logs web --since -1m", "--since must be greater than 0"},
		{"bad since", "podbox logs web --since soon", `--since "soon": want a duration like 5s, 2m or 3h, or an RFC3339 time`},
		{"bad since-time", "podbox logs web --since-time 5m", `--since-time "5m": want an RFC3339 time like 2006-01-02T15:04:05Z`},
		{"tail", "podbox logs web --tail -2", "--tail must be greater than or equal to -1"},
		{"limit-bytes", "podbox logs web --limit-bytes -1", "--limit-bytes must be greater than 0"},
		{"all-containers with -c", "podbox logs web -c app --all-containers", "--all-containers=true should not be specified with container name app"},
		{"-c and inline", "podbox logs web app -c app", "only one of -c or an inline [CONTAINER] arg is allowed"},
		{"another kind", "podbox logs deploy/web", `logs: "deploy": podbox knows only pods`},
		{"not a name", "podbox logs a/b", `pod name "a/b": must be a DNS-1123 subdomain: at most 253 lowercase letters, digits, '-' or '.', starting and ending with a letter or digit`},
		{"no pod", "podbox logs", "logs: name one pod (and at most one container)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(strings.Fields(tc.args), &stdout, &stderr)
			if want := "podbox: " + tc.want + "\n"; code != exitFailed || stderr.String() != want {
				t.Errorf("got exit %d, stderr %q; want exit 125, %q", code, stderr.String(), want)
			}
		})
	}
}

// TestPortForwardKind checks that port-forward reads kubectl's TYPE/NAME
// as logs does, before it looks for the pod.
func TestPortForwardKind(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"podbox", "port-forward", "svc/web", "80"}, &stdout, &stderr)
	if want := "podbox: port-forward: \"svc\": podbox knows only pods\n"; code != exitFailed || stderr.String() != want {
		t.Errorf("got exit %d, stderr %q; want exit 125, %q", code, stderr.String(), want)
	}
}

package main

import (
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestReorderArgs(t *testing.T) {
	app := newApp(io.Discard, io.Discard)
	for _, tc := range []struct {
		name string
		in   string
		want string
	}{
		{"flags after the pod", "podbox logs web -c server -f", "podbox logs -c server -f -- web"},
		{"flags first", "podbox logs -c server -f web", "podbox logs -c server -f -- web"},
		{"global flags", "podbox --log-level debug logs web -f", "podbox --log-level debug logs -f -- web"},
		{"value with equals", "podbox logs web --container=server", "podbox logs --container=server -- web"},
		{"double dash keeps the rest", "podbox logs web -- -c x", "podbox logs -- web -c x"},
		{"no positionals", "podbox version", "podbox version"},
		{"unknown command left alone", "podbox nosuch -x y", "podbox nosuch -x y"},
		{"subcommand", "podbox info --format json", "podbox info --format json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := reorderArgs(app, strings.Fields(tc.in))
			if want := strings.Fields(tc.want); !reflect.DeepEqual(got, want) {
				t.Errorf("reorderArgs(%q)\n got %q\nwant %q", tc.in, got, want)
			}
		})
	}
}

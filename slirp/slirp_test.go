package slirp

import (
	"slices"
	"testing"
)

func TestArgs(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want []string
	}{
		{"default: no host loopback", Options{PID: 42},
			[]string{"--configure", "--mtu=65520", "--enable-sandbox", "--enable-seccomp", "--ready-fd=3", "--exit-fd=4", "--disable-host-loopback", "42", "tap0"}},
		{"host loopback allowed", Options{PID: 7, AllowHostLoopback: true},
			[]string{"--configure", "--mtu=65520", "--enable-sandbox", "--enable-seccomp", "--ready-fd=3", "--exit-fd=4", "7", "tap0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := args(tc.o); !slices.Equal(got, tc.want) {
				t.Errorf("args = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLastLine(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "",
		"one\n":            "one",
		"one\ntwo\n\n":     "two",
		"a\nb\nWARNING: x": "WARNING: x",
	} {
		if got := lastLine(in); got != want {
			t.Errorf("lastLine(%q) = %q, want %q", in, got, want)
		}
	}
}

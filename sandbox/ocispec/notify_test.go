package ocispec

import (
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestNotifyAccept(t *testing.T) {
	names := []string{"accept", "accept4"}
	notify := specs.LinuxSyscall{Names: names, Action: specs.ActNotify}
	allow := func(n ...string) specs.LinuxSyscall { return specs.LinuxSyscall{Names: n, Action: specs.ActAllow} }
	for _, tc := range []struct {
		name string
		in   *specs.LinuxSeccomp
		want *specs.LinuxSeccomp
	}{
		{"unconfined: allow all but these", nil,
			&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/s", Syscalls: []specs.LinuxSyscall{notify}}},
		{"the names leave the allow rule",
			&specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{allow("read", "accept", "accept4"), allow("accept")}},
			&specs.LinuxSeccomp{DefaultAction: specs.ActErrno, ListenerPath: "/s", Syscalls: []specs.LinuxSyscall{allow("read"), notify}}},
		{"denied by default: left alone",
			&specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{allow("read")}},
			&specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{allow("read")}}},
		{"denied by a rule: left alone",
			&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"accept4"}, Action: specs.ActErrno}}},
			&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"accept4"}, Action: specs.ActErrno}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := notifyAccept(tc.in, "/s", names); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
	// The default profile allows both: they move to the notify rule.
	s, err := Generate(Options{Args: []string{"sh"}, Rootfs: "/r", SeccompListener: "/s", SeccompNotify: names})
	if err != nil {
		t.Fatal(err)
	}
	sc := s.Linux.Seccomp
	if sc.ListenerPath != "/s" || !reflect.DeepEqual(sc.Syscalls[len(sc.Syscalls)-1], notify) {
		t.Fatalf("RuntimeDefault with the bypass: listener %q, last rule %+v", sc.ListenerPath, sc.Syscalls[len(sc.Syscalls)-1])
	}
}

package ocispec

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestGenerate(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("golden files hold the amd64 seccomp architectures")
	}
	yes, no := true, false
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}}
	tests := []struct {
		name      string
		opts      Options
		gidMapped bool
	}{
		{name: "default", gidMapped: true, opts: Options{
			Args:   []string{"sh"},
			Env:    []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			Rootfs: "/run/podbox/rootfs",
		}},
		{name: "secured", gidMapped: true, opts: Options{
			Args: []string{"/bin/echo", "entry", "cmd1"}, Cwd: "/work", UID: 33, GID: 33, AdditionalGids: []uint32{1000},
			Rootfs: "/run/podbox/rootfs", Pod: pod,
			Container: &corev1.Container{Name: "app", SecurityContext: &corev1.SecurityContext{
				ReadOnlyRootFilesystem:   &yes,
				AllowPrivilegeEscalation: &no,
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_BIND_SERVICE", "CAP_NET_ADMIN"}},
			}},
			Mounts: []specs.Mount{
				{Destination: "/etc/hosts", Type: "bind", Source: "/run/podbox/pods/web/etc/hosts", Options: []string{"rbind", "rprivate", "ro"}},
				{Destination: "/data", Type: "bind", Source: "/data/volumes/d", Options: []string{"rbind", "rshared"}},
			},
		}},
		{name: "escalation-single-mapping", gidMapped: false, opts: Options{
			Args: []string{"sh"}, Rootfs: "/rootfs", Terminal: true,
			Container: &corev1.Container{Name: "sh", SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &yes}},
		}},
		{name: "proc-unmasked", gidMapped: true, opts: Options{
			Args: []string{"sh"}, Rootfs: "/rootfs",
			Container: &corev1.Container{Name: "sh", SecurityContext: &corev1.SecurityContext{ProcMount: ptrTo(corev1.UnmaskedProcMount)}},
		}},
		{name: "seccomp-unconfined-pod", gidMapped: true, opts: Options{
			Args: []string{"sh"}, Rootfs: "/rootfs", Pod: podSeccomp(unconfined),
			Container: &corev1.Container{Name: "sh"},
		}},
		{name: "seccomp-localhost", gidMapped: true, opts: Options{
			Args: []string{"sh"}, Rootfs: "/rootfs", Pod: podSeccomp(unconfined),
			Container: &corev1.Container{Name: "sh", SecurityContext: &corev1.SecurityContext{SeccompProfile: localhost("deny-mkdir.json")}},
		}},
		{name: "seccomp-sys-admin", gidMapped: true, opts: Options{
			Args: []string{"sh"}, Rootfs: "/rootfs",
			Container: &corev1.Container{Name: "sh", SecurityContext: &corev1.SecurityContext{
				Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN"}},
			}},
		}},
	}
	t.Setenv("XDG_CONFIG_HOME", testConfigHome(t))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			saved := gidMapped
			gidMapped = func(uint32) bool { return tc.gidMapped }
			defer func() { gidMapped = saved }()
			s, err := Generate(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(s, "", "\t")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", tc.name+".json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("spec differs from %s (go test -update rewrites it):\n%s", golden, got)
			}
		})
	}
}

var unconfined = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}

func localhost(name string) *corev1.SeccompProfile {
	return &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: &name}
}

func podSeccomp(p *corev1.SeccompProfile) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{SeccompProfile: p}}}
}

func ctrSeccomp(p *corev1.SeccompProfile) *corev1.Container {
	return &corev1.Container{Name: "sh", SecurityContext: &corev1.SecurityContext{SeccompProfile: p}}
}

func testConfigHome(t *testing.T) string {
	d, err := filepath.Abs(filepath.Join("testdata", "config"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestGenerateErrors(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", testConfigHome(t))
	rd := "x.json"
	tests := []struct {
		name    string
		opts    Options
		want    string // in the error
		seccomp bool   // errors.Is ErrSeccompProfile
	}{
		{name: "no args", opts: Options{Rootfs: "/r"}, want: "no command"},
		{name: "relative rootfs", opts: Options{Args: []string{"sh"}, Rootfs: "r"}, want: "not an absolute path"},
		{name: "unknown capability", opts: Options{Args: []string{"sh"}, Rootfs: "/r", Container: &corev1.Container{
			SecurityContext: &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"FLY"}}}}},
			want: "FLY"},
		{name: "localhost without a profile", seccomp: true,
			opts: Options{Args: []string{"sh"}, Rootfs: "/r", Container: ctrSeccomp(&corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost})},
			want: "securityContext.seccompProfile.localhostProfile: required"},
		{name: "localhost going up", seccomp: true,
			opts: Options{Args: []string{"sh"}, Rootfs: "/r", Pod: podSeccomp(localhost("../seccomp/deny-mkdir.json"))},
			want: "spec.securityContext.seccompProfile.localhostProfile"},
		{name: "localhost absolute", seccomp: true,
			opts: Options{Args: []string{"sh"}, Rootfs: "/r", Container: ctrSeccomp(localhost("/etc/passwd"))},
			want: "relative path"},
		{name: "localhost missing", seccomp: true,
			opts: Options{Args: []string{"sh"}, Rootfs: "/r", Container: ctrSeccomp(localhost("nope.json"))},
			want: "nope.json: no such file"},
		{name: "localhost not a profile", seccomp: true,
			opts: Options{Args: []string{"sh"}, Rootfs: "/r", Container: ctrSeccomp(localhost("."))},
			want: "reading the profile"},
		{name: "unknown type", seccomp: true,
			opts: Options{Args: []string{"sh"}, Rootfs: "/r", Container: ctrSeccomp(&corev1.SeccompProfile{Type: "Strict"})},
			want: `"Strict" is not Unconfined`},
		{name: "localhostProfile with RuntimeDefault", seccomp: true,
			opts: Options{Args: []string{"sh"}, Rootfs: "/r", Container: ctrSeccomp(&corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault, LocalhostProfile: &rd})},
			want: "only be set when type is Localhost"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Generate(tc.opts)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if got := errors.Is(err, ErrSeccompProfile); got != tc.seccomp {
				t.Errorf("errors.Is(err, ErrSeccompProfile) = %v, want %v", got, tc.seccomp)
			}
		})
	}
}

func TestWriteBundle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bundle")
	s, err := Generate(Options{Args: []string{"true"}, Rootfs: "/r"})
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteBundle(dir, s); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back specs.Spec
	if err := json.Unmarshal(data, &back); err != nil || back.Process.Args[0] != "true" {
		t.Errorf("config.json does not read back: %v", err)
	}
}

func TestShareProcessNamespace(t *testing.T) {
	yes := true
	for _, share := range []*bool{nil, &yes} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.PodSpec{ShareProcessNamespace: share}}
		s, err := Generate(Options{Args: []string{"sh"}, Rootfs: "/rootfs", Pod: pod, Container: &corev1.Container{Name: "sh"}})
		if err != nil {
			t.Fatal(err)
		}
		hasPID := false
		for _, ns := range s.Linux.Namespaces {
			hasPID = hasPID || ns.Type == specs.PIDNamespace
		}
		if want := share == nil; hasPID != want {
			t.Errorf("shareProcessNamespace %v: own PID namespace %v, want %v", share != nil, hasPID, want)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestRootlessWarnings(t *testing.T) {
	for _, tc := range []struct {
		name string
		add  []corev1.Capability
		want []string // substrings, one per warning
	}{
		{name: "none", add: []corev1.Capability{"NET_ADMIN", "CAP_SYS_ADMIN"}},
		{name: "one", add: []corev1.Capability{"sys_time", "NET_ADMIN"}, want: []string{`container "c": securityContext.capabilities.add: SYS_TIME has no effect rootless: the clock belongs to the host`}},
		{name: "all", add: []corev1.Capability{"ALL"}, want: []string{"ALL: AUDIT_CONTROL, AUDIT_READ"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := RootlessWarnings(&corev1.Container{Name: "c", SecurityContext: &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: tc.add}}})
			if len(got) != len(tc.want) {
				t.Fatalf("got %q, want %d warnings", got, len(tc.want))
			}
			for i := range got {
				if !strings.Contains(got[i], tc.want[i]) {
					t.Errorf("warning %q lacks %q", got[i], tc.want[i])
				}
			}
		})
	}
}

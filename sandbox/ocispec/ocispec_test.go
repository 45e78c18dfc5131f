package ocispec

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"runtime"
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
	}
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

func TestGenerateErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"no args", Options{Rootfs: "/r"}},
		{"relative rootfs", Options{Args: []string{"sh"}, Rootfs: "r"}},
		{"unknown capability", Options{Args: []string{"sh"}, Rootfs: "/r", Container: &corev1.Container{
			SecurityContext: &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"FLY"}}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Generate(tc.opts); err == nil {
				t.Error("no error")
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

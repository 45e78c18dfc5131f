package image

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"go.podman.io/image/v5/types"
	corev1 "k8s.io/api/core/v1"
)

func mkSymlinkRoot(root string) error {
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		return err
	}
	return os.Symlink("/etc/passwd", filepath.Join(root, "etc", "passwd"))
}

func TestDefaultPullPolicy(t *testing.T) {
	for _, tc := range []struct {
		ref  string
		want corev1.PullPolicy
	}{
		{"busybox", corev1.PullAlways},
		{"busybox:latest", corev1.PullAlways},
		{"127.0.0.1:5000/busybox", corev1.PullAlways},
		{"127.0.0.1:5000/busybox:1.0", corev1.PullIfNotPresent},
		{"busybox@sha256:472233bfaa11ca1f7e9092bef8c2a08753c884857f20f3175c093348b5fa9fd3", corev1.PullIfNotPresent},
		{"busybox:latest@sha256:472233bfaa11ca1f7e9092bef8c2a08753c884857f20f3175c093348b5fa9fd3", corev1.PullAlways},
		{"docker://quay.io/x/y:v1", corev1.PullIfNotPresent},
		{"oci-archive:/tmp/x.tar", corev1.PullIfNotPresent},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			if got := DefaultPullPolicy(tc.ref); got != tc.want {
				t.Errorf("DefaultPullPolicy(%q) = %s, want %s", tc.ref, got, tc.want)
			}
		})
	}
}

func TestParseSource(t *testing.T) {
	for _, tc := range []struct {
		in        string
		transport string // "" for docker
		named     string
		bad       bool
	}{
		{in: "busybox", named: "docker.io/library/busybox"},
		{in: "docker://busybox:1.0", named: "docker.io/library/busybox:1.0"},
		{in: "localhost:5000/a/b:c", named: "localhost:5000/a/b:c"},
		{in: "127.0.0.1:5000/busybox", named: "127.0.0.1:5000/busybox"},
		{in: "oci-archive:/tmp/x.tar", transport: "oci-archive"},
		{in: "oci:/tmp/layout:tag", transport: "oci"},
		{in: "docker-archive:/tmp/x.tar", transport: "docker-archive"},
		{in: "dir:/tmp/d", transport: "dir"},
		{in: "BUSYBOX", bad: true},
		{in: "busybox:bad tag", bad: true},
		{in: "a//b", bad: true},
		{in: "", bad: true},
		{in: "docker://", bad: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			s, err := parseSource(tc.in)
			if tc.bad {
				if !errors.Is(err, ErrBadReference) {
					t.Fatalf("err = %v, want ErrBadReference", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.transport != "" {
				if s.ref == nil || s.ref.Transport().Name() != tc.transport {
					t.Fatalf("ref = %v, want transport %s", s.ref, tc.transport)
				}
				return
			}
			if s.named == nil || s.named.String() != tc.named {
				t.Errorf("named = %v, want %s", s.named, tc.named)
			}
		})
	}
}

func TestLoopbackTLS(t *testing.T) {
	f, tr := false, true
	for _, tc := range []struct {
		registry string
		verify   *bool
		loopback bool
		want     types.OptionalBool
	}{
		{"127.0.0.1:5000", nil, true, types.OptionalBoolTrue},
		{"127.1.2.3", nil, true, types.OptionalBoolTrue},
		{"localhost:5000", nil, true, types.OptionalBoolTrue},
		{"localhost", nil, true, types.OptionalBoolTrue},
		{"[::1]:5000", nil, true, types.OptionalBoolTrue},
		{"registry.localhost:80", nil, true, types.OptionalBoolTrue},
		{"10.0.0.1:5000", nil, false, types.OptionalBoolUndefined},
		{"128.0.0.1", nil, false, types.OptionalBoolUndefined},
		{"quay.io", nil, false, types.OptionalBoolUndefined},
		{"localhost.example.com", nil, false, types.OptionalBoolUndefined},
		{"quay.io", &f, false, types.OptionalBoolTrue},
		{"127.0.0.1:5000", &tr, true, types.OptionalBoolFalse},
	} {
		t.Run(tc.registry, func(t *testing.T) {
			if got := IsLoopbackRegistry(tc.registry); got != tc.loopback {
				t.Errorf("IsLoopbackRegistry(%q) = %v", tc.registry, got)
			}
			if got := tlsVerifyFor(tc.registry, tc.verify); got != tc.want {
				t.Errorf("tlsVerifyFor(%q) = %v, want %v", tc.registry, got, tc.want)
			}
		})
	}
}

package mounts

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestClaimDir(t *testing.T) {
	tests := []struct {
		name, ns, claim string
		ok              bool
	}{
		{"plain", "default", "data", true},
		{"dotted", "dev", "data.v1", true},
		{"path in the name", "default", "../x", false},
		{"slash", "default", "a/b", false},
		{"path in the namespace", "..", "data", false},
		{"empty", "default", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, err := ClaimDir("/root/claims", tc.ns, tc.claim)
			if tc.ok != (err == nil) {
				t.Fatalf("got %q, %v; want ok %v", dir, err, tc.ok)
			}
			if !tc.ok && !errors.Is(err, ErrBadClaimName) {
				t.Errorf("error %v is not ErrBadClaimName", err)
			}
			if tc.ok && dir != filepath.Join("/root/claims", tc.ns, tc.claim) {
				t.Errorf("got %q", dir)
			}
		})
	}
}

// A claim outlives the pod's data dir, and is made once.
func TestSetupClaim(t *testing.T) {
	root, data := t.TempDir(), t.TempDir()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"}, Spec: corev1.PodSpec{
		Volumes: []corev1.Volume{{Name: "d", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data", ReadOnly: true}}}}}}
	vols, _, err := Setup(pod, data, Sources{Claims: root})
	if err != nil {
		t.Fatal(err)
	}
	v := vols["d"]
	want := filepath.Join(root, "default", "data")
	if v.Source != want || v.Kind != KindClaim || !v.ReadOnly {
		t.Fatalf("got %+v, want a read-only claim at %s", v, want)
	}
	fi, err := os.Stat(want)
	if err != nil || fi.Mode().Perm() != 0o777 {
		t.Fatalf("claim dir: %v, %v", fi, err)
	}
	if _, err := os.Stat(filepath.Join(VolumesDir(data), "d")); !os.IsNotExist(err) {
		t.Errorf("a claim has a directory under the pod's data dir: %v", err)
	}
	if err := os.WriteFile(filepath.Join(want, "f"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, made, err := EnsureClaim(root, "default", "data"); made || err != nil {
		t.Errorf("second EnsureClaim: made %v, %v", made, err)
	}
	if _, err := os.Stat(filepath.Join(want, "f")); err != nil {
		t.Errorf("the claim's file went: %v", err)
	}
	if _, _, err := Setup(pod, data, Sources{}); err == nil {
		t.Errorf("no claims directory: no error")
	}
}

package ociruntime_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/podbox/podbox/mounts"
	"github.com/podbox/podbox/sandbox/ociruntime/probe"
	"github.com/podbox/podbox/sandbox/ocispec"
	"github.com/podbox/podbox/tests/nstest"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestContainer runs TestContainerInside in a user and mount namespace of
// the test user: a busybox container with the spec, volumes and /etc files
// a pod's container gets, through create, start, state, kill and delete.
func TestContainer(t *testing.T) {
	if _, err := os.Stat("/usr/bin/busybox"); err != nil {
		t.Skip("needs a static /usr/bin/busybox: sudo apt-get install busybox-static")
	}
	nstest.RequireStatic(t)
	nstest.RunInside(t, "TestContainerInside")
}

func TestContainerInside(t *testing.T) {
	nstest.Inside(t)
	ctx := context.Background()
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	r, res, err := probe.Find(ctx, os.Getenv("PODBOX_RUNTIME"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("runtime %s %s", r.Path, res)
	if res.CgroupTmpfs {
		// As the pod does, in this test's own mount namespace.
		if err := probe.HideCgroups(); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	r.Root = filepath.Join(dir, "state")

	rootfs := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(filepath.Join(rootfs, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	bb, err := os.ReadFile("/usr/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin/busybox"), bb, 0o755); err != nil {
		t.Fatal(err)
	}
	hostDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(hostDir, "f"), []byte("host file\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	size := resource.MustParse("2Mi")
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: corev1.PodSpec{
		Volumes: []corev1.Volume{
			{Name: "mem", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: &size}}},
			{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: hostDir}}},
		},
	}}
	noEscalation := false // NoNewPrivs: 1 below
	ctr := &corev1.Container{Name: "c", VolumeMounts: []corev1.VolumeMount{
		{Name: "mem", MountPath: "/mem"},
		{Name: "data", MountPath: "/data", SubPath: "sub"},
		{Name: "host", MountPath: "/host", ReadOnly: true},
	}, SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &noEscalation}}
	if err := mounts.CheckHostPaths(pod); err != nil {
		t.Fatal(err)
	}
	vols, _, err := mounts.Setup(pod, filepath.Join(dir, "pod"), mounts.Sources{})
	if err != nil {
		t.Fatal(err)
	}
	// The pod's PID 1 mounts the tmpfs volumes (package pod).
	for _, v := range vols {
		if v.Kind == mounts.KindMemory {
			if err := unix.Mount("tmpfs", v.Source, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, v.TmpfsOptions); err != nil {
				t.Fatal(err)
			}
			defer unix.Unmount(v.Source, unix.MNT_DETACH)
		}
	}
	etc, err := mounts.WriteEtc(pod, filepath.Join(dir, "pod/etc"))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := mounts.ForContainer(ctr, vols, etc)
	if err != nil {
		t.Fatal(err)
	}
	script := `
echo uid=$(busybox id -u)
busybox grep -E 'Seccomp:|NoNewPrivs:|CapEff:' /proc/self/status
busybox grep ' /mem ' /proc/mounts
echo hello > /data/x && echo data-ok
echo nope > /host/g 2>/dev/null || echo host-ro
busybox cat /host/f
busybox grep web /etc/hosts
busybox cat /etc/resolv.conf
echo x > /proc/sysrq-trigger 2>/dev/null || echo sysrq-ro
exec busybox sleep 60
`
	spec, err := ocispec.Generate(ocispec.Options{
		Args: []string{"/bin/busybox", "sh", "-c", script}, Env: []string{"PATH=/bin"},
		Rootfs: rootfs, Mounts: ms, Pod: pod, Container: ctr,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Not in a pod here: give the container the namespaces a pod would.
	spec.Linux.Namespaces = append(spec.Linux.Namespaces,
		specs.LinuxNamespace{Type: specs.NetworkNamespace},
		specs.LinuxNamespace{Type: specs.IPCNamespace},
		specs.LinuxNamespace{Type: specs.UTSNamespace})
	bundle := filepath.Join(dir, "bundle")
	if err := ocispec.WriteBundle(bundle, spec); err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	pid, err := r.Create(ctx, "podbox-test-c", bundle, nil, pw, pw)
	pw.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx, "podbox-test-c"); err != nil {
		t.Fatal(err)
	}
	t.Logf("create+start: %v, pid %d", time.Since(start), pid)
	ids, err := r.List(ctx)
	if err != nil || len(ids) != 1 || ids[0] != "podbox-test-c" {
		t.Errorf("List: %q, %v", ids, err)
	}
	// The script's output is complete when sleep runs.
	time.Sleep(300 * time.Millisecond)
	if st, err := r.State(ctx, "podbox-test-c"); err != nil || st.Status != specs.StateRunning || st.Pid != pid {
		t.Errorf("State: %+v, %v", st, err)
	}
	if err := r.Kill(ctx, "podbox-test-c", syscall.SIGKILL); err != nil {
		t.Error(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if st, err := r.State(ctx, "podbox-test-c"); err != nil || st.Status == specs.StateStopped {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := r.Delete(ctx, "podbox-test-c", false); err != nil {
		t.Error(err)
	}
	out, _ := io.ReadAll(pr)
	t.Logf("container output:\n%s", out)
	for _, want := range []string{
		"uid=0", "Seccomp:\t2", "NoNewPrivs:\t1", "tmpfs /mem tmpfs rw,nosuid,nodev,relatime,size=2048k",
		"data-ok", "host-ro", "host file", "10.0.2.100\tweb", "nameserver 10.0.2.3", "sysrq-ro",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("container output lacks %q", want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(vols["data"].Source, "sub/x")); err != nil || string(b) != "hello\n" {
		t.Errorf("subPath write not in the volume: %q, %v", b, err)
	}
	spec.Process.Args = []string{"/no/such/program"}
	if err := ocispec.WriteBundle(bundle, spec); err != nil {
		t.Fatal(err)
	}
	_, err = r.Create(ctx, "bad", bundle, nil, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "/no/such/program") {
		t.Errorf("Create of a missing program: %v", err)
	} else {
		t.Logf("a failed create reads: %v", err)
	}
	_ = r.Delete(ctx, "bad", true)
}

package podproto_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/podbox/podbox/sandbox/podproto"
	"github.com/podbox/podbox/tests/nstest"
	"golang.org/x/sys/unix"
)

// TestMountFD passes a root filesystem as the CLI and the pod do: a tmpfs
// cloned by open_tree, sent over a SOCK_SEQPACKET pair to a process in
// another mount namespace, attached there by move_mount.
func TestMountFD(t *testing.T) {
	nstest.RunInside(t, "TestMountFDInside")
}

// envMountTarget tells TestMountFDPod where to attach the mount.
const envMountTarget = "PODBOX_TEST_MOUNT_TARGET"

func TestMountFDInside(t *testing.T) {
	nstest.Inside(t)
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	for _, d := range []string{src, dst} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Mount("tmpfs", src, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "hello"), []byte("from the CLI\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mnt, err := podproto.OpenTreeClone(src)
	if err != nil {
		t.Fatal(err)
	}
	// The clone lives on its own: the CLI may unmount the original.
	if err := unix.Unmount(src, unix.MNT_DETACH); err != nil {
		t.Fatal(err)
	}

	cli, pod := seqpacket(t)
	cmd := exec.Command("/proc/self/exe", "-test.run=^TestMountFDPod$", "-test.v")
	cmd.Env = append(os.Environ(), envMountTarget+"="+dst)
	cmd.ExtraFiles = []*os.File{pod} // fd 3
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNS}
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pod.Close()
	if err := podproto.SendMount(cli, "web", int(mnt.Fd())); err != nil {
		t.Error(err)
	}
	mnt.Close()
	if err := podproto.EndMounts(cli, ""); err != nil {
		t.Error(err)
	}
	err = cmd.Wait()
	t.Logf("pod side:\n%s", out)
	if err != nil || !strings.Contains(out.String(), "--- PASS: TestMountFDPod") {
		t.Fatalf("the pod side failed: %v", err)
	}
	// The mount is the other namespace's: here dst stays empty.
	if _, err := os.Stat(filepath.Join(dst, "hello")); !os.IsNotExist(err) {
		t.Errorf("%s/hello in the CLI's namespace: %v; want it only in the pod's", dst, err)
	}
}

// TestMountFDPod is the pod's side of TestMountFDInside, in its own mount
// namespace.
func TestMountFDPod(t *testing.T) {
	target := os.Getenv(envMountTarget)
	if target == "" {
		t.Skip("runs from TestMountFDInside")
	}
	// As the pod does: nothing it mounts propagates back.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		t.Fatal(err)
	}
	var names []string
	err := podproto.RecvMounts(os.NewFile(3, "mounts"), func(name string, mount *os.File) error {
		defer mount.Close()
		names = append(names, name)
		return podproto.MoveMountTo(mount, target)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0] != "web" {
		t.Fatalf("received %v, want [web]", names)
	}
	b, err := os.ReadFile(filepath.Join(target, "hello"))
	if err != nil || string(b) != "from the CLI\n" {
		t.Fatalf("reading the moved mount: %q, %v", b, err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(target, &st); err != nil || st.Type != unix.TMPFS_MAGIC {
		t.Errorf("%s: filesystem type %#x, %v; want tmpfs", target, st.Type, err)
	}
}

package image

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/podbox/podbox/mounts"
	"github.com/podbox/podbox/tests/nstest"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { nstest.Main(m) }

// TestFullDisk: on a full disk, removing a container (down) and an image
// (rmi) still works and frees the space (issue 9 item 11). It needs a
// small file system to fill: a tmpfs, mounted in a user and mount
// namespace of the test user.
func TestFullDisk(t *testing.T) {
	nstest.RunInside(t, "TestFullDiskInside")
}

func TestFullDiskInside(t *testing.T) {
	nstest.Inside(t)
	disk := t.TempDir()
	if err := unix.Mount("tmpfs", disk, "tmpfs", 0, "size=8m,mode=0700"); err != nil {
		t.Skipf("mounting a tmpfs in the user namespace: %v", err)
	}
	defer unix.Unmount(disk, unix.MNT_DETACH)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // no podbox config of the user's
	s, err := OpenStore(StoreOptions{Root: filepath.Join(disk, "storage"), RunRoot: filepath.Join(disk, "run"), Driver: DriverVFS})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	st := s.Storage()

	// An image of one 1 MiB layer, and a container on it (vfs: a copy).
	layer, _, err := st.PutLayer("", "", nil, "", false, nil, bytes.NewReader(tarOf(t, "big", 1<<20)))
	if err != nil {
		t.Fatalf("storing a layer: %v", err)
	}
	img, err := st.CreateImage("", []string{"localhost/full:1"}, layer.ID, "", nil)
	if err != nil {
		t.Fatalf("creating an image: %v", err)
	}
	ctr, err := st.CreateContainer("", []string{"pod-ctr"}, img.ID, "", "", nil)
	if err != nil {
		t.Fatalf("creating a container: %v", err)
	}
	root, err := st.Mount(ctr.ID, "")
	if err != nil {
		t.Fatalf("mounting the container: %v", err)
	}
	// The container fills the disk.
	fill(t, filepath.Join(root, "fill"))
	t.Logf("free after filling: %d bytes", free(t, disk))

	err = s.Removing(func() error { return mounts.RemoveRootfs(st, "pod-ctr") })
	t.Logf("RemoveRootfs: %v", err)
	if err != nil {
		t.Fatalf("removing the container on a full disk: %v", err)
	}
	if _, err := st.Container("pod-ctr"); err == nil {
		t.Fatal("the container is still there")
	}
	t.Logf("free after removing the container: %d bytes", free(t, disk))
	if fi, err := os.Stat(filepath.Join(disk, "storage", reserveName)); err != nil || fi.Size() != reserveSize {
		t.Errorf("the reserve is not made anew after the removal: %v", err)
	}

	// Something else fills the disk; rmi must still work.
	fill(t, filepath.Join(disk, "other"))
	if _, err := s.Remove("localhost/full:1", false); err != nil {
		t.Fatalf("removing the image on a full disk: %v", err)
	}
	if _, err := st.Layer(layer.ID); err == nil {
		t.Fatal("the image's layer is still there")
	}

	// Without a reserve (the disk was full before podbox made one), the
	// error says so, and what to do.
	if err := os.Remove(filepath.Join(disk, "storage", reserveName)); err != nil {
		t.Fatal(err)
	}
	layer2, _, err := st.PutLayer("", "", nil, "", false, nil, bytes.NewReader(tarOf(t, "small", 1024)))
	if err != nil {
		t.Fatalf("storing a layer: %v", err)
	}
	if err := os.Remove(filepath.Join(disk, "other")); err != nil {
		t.Fatal(err)
	}
	fill(t, filepath.Join(disk, "other"))
	err = s.Removing(func() error { return st.DeleteLayer(layer2.ID) })
	var nse *NoSpaceError
	if !errors.As(err, &nse) {
		t.Fatalf("removing a layer on a full disk without a reserve: got %v, want a NoSpaceError", err)
	}
	t.Logf("without a reserve: %v (hint: %s)", err, nse.Hint())
}

// fill writes to p until the file system is full.
func fill(t *testing.T, p string) {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, unix.ENOSPC) {
				t.Fatalf("filling the disk: %v", err)
			}
			return
		}
	}
}

func free(t *testing.T, dir string) uint64 {
	var sfs unix.Statfs_t
	if err := unix.Statfs(dir, &sfs); err != nil {
		t.Fatal(err)
	}
	return sfs.Bavail * uint64(sfs.Bsize)
}

func tarOf(t *testing.T, name string, size int) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(size), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

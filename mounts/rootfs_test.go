package mounts

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/podbox/podbox/tests/nstest"
	"go.podman.io/storage"
	"go.podman.io/storage/types"
)

func TestMain(m *testing.M) { nstest.Main(m) }

// TestRootfs runs TestRootfsInside in a user and mount namespace of the
// test user, where go.podman.io/storage mounts overlay as podbox does.
func TestRootfs(t *testing.T) {
	nstest.RunInside(t, "TestRootfsInside")
}

func TestRootfsInside(t *testing.T) {
	nstest.Inside(t)
	dir := t.TempDir()
	store, err := storage.GetStore(types.StoreOptions{
		RunRoot:         filepath.Join(dir, "run"),
		GraphRoot:       filepath.Join(dir, "root"),
		GraphDriverName: "overlay",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if _, err := store.Shutdown(true); err != nil {
			t.Error(err)
		}
		// Layers are owned by subordinate ids: remove them from in here.
		_ = os.RemoveAll(dir)
	}()
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	_ = tw.WriteHeader(&tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755})
	_ = tw.WriteHeader(&tar.Header{Name: "etc/motd", Typeflag: tar.TypeReg, Mode: 0o644, Size: 6, Uid: 33, Gid: 33})
	_, _ = tw.Write([]byte("hello\n"))
	_ = tw.Close()
	l, _, err := store.PutLayer("", "", nil, "", false, nil, &layer)
	if err != nil {
		t.Fatal(err)
	}
	img, err := store.CreateImage("", []string{"localhost/test:1"}, l.ID, "", nil)
	if err != nil {
		t.Fatal(err)
	}

	rootfs, err := MountRootfs(store, "web-app", img.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(rootfs, "etc/motd"))
	if err != nil || string(b) != "hello\n" {
		t.Errorf("rootfs etc/motd: %q, %v", b, err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "stale"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A second MountRootfs of the same name replaces the stale container.
	rootfs2, err := MountRootfs(store, "web-app", img.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(rootfs2, "stale")); !os.IsNotExist(err) {
		t.Errorf("the stale container's file is still there: %v", err)
	}
	if err := RemoveRootfs(store, "web-app"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Container("web-app"); err == nil {
		t.Error("container still exists after RemoveRootfs")
	}
	if err := RemoveRootfs(store, "web-app"); err != nil {
		t.Errorf("RemoveRootfs of a missing container: %v", err)
	}
}

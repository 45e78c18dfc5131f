package pod

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/podbox/podbox/sandbox/podproto"
	"golang.org/x/sys/unix"
)

// TestFileWatcher: a directory is watched with its subdirectories, one
// made later too; ignored names are not; a file mount sees only its name.
func TestFileWatcher(t *testing.T) {
	root := t.TempDir()
	src, other := filepath.Join(root, "src"), filepath.Join(root, "other")
	for _, d := range []string{filepath.Join(src, "lib"), filepath.Join(src, ".git"), other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "inotify")
	defer f.Close()
	w := &fileWatcher{fd: fd, dirs: map[int32]*watchDir{}}
	web := &container{spec: &podproto.Container{Name: "web"}}
	cfg := &container{spec: &podproto.Container{Name: "cfg"}}
	link := filepath.Join(root, "link")
	if err := os.Symlink(src, link); err != nil {
		t.Fatal(err)
	}
	w.addRoot(web, link) // followed, and named as given
	w.addRoot(cfg, filepath.Join(other, "app.conf"))

	// changes writes the files and returns "ctr path" for what the
	// watcher reports.
	changes := func(files ...string) []string {
		t.Helper()
		for _, p := range files {
			if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		buf := make([]byte, 64<<10)
		_ = f.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		for {
			n, err := f.Read(buf)
			if err != nil {
				break
			}
			w.parse(buf[:n], func(c *container, path string) {
				if s := c.spec.Name + " " + path; !slices.Contains(got, s) {
					got = append(got, s)
				}
			})
		}
		slices.Sort(got)
		return got
	}
	check := func(got []string, want ...string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	check(changes(filepath.Join(src, "lib", "m.py")), "web "+filepath.Join(link, "lib", "m.py"))
	check(changes(filepath.Join(src, ".git", "index"), filepath.Join(src, "m.py~"), filepath.Join(other, "x")))
	check(changes(filepath.Join(other, "app.conf")), "cfg "+filepath.Join(other, "app.conf"))
	// A directory made later: its creation, then a file in it.
	newDir := filepath.Join(link, "new")
	if err := os.Mkdir(newDir, 0o755); err != nil {
		t.Fatal(err)
	}
	check(changes(), "web "+newDir)
	check(changes(filepath.Join(newDir, "n.py")), "web "+filepath.Join(newDir, "n.py"))
}

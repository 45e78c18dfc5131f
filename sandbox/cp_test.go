package sandbox

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSplitPodPath(t *testing.T) {
	for _, tc := range []struct {
		arg, pod, path string
		ok             bool
	}{
		{"web:/tmp/x", "web", "/tmp/x", true},
		{"web:rel", "web", "rel", true},
		{"web:", "web", "", true},
		{"/tmp/x", "", "/tmp/x", false},
		{"./a:b", "", "./a:b", false},
		{":x", "", ":x", false},
		{"Web:x", "", "Web:x", false},
	} {
		pod, p, ok := splitPodPath(tc.arg)
		if pod != tc.pod || p != tc.path || ok != tc.ok {
			t.Errorf("%q: got %q %q %v; want %q %q %v", tc.arg, pod, p, ok, tc.pod, tc.path, tc.ok)
		}
	}
}

func TestSplitLast(t *testing.T) {
	for _, tc := range []struct{ in, dir, base string }{
		{"/tmp/x", "/tmp/", "x"},
		{"/tmp/x/", "/tmp/", "x"},
		{"/x", "/", "x"},
		{"x", ".", "x"},
		{"/tmp/..", "/tmp/..", ""},
		{"/tmp/.", "/tmp/.", ""},
	} {
		if dir, base := splitLast(tc.in); dir != tc.dir || base != tc.base {
			t.Errorf("%q: got %q %q; want %q %q", tc.in, dir, base, tc.dir, tc.base)
		}
	}
}

// testCopier is a copier whose container root is a directory of the test.
func testCopier(t *testing.T, root string, in bool) (*copier, *bytes.Buffer) {
	t.Helper()
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	var warn bytes.Buffer
	return &copier{o: CopyOptions{Warn: &warn}, in: in, rootFd: fd, ctrDesc: "pod:"}, &warn
}

// TestCopyStaysInRoot: the container's symbolic links, absolute or full of
// "..", resolve inside its root, whichever way the copy goes.
func TestCopyStaysInRoot(t *testing.T) {
	tmp := t.TempDir()
	root, outside := filepath.Join(tmp, "root"), filepath.Join(tmp, "outside")
	for _, d := range []string{root + "/tmp", root + "/etc", outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, outside+"/victim", "original")
	write(t, root+"/etc/passwd", "root:x:0:0")
	write(t, tmp+"/payload", "evil")
	for name, target := range map[string]string{
		"abs":  outside,
		"rel":  "../../../../../../.." + outside,
		"file": outside + "/victim",
	} {
		if err := os.Symlink(target, root+"/tmp/"+name); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := testCopier(t, root, true)
	for _, dst := range []string{"/tmp/abs/victim", "/tmp/rel/victim", "/../../../../.." + outside + "/victim"} {
		if err := c.copyIn(tmp+"/payload", dst); !errors.Is(err, ErrCopyTarget) {
			t.Errorf("copy to %s: got %v; want ErrCopyTarget", dst, err)
		}
	}
	// A link where the file goes is replaced.
	if err := c.copyIn(tmp+"/payload", "/tmp/file"); err != nil {
		t.Fatal(err)
	}
	if got := read(t, root+"/tmp/file"); got != "evil" {
		t.Errorf("/tmp/file: %q; want the copy", got)
	}
	if got := read(t, outside+"/victim"); got != "original" {
		t.Errorf("outside/victim: %q; want it untouched", got)
	}

	// Copied out, a link to the host's files reads the container's.
	out := filepath.Join(tmp, "out")
	if err := os.Symlink("/etc/passwd", root+"/tmp/pw"); err != nil {
		t.Fatal(err)
	}
	c, warn := testCopier(t, root, false)
	if err := c.copyOut("/tmp/pw", out); err != nil {
		t.Fatal(err)
	}
	if got := read(t, out); got != "root:x:0:0" {
		t.Errorf("copied out /tmp/pw: %q; want the container's /etc/passwd", got)
	}
	// Below the named path, links are skipped: only the file replaced
	// above comes out.
	if err := c.copyOut("/tmp", filepath.Join(tmp, "outdir")); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Join(tmp, "outdir")); len(ents) != 1 || ents[0].Name() != "file" {
		t.Errorf("copied out /tmp: %v; want the file alone", ents)
	}
	if !strings.Contains(warn.String(), "skipping symlink") {
		t.Errorf("warnings %q; want skipping symlink", warn.String())
	}
}

// TestCopyTypeClashes: a directory where a file comes and the reverse are
// errors that leave the target as it was.
func TestCopyTypeClashes(t *testing.T) {
	tmp := t.TempDir()
	root := filepath.Join(tmp, "root")
	if err := os.MkdirAll(root+"/d/sub", 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, root+"/d/f", "in the container")
	write(t, tmp+"/afile", "mine")
	c, _ := testCopier(t, root, false)
	if err := c.copyOut("/d", tmp+"/afile"); !errors.Is(err, ErrCopyTarget) {
		t.Errorf("directory onto a file: %v; want ErrCopyTarget", err)
	}
	if got := read(t, tmp+"/afile"); got != "mine" {
		t.Errorf("afile: %q; want it untouched", got)
	}
	// A local tree with a file where the container has a directory.
	if err := os.MkdirAll(tmp+"/local/d", 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, tmp+"/local/d/sub", "a file")
	c, _ = testCopier(t, root, true)
	if err := unix.Mkfifo(tmp+"/fifo", 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.copyIn(tmp+"/fifo", "/d"); err == nil || !strings.Contains(err.Error(), "not a regular file or directory") {
		t.Errorf("a FIFO: %v; want it refused (and not waited on)", err)
	}
	if err := c.copyIn(tmp+"/local/d", "/"); !errors.Is(err, ErrCopyTarget) || !strings.Contains(err.Error(), "pod:/d/sub: is a directory") {
		t.Errorf("file onto a directory: %v; want pod:/d/sub: is a directory", err)
	}
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

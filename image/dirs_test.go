package image

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestCheckDir(t *testing.T) {
	base := t.TempDir()
	mk := func(name string, mode os.FileMode) string {
		p := filepath.Join(base, name)
		if err := os.Mkdir(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	own := mk("own", 0o700)
	readable := mk("podbox", 0o755)
	writable := mk("writable", 0o777)
	link := filepath.Join(base, "link")
	if err := os.Symlink(own, link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		ok         bool
	}{
		{"missing", filepath.Join(base, "missing"), true},
		{"own", own, true},
		{"readable by others", readable, true},
		{"writable by others", writable, false},
		{"link", link, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckDir(tc.path)
			if (err == nil) != tc.ok {
				t.Fatalf("CheckDir(%s) = %v, want ok=%v", tc.path, err, tc.ok)
			}
			var de *DirError
			if err != nil && (!errors.As(err, &de) || de.Path != tc.path || de.Hint() == "") {
				t.Fatalf("CheckDir(%s) = %v, want a DirError naming it with a hint", tc.path, err)
			}
		})
	}
	if fi, _ := os.Stat(readable); fi.Mode().Perm() != 0o700 {
		t.Errorf("an own directory readable by others is %v, want 0700", fi.Mode().Perm())
	}
	if os.Geteuid() == 0 {
		theirs := mk("theirs", 0o700)
		if err := os.Chown(theirs, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if err := CheckDir(theirs); !errors.Is(err, fs.ErrPermission) {
			t.Errorf("CheckDir of another user's directory = %v, want permission denied", err)
		}
	}
}

func TestCheckRootParent(t *testing.T) {
	base := t.TempDir()
	open := filepath.Join(base, "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := CheckRoot(filepath.Join(open, "podbox")); err == nil {
		t.Error("CheckRoot under a 0777 parent succeeded")
	}
	if err := os.Chmod(open, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	if err := CheckRoot(filepath.Join(open, "podbox")); err != nil {
		t.Errorf("CheckRoot under a sticky parent (as /tmp): %v", err)
	}
}

func TestMkdirOwn(t *testing.T) {
	root := filepath.Join(t.TempDir(), "podbox")
	dir := filepath.Join(root, "pods", "web")
	if err := MkdirOwn(root, dir); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{root, filepath.Dir(dir), dir} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v, want 0700", p, fi.Mode(), err)
		}
	}
	if err := MkdirOwn(root, filepath.Join(root, "..", "elsewhere")); err == nil {
		t.Error("MkdirOwn outside its root succeeded")
	}
}

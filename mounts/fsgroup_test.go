package mounts

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestFSGroupApply(t *testing.T) {
	gid := os.Getgid() // the only group a test can give files to
	for _, tc := range []struct {
		name           string
		readOnly       bool
		onRootMismatch bool
		rootMode       fs.FileMode
		file, sub      fs.FileMode
	}{
		{name: "read-write", rootMode: 0o777, file: 0o660, sub: 0o770 | fs.ModeSetgid},
		{name: "read-only", readOnly: true, rootMode: 0o755, file: 0o640, sub: 0o750 | fs.ModeSetgid},
		{name: "OnRootMismatch, root right: untouched", onRootMismatch: true, rootMode: 0o770 | fs.ModeSetgid, file: 0o600, sub: 0o700},
		{name: "OnRootMismatch, root wrong", onRootMismatch: true, rootMode: 0o755, file: 0o660, sub: 0o770 | fs.ModeSetgid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "sub", "f"), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("sub/f", filepath.Join(dir, "link")); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tc.rootMode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(filepath.Join(dir, "sub"), 0o700); err != nil {
				t.Fatal(err)
			}
			g := &fsGroup{gid: gid, onRootMismatch: tc.onRootMismatch}
			if err := g.applyAt(dir, tc.readOnly); err != nil {
				t.Fatal(err)
			}
			mode := func(p string) fs.FileMode {
				fi, err := os.Lstat(filepath.Join(dir, p))
				if err != nil {
					t.Fatal(err)
				}
				return fi.Mode() & (fs.ModePerm | fs.ModeSetgid)
			}
			want := func(p string, m fs.FileMode) {
				if got := mode(p); got != m {
					t.Errorf("%s: mode %v, want %v", p, got, m)
				}
			}
			want("sub/f", tc.file)
			want("sub", tc.sub)
			if !tc.onRootMismatch || tc.rootMode&fs.ModeSetgid == 0 {
				want(".", tc.rootMode|fs.ModeSetgid|map[bool]fs.FileMode{false: 0o770, true: 0o550}[tc.readOnly])
			}
		})
	}
}

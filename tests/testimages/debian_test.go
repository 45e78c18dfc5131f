package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
)

// writeTree writes entries as mmdebstrap does: names under "./".
func writeTree(t *testing.T, entries []entry) string {
	t.Helper()
	for i := range entries {
		entries[i].hdr.Name = "./" + entries[i].hdr.Name
		if entries[i].hdr.Typeflag == tar.TypeLink {
			entries[i].hdr.Linkname = "./" + entries[i].hdr.Linkname
		}
	}
	data, err := tarLayer(append([]entry{dir("", 0o755)}, entries...))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "tree.tar")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTreeDiffLayer(t *testing.T) {
	lower := writeTree(t, []entry{
		dir("etc", 0o755),
		file("etc/same", 0o644, []byte("same\n")),
		file("etc/changed", 0o644, []byte("old\n")),
		file("etc/chowned", 0o644, []byte("x\n")),
		dir("gone", 0o755),
		file("gone/file", 0o644, []byte("gone\n")),
		file("etc/gonefile", 0o644, []byte("gone\n")),
		dir("usr", 0o755),
		dir("usr/bin", 0o755),
		file("usr/bin/perl", 0o755, []byte("perl 1\n")),
		hardlink("usr/bin/perl5", "usr/bin/perl"),
	})
	upper := writeTree(t, []entry{
		dir("etc", 0o755),
		file("etc/same", 0o644, []byte("same\n")),
		file("etc/changed", 0o644, []byte("new\n")),
		owned(file("etc/chowned", 0o644, []byte("x\n")), 33, 4),
		dir("var", 0o755),
		owned(dir("var/log", 0o755), 0, 4),
		owned(file("var/log/new.log", 0o640, nil), 33, 4),
		dir("usr", 0o755),
		dir("usr/bin", 0o755),
		file("usr/bin/perl", 0o755, []byte("perl 2\n")),
		hardlink("usr/bin/perl5", "usr/bin/perl"),
	})
	lt, err := readTree(lower)
	if err != nil {
		t.Fatal(err)
	}
	ut, err := readTree(upper)
	if err != nil {
		t.Fatal(err)
	}
	keep, whiteouts := treeDiff(lt, ut)
	if want := []string{"etc/gonefile", "gone"}; !reflect.DeepEqual(whiteouts, want) {
		t.Errorf("whiteouts = %q, want %q", whiteouts, want)
	}
	data, err := copyTree(upper, keep, whiteouts)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]tar.Header{}
	var names []string
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = *h
		names = append(names, h.Name)
	}
	sort.Strings(names)
	want := []string{
		"etc/", "etc/.wh.gonefile", "etc/changed", "etc/chowned", ".wh.gone",
		"usr/", "usr/bin/", "usr/bin/perl", "usr/bin/perl5",
		"var/", "var/log/", "var/log/new.log",
	}
	sort.Strings(want)
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("layer entries = %q, want %q", names, want)
	}
	if h := got["var/log/new.log"]; h.Uid != 33 || h.Gid != 4 || h.Mode != 0o640 {
		t.Errorf("var/log/new.log: uid %d gid %d mode %o, want 33 4 640", h.Uid, h.Gid, h.Mode)
	}
	if h := got["usr/bin/perl5"]; h.Typeflag != tar.TypeLink || h.Linkname != "usr/bin/perl" {
		t.Errorf("usr/bin/perl5: type %c link %q, want a hard link to usr/bin/perl", h.Typeflag, h.Linkname)
	}
}

package pod

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDiskUsage(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "a/b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a/b/big"), make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(dir, "a/b/big"), filepath.Join(dir, "again")); err != nil {
		t.Fatal(err)
	}
	used, err := diskUsage(dir)
	if err != nil {
		t.Fatal(err)
	}
	// 1 MiB of data once (the hard link counts once), plus the directories.
	if used < 1<<20 || used > 1<<20+64<<10 {
		t.Errorf("diskUsage = %d, want 1 MiB and a little", used)
	}
}

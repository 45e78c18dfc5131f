package probe

import (
	"bytes"
	"context"
	"debug/elf"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/podbox/podbox/sandbox/ociruntime"
	"github.com/podbox/podbox/tests/nstest"
)

// TestMain plays the roles podbox's main does: a child waiting for its user
// namespace map.
func TestMain(m *testing.M) { nstest.Main(m) }

func TestFindByPath(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	bin := filepath.Join(t.TempDir(), "myrunc")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho myrunc version 9\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r, _, err := Find(context.Background(), bin)
	if err != nil {
		t.Fatal(err)
	}
	if r.Path != bin || r.Name != "myrunc" {
		t.Errorf("got %+v", r)
	}
	if v := r.Version(); v != "myrunc version 9" {
		t.Errorf("Version: got %q", v)
	}
	if _, _, err := Find(context.Background(), "no-such-runtime-podbox"); err == nil {
		t.Error("no error for a missing runtime")
	}
}

func TestCache(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	c := loadCache()
	c["/usr/sbin/runc"] = cacheEntry{Stamp: "1/2", OK: true}
	saveCache(c)
	if got := loadCache(); got["/usr/sbin/runc"] != c["/usr/sbin/runc"] {
		t.Errorf("got %+v", got)
	}
}

func TestProbeProgram(t *testing.T) {
	for arch, pc := range probeCode {
		t.Run(arch, func(t *testing.T) {
			prog, err := probeProgram(arch)
			if err != nil {
				t.Fatal(err)
			}
			f, err := elf.NewFile(bytes.NewReader(prog))
			if err != nil {
				t.Fatal(err)
			}
			if f.Machine != pc.machine || f.Type != elf.ET_EXEC || f.Class != elf.ELFCLASS64 || len(f.Progs) != 1 {
				t.Fatalf("header: %+v, %d program headers", f.FileHeader, len(f.Progs))
			}
			p := f.Progs[0]
			if p.Type != elf.PT_LOAD || p.Off != 0 || p.Filesz != uint64(len(prog)) || p.Flags != elf.PF_R|elf.PF_X {
				t.Errorf("segment: %+v", p.ProgHeader)
			}
			code := prog[f.Entry-p.Vaddr:]
			if !bytes.Equal(code, pc.code) {
				t.Errorf("entry point at % x, want % x", code, pc.code)
			}
		})
	}
	if _, err := probeProgram("mips"); err == nil {
		t.Error("no error for an architecture without code")
	}
}

// TestCacheStamp: a result is keyed and stamped by podbox's own executable
// too.
func TestCacheStamp(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "runc")
	if err := os.WriteFile(bin, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if s := cacheStamp(bin); s != binaryStamp(bin)+" "+binaryStamp(exe) || binaryStamp(bin) == "" {
		t.Errorf("stamp %q lacks the runtime's or podbox's", s)
	}
	if k := cacheKey(bin); k != bin+" podbox:"+exe {
		t.Errorf("key %q lacks the runtime's or podbox's path", k)
	}
}

// TestProbe runs each runtime found here in a user namespace of the test
// user: a re-exec of this test binary as TestProbeInside.
func TestProbe(t *testing.T) {
	if len(ociruntime.Candidates()) == 0 {
		t.Skip("no runc or crun installed: sudo apt-get install runc")
	}
	nstest.RunInside(t, "TestProbeInside")
}

// TestProbeInside reports each candidate's probe result. Which runtime
// works depends on the host; at least one must.
func TestProbeInside(t *testing.T) {
	nstest.Inside(t)
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	ok := 0
	for _, r := range ociruntime.Candidates() {
		start := time.Now()
		res, err := Probe(context.Background(), r)
		t.Logf("%s (%s): %v %v in %v", r.Path, r.Version(), res, err, time.Since(start))
		if err == nil {
			ok++
		}
	}
	if ok == 0 {
		t.Fatal("no runtime passed the probe")
	}
	// crun 1.8 refuses hybrid cgroups but runs with them hidden.
	if layout := cgroupLayout(); layout != "cgroup v2" {
		if r, err := ociruntime.Named("crun"); err == nil {
			res, err := Probe(context.Background(), r)
			if err != nil || !res.CgroupTmpfs || res.Why != layout {
				t.Errorf("crun on %s: %+v, %v; want it to pass with an empty /sys/fs/cgroup", layout, res, err)
			}
		}
	}
	r, res, err := Find(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, res2, err := Find(context.Background(), ""); err != nil || res2 != res {
		t.Fatalf("cached Find: %v, %v; want %v", res2, err, res)
	}
	if _, _, err := Find(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	t.Logf("Find: %s %v; cached Find took %v", r.Path, res, time.Since(start))
}

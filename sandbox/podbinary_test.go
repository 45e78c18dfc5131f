package sandbox

import (
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

func build(version string, settings ...string) *debug.BuildInfo {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Path: "github.com/podbox/podbox/cmd/podbox",
		Main: debug.Module{Path: "github.com/podbox/podbox", Version: version}}
	for i := 0; i+1 < len(settings); i += 2 {
		bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
	}
	return bi
}

func TestSameBuild(t *testing.T) {
	rev := "0123456789abcdef0123456789abcdef01234567"
	checkout := []string{"vcs", "git", "vcs.revision", rev, "vcs.time", "2026-11-28T10:00:00Z", "vcs.modified", "false"}
	withCgo := append([]string{"CGO_ENABLED", "1", "-tags", ""}, checkout...)
	tests := []struct {
		name        string
		self, other *debug.BuildInfo
		same        bool
	}{
		{"released", build("v1.2.0"), build("v1.2.0"), true},
		{"another release", build("v1.2.0"), build("v1.1.0"), false},
		{"same checkout", build("(devel)", checkout...), build("(devel)", checkout...), true},
		{"same checkout, other build settings", build("(devel)", withCgo...), build("(devel)", checkout...), true},
		{"other revision", build("(devel)", checkout...), build("(devel)", "vcs", "git", "vcs.revision", "f"+rev[1:], "vcs.time", "2026-11-28T10:00:00Z", "vcs.modified", "false"), false},
		{"modified and not", build("(devel)", checkout...), build("(devel)", "vcs", "git", "vcs.revision", rev, "vcs.time", "2026-11-28T10:00:00Z", "vcs.modified", "true"), false},
		{"revision only in one", build("(devel)", checkout...), build("(devel)"), false},
		{"nothing to compare", build("(devel)"), build("(devel)"), false},
		{"same main.version", build("(devel)", "-ldflags", "-X main.version=0.1.0-dev+756ad66"), build("(devel)", "-ldflags", "-s -w -X main.version=0.1.0-dev+756ad66"), true},
		{"same main.version, other flag spelling", build("(devel)", "-ldflags", "-X=main.version=v1"), build("(devel)", "-ldflags", "--X main.version=v1 -s"), true},
		{"other main.version", build("(devel)", "-ldflags", "-X main.version=0.1.0-dev+756ad66"), build("(devel)", "-ldflags", "-s -w -X main.version=0.1.0-dev+be52d02"), false},
		{"main.version only in one", build("(devel)", "-ldflags", "-X main.version=v1"), build("(devel)", "-ldflags", "-s -w"), false},
		{"another -X is no version", build("(devel)", "-ldflags", "-X main.commit=v1"), build("(devel)", "-ldflags", "-X main.commit=v1"), false},
		{"other Go", build("v1.2.0"), func() *debug.BuildInfo { b := build("v1.2.0"); b.GoVersion = "go1.25.0"; return b }(), false},
		{"other module", build("v1.2.0"), func() *debug.BuildInfo { b := build("v1.2.0"); b.Main.Path = "example.com/fork"; return b }(), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := sameBuild(tc.self, tc.other)
			if (err == nil) != tc.same {
				t.Errorf("sameBuild: %v, want same %v", err, tc.same)
			}
		})
	}
}

// withRevision gives self, and every binary read, a VCS revision: go test
// records none, and a build without one is never taken for podbox's.
func withRevision(t *testing.T, self *debug.BuildInfo) {
	const rev = "0123456789abcdef0123456789abcdef01234567"
	add := func(bi *debug.BuildInfo) {
		if setting(bi, "vcs.revision") == "" {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: "vcs.revision", Value: rev})
		}
	}
	add(self)
	orig := readBuildInfo
	readBuildInfo = func(path string) (*debug.BuildInfo, error) {
		bi, err := orig(path)
		if err == nil {
			add(bi)
		}
		return bi, err
	}
	t.Cleanup(func() { readBuildInfo = orig })
}

// copyFile copies src to dst, executable.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestFindPodBinary(t *testing.T) {
	// This test binary plays podbox-pod: its build information is this
	// process's own.
	self, ok := debug.ReadBuildInfo()
	if !ok {
		t.Skip("the test binary has no build information")
	}
	withRevision(t, self)
	testBinary, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	goProgram := func(t *testing.T, path string) { copyFile(t, testBinary, path) }
	script := func(t *testing.T, path string) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name  string
		make  map[string]func(*testing.T, string) // files under the temp dir
		self  *debug.BuildInfo
		found string // relative to the temp dir; "": none
		why   string // found in why when none
		stale bool
	}{
		{name: "next to podbox", make: map[string]func(*testing.T, string){"bin/podbox-pod": goProgram}, found: "bin/podbox-pod"},
		{name: "in libexec", make: map[string]func(*testing.T, string){"libexec/podbox/podbox-pod": goProgram}, found: "libexec/podbox/podbox-pod"},
		{name: "next to podbox first", make: map[string]func(*testing.T, string){"bin/podbox-pod": goProgram, "libexec/podbox/podbox-pod": goProgram}, found: "bin/podbox-pod"},
		{name: "a stale one next to podbox, a good one in libexec", make: map[string]func(*testing.T, string){"bin/podbox-pod": script, "libexec/podbox/podbox-pod": goProgram}, found: "libexec/podbox/podbox-pod"},
		{name: "none", why: "podbox-pod not found next to "},
		{name: "not a Go program", make: map[string]func(*testing.T, string){"bin/podbox-pod": script}, why: "is not a Go program of podbox's", stale: true},
		{name: "podbox says nothing of its build", make: map[string]func(*testing.T, string){"bin/podbox-pod": goProgram}, self: build("(devel)"), why: "may be of another build: podbox's build has no module version", stale: true},
		{name: "another build", make: map[string]func(*testing.T, string){"bin/podbox-pod": goProgram}, self: build("v9.9.9"), why: "is of another build", stale: true},
		{name: "not executable", make: map[string]func(*testing.T, string){"bin/podbox-pod": func(t *testing.T, p string) {
			goProgram(t, p)
			if err := os.Chmod(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}}, why: "is not an executable file", stale: true},
		{name: "a directory", make: map[string]func(*testing.T, string){"bin/podbox-pod/x": script}, why: "is not an executable file", stale: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			exe := filepath.Join(dir, "bin", "podbox")
			script(t, exe)
			for rel, mk := range tc.make {
				mk(t, filepath.Join(dir, rel))
			}
			s := self
			if tc.self != nil {
				s = tc.self
			}
			b := findPodBinaryFrom(exe, s)
			want := ""
			if tc.found != "" {
				want = filepath.Join(dir, tc.found)
			}
			if b.path != want {
				t.Fatalf("found %q (%s), want %q", b.path, b.why, want)
			}
			if want == "" && !strings.Contains(b.why, tc.why) {
				t.Errorf("why %q, want it to say %q", b.why, tc.why)
			}
			if b.otherBuild != tc.stale {
				t.Errorf("otherBuild %v, want %v (%s)", b.otherBuild, tc.stale, b.why)
			}
		})
	}
}

// TestPodBinaryCache: a file replaced by another build is checked again.
func TestPodBinaryCache(t *testing.T) {
	self, ok := debug.ReadBuildInfo()
	if !ok {
		t.Skip("the test binary has no build information")
	}
	withRevision(t, self)
	testBinary, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "podbox")
	pod := filepath.Join(dir, "podbox-pod")
	copyFile(t, testBinary, pod)
	if b := findPodBinaryFrom(exe, self); b.path != pod {
		t.Fatalf("found %q (%s), want %q", b.path, b.why, pod)
	}
	if err := os.WriteFile(pod, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Even if the new file had the same modification time, its size differs.
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(pod, old, old); err != nil {
		t.Fatal(err)
	}
	if b := findPodBinaryFrom(exe, self); b.path != "" {
		t.Errorf("found %q after it was replaced by a script", b.path)
	}
}

func TestPodProcessInfo(t *testing.T) {
	// The test binary has no podbox-pod next to it.
	v, warn := PodProcessInfo()
	if !strings.HasPrefix(v, "podbox itself (") || warn {
		t.Errorf("PodProcessInfo() = %q, %v; want podbox itself, no warning", v, warn)
	}
}

package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var logT0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// writeRun appends CRI records to run's file in dir, line i at logT0+i s.
func writeRun(t *testing.T, dir string, run int, first int, lines ...string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(runLog(dir, run), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i, l := range lines {
		ts := logT0.Add(time.Duration(first+i) * time.Second).Format(time.RFC3339Nano)
		if _, err := f.WriteString(ts + " stdout F " + l + "\n"); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFollowerRuns(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "web")
	writeRun(t, dir, 0, 0, "a", "b")
	var out strings.Builder
	m := newLogMux([]logSource{{label: "web", dir: dir}}, &out)
	defer m.close()
	m.prefix = false
	m.poll()
	writeRun(t, dir, 0, 2, "c")
	writeRun(t, dir, 1, 3, "d")
	m.poll()
	writeRun(t, dir, 1, 4, "e")
	m.poll()
	if got, want := out.String(), "a\nb\nc\nd\ne\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestFollowerOptions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		run   int
		tail  int
		since time.Duration
		limit int64
		want  string
	}{
		{"all", 1, -1, 0, -1, "c\nd\ne\n"},
		{"previous", 0, -1, 0, -1, "a\nb\n"},
		{"tail 2", 1, 2, 0, -1, "d\ne\n"},
		{"tail 0", 1, 0, 0, -1, ""},
		{"tail more than there is", 1, 10, 0, -1, "c\nd\ne\n"},
		{"since", 1, -1, 3 * time.Second, -1, "d\ne\n"},
		{"tail then since", 1, 2, 4 * time.Second, -1, "e\n"},
		{"limit", 1, -1, 0, 3, "c\nd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "web")
			writeRun(t, dir, 0, 0, "a", "b")
			writeRun(t, dir, 1, 2, "c", "d", "e")
			var out strings.Builder
			m := newLogMux([]logSource{{label: "web", dir: dir}}, &out)
			defer m.close()
			m.prefix = false
			f := m.fs[0]
			f.fixed, f.left = true, tc.limit
			if tc.since > 0 {
				f.since = logT0.Add(tc.since)
			}
			if !f.open(tc.run) {
				t.Fatal("open")
			}
			if tc.tail >= 0 {
				f.skipToTail(tc.tail)
			}
			m.poll()
			if got := out.String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLogMuxPrefix(t *testing.T) {
	base := t.TempDir()
	var srcs []logSource
	for i, c := range []string{"init", "web"} {
		dir := filepath.Join(base, c)
		writeRun(t, dir, 0, i, c+" says hi")
		srcs = append(srcs, logSource{label: "[pod/p/" + c + "]", dir: dir})
	}
	var out strings.Builder
	m := newLogMux(srcs, &out)
	defer m.close()
	m.bracket, m.timestamps = true, true
	m.poll()
	ts := func(i int) string { return logT0.Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano) }
	want := "[pod/p/init] " + ts(0) + " init says hi\n[pod/p/web] " + ts(1) + " web says hi\n"
	if got := out.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestLogContainersFromFiles checks that a pod known only by its data
// directory (no spec, no status) still has its containers' logs.
func TestLogContainersFromFiles(t *testing.T) {
	dirs := Dirs{Run: filepath.Join(t.TempDir(), "gone"), Data: t.TempDir()}
	for _, c := range []string{"web", "init"} {
		writeRun(t, dirs.containerLogDir(c), 0, 0, "x")
		if err := os.Symlink(filepath.Join(c, "0.log"), dirs.LogPath(c)); err != nil {
			t.Fatal(err)
		}
	}
	got := logContainers(podProbe{exists: true}, dirs)
	if strings.Join(got, ",") != "init,web" {
		t.Errorf("got %q, want init and web", got)
	}
}

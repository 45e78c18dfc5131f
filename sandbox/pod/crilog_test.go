package pod

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCRIWriter(t *testing.T) {
	long := strings.Repeat("x", maxLogLine+10)
	for _, tc := range []struct {
		name string
		in   string
		want []string
	}{
		{"lines", "a\nb\n", []string{"stdout F a", "stdout F b"}},
		{"no final newline", "a\nb", []string{"stdout F a", "stdout F b"}},
		{"empty line", "\n", []string{"stdout F "}},
		{"long line", long + "\n", []string{"stdout P " + long[:maxLogLine], "stdout F " + long[maxLogLine:]}},
		{"long last line", "a\n" + long, []string{"stdout F a", "stdout P " + long[:maxLogLine], "stdout F " + long[maxLogLine:]}},
		{"line of readBuf", long[:readBuf-1] + "\n" + long[:readBuf] + "\nb\n", []string{"stdout F " + long[:readBuf-1], "stdout F " + long[:readBuf], "stdout F b"}},
		{"line of maxLogLine", long[:maxLogLine-1] + "\n" + long[:maxLogLine] + "\n", []string{"stdout F " + long[:maxLogLine-1], "stdout P " + long[:maxLogLine], "stdout F "}},
		{"two long lines", long + "\n" + long + "\n", []string{"stdout P " + long[:maxLogLine], "stdout F " + long[maxLogLine:], "stdout P " + long[:maxLogLine], "stdout F " + long[maxLogLine:]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "c")
			path := filepath.Join(dir, "0.log")
			w, err := openCRILog(dir, "", 0)
			if err != nil {
				t.Fatal(err)
			}
			ts := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
			w.now = func() time.Time { return ts }
			w.copyStream("stdout", strings.NewReader(tc.in))
			w.Close()
			b, _ := os.ReadFile(path)
			got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
			if len(got) != len(tc.want) {
				t.Fatalf("got %d records %q, want %d", len(got), got, len(tc.want))
			}
			for i := range got {
				want := ts.Format(time.RFC3339Nano) + " " + tc.want[i]
				if got[i] != want {
					t.Errorf("record %d: got %.80q, want %.80q", i, got[i], want)
				}
			}
		})
	}
}

// TestCRILogRuns checks that each run gets its own file, that the link
// follows the current one and that only the current and previous runs'
// files are kept.
func TestCRILogRuns(t *testing.T) {
	logs := t.TempDir()
	dir, link := filepath.Join(logs, "web"), filepath.Join(logs, "web.log")
	for run := int32(0); run < 4; run++ {
		w, err := openCRILog(dir, link, run)
		if err != nil {
			t.Fatal(err)
		}
		w.copyStream("stdout", strings.NewReader(fmt.Sprintf("run %d\n", run)))
		w.Close()
		b, err := os.ReadFile(link)
		if err != nil || !strings.HasSuffix(string(b), fmt.Sprintf(" stdout F run %d\n", run)) {
			t.Fatalf("run %d: link reads %q, %v", run, b, err)
		}
		ents, _ := os.ReadDir(dir)
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		want := []string{fmt.Sprintf("%d.log", run)}
		if run > 0 {
			want = []string{fmt.Sprintf("%d.log", run-1), fmt.Sprintf("%d.log", run)}
		}
		if fmt.Sprint(names) != fmt.Sprint(want) {
			t.Errorf("run %d: files %v, want %v", run, names, want)
		}
	}
}

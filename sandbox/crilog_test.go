package sandbox

import (
	"testing"
	"time"
)

// The pod's PID 1 writes the records (sandbox/pod crilog.go); the CLI reads
// them back.
func TestParseCRILine(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, tc := range []struct {
		name string
		in   string
		ok   bool
		want LogRecord
	}{
		{"full", ts.Format(time.RFC3339Nano) + " stdout F a b", true, LogRecord{Time: ts, Stream: "stdout", Line: "a b"}},
		{"partial", ts.Format(time.RFC3339Nano) + " stderr P x", true, LogRecord{Time: ts, Stream: "stderr", Partial: true, Line: "x"}},
		{"empty line", ts.Format(time.RFC3339Nano) + " stdout F ", true, LogRecord{Time: ts, Stream: "stdout"}},
		{"no time", "yesterday stdout F a", false, LogRecord{}},
		{"short", "x", false, LogRecord{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, ok := parseCRILine(tc.in)
			if ok != tc.ok || !rec.Time.Equal(tc.want.Time) || rec.Stream != tc.want.Stream || rec.Partial != tc.want.Partial || rec.Line != tc.want.Line {
				t.Errorf("parseCRILine(%q) = %+v, %v; want %+v, %v", tc.in, rec, ok, tc.want, tc.ok)
			}
		})
	}
}

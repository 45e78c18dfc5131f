package sandbox

import (
	"strings"
	"time"
)

// LogRecord is one parsed CRI log line.
type LogRecord struct {
	Time    time.Time
	Stream  string // stdout or stderr
	Partial bool
	Line    string
}

// parseCRILine parses one line of a CRI log file (without its newline).
func parseCRILine(s string) (LogRecord, bool) {
	parts := strings.SplitN(s, " ", 4)
	if len(parts) < 3 {
		return LogRecord{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, parts[0])
	if err != nil {
		return LogRecord{}, false
	}
	rec := LogRecord{Time: t, Stream: parts[1], Partial: parts[2] == "P"}
	if len(parts) == 4 {
		rec.Line = parts[3]
	}
	return rec, true
}

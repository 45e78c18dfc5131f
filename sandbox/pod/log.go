package pod

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// Log levels, from the most to the least verbose.
const (
	levelDebug = iota
	levelInfo
	levelWarn
	levelError
)

// logger writes the pod's log lines to its stderr (podbox.log): a
// timestamp, the level and "[podbox:pod] …", as the logrus text lines of
// the other roles read. A Go panic goes to the same stderr, where `up`
// finds its line (upreport.go crashLine).
type logger struct {
	mu    sync.Mutex
	level int
}

var log = &logger{level: levelInfo}

// setLevel sets the level from Work.LogLevel: info at least (the log is a
// file that only a user looking for why reads), debug for more.
func (l *logger) setLevel(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if strings.EqualFold(s, "debug") || strings.EqualFold(s, "trace") {
		l.level = levelDebug
	} else {
		l.level = levelInfo
	}
}

func (l *logger) printf(level int, name, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if level < l.level {
		return
	}
	fmt.Fprintf(os.Stderr, "time=%q level=%s msg=%q\n", time.Now().Format(time.RFC3339), name, "[podbox:pod] "+fmt.Sprintf(format, args...))
}

func (l *logger) debugf(format string, args ...any) { l.printf(levelDebug, "debug", format, args...) }
func (l *logger) infof(format string, args ...any)  { l.printf(levelInfo, "info", format, args...) }
func (l *logger) warnf(format string, args ...any)  { l.printf(levelWarn, "warning", format, args...) }
func (l *logger) errorf(format string, args ...any) { l.printf(levelError, "error", format, args...) }

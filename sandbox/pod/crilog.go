package pod

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxLogLine is the longest line written as one CRI record; longer lines
// are split into partial (P) records, as the kubelet does at 16 KiB.
const maxLogLine = 16 * 1024

// criWriter appends one container's output to its log file in the CRI
// format the kubelet writes: `<RFC3339Nano> stdout|stderr F|P <line>`.
// stdout and stderr share the file; each record is one write.
type criWriter struct {
	mu  sync.Mutex
	f   *os.File
	now func() time.Time
}

// openCRILog opens the log file of a container's run n (its restartCount
// when it starts) in the container's log directory dir: <dir>/<n>.log, as
// the kubelet names them. It points link (if not "") at it, and removes
// the files of the runs before n-1: the current run's file and the
// previous one's stay (logs --previous), never more, whatever the number
// of restarts.
func openCRILog(dir, link string, n int32) (*criWriter, error) {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, err
	}
	name := strconv.Itoa(int(n)) + ".log"
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, err
	}
	if link != "" {
		// A relative target, replaced by a rename: a reader of the link
		// sees the old run's file or the new one's, never nothing.
		tmp := link + ".new"
		_ = os.Remove(tmp)
		if err := os.Symlink(filepath.Join(filepath.Base(dir), name), tmp); err == nil {
			_ = os.Rename(tmp, link)
		}
	}
	if n >= 2 {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			k, err := strconv.Atoi(strings.TrimSuffix(e.Name(), ".log"))
			if err == nil && strings.HasSuffix(e.Name(), ".log") && k < int(n)-1 {
				_ = os.Remove(filepath.Join(dir, e.Name()))
			}
		}
	}
	return &criWriter{f: f, now: time.Now}, nil
}

func (w *criWriter) Close() error { return w.f.Close() }

// readBuf is copyStream's read buffer. Lines longer than it are gathered
// in a buffer of their own, up to maxLogLine, only while there is one: a
// 16 KiB reader per stream was 64 KiB of heap for an idle two-container
// pod, for its whole life.
const readBuf = 4096

// copyStream copies r line by line as stream ("stdout" or "stderr") until EOF.
func (w *criWriter) copyStream(stream string, r io.Reader) {
	br := bufio.NewReaderSize(r, readBuf)
	var long []byte // the start of a line longer than br's buffer
	for {
		frag, err := br.ReadSlice('\n')
		for len(frag) > 0 {
			if len(long) == 0 && frag[len(frag)-1] == '\n' {
				w.record(stream, "F", frag[:len(frag)-1])
				break
			}
			n := min(len(frag), maxLogLine-len(long))
			long, frag = append(long, frag[:n]...), frag[n:]
			switch {
			case long[len(long)-1] == '\n':
				w.record(stream, "F", long[:len(long)-1])
				long = nil
			case len(long) == maxLogLine:
				w.record(stream, "P", long)
				long = long[:0]
			}
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if len(long) > 0 {
				w.record(stream, "F", long) // the last line, without a newline
			}
			return
		}
	}
}

func (w *criWriter) record(stream, tag string, line []byte) {
	var b bytes.Buffer
	b.WriteString(w.now().Format(time.RFC3339Nano))
	b.WriteByte(' ')
	b.WriteString(stream)
	b.WriteByte(' ')
	b.WriteString(tag)
	b.WriteByte(' ')
	b.Write(line)
	b.WriteByte('\n')
	w.mu.Lock()
	_, _ = w.f.Write(b.Bytes())
	w.mu.Unlock()
}

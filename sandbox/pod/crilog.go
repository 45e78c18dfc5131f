package pod

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
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

func openCRILog(path string) (*criWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, err
	}
	return &criWriter{f: f, now: time.Now}, nil
}

func (w *criWriter) Close() error { return w.f.Close() }

// copyStream copies r line by line as stream ("stdout" or "stderr") until EOF.
func (w *criWriter) copyStream(stream string, r io.Reader) {
	br := bufio.NewReaderSize(r, maxLogLine)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			tag := "P"
			if line[len(line)-1] == '\n' {
				line = line[:len(line)-1]
				tag = "F"
			} else if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				tag = "F" // the last line, without a newline
			}
			w.record(stream, tag, line)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
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

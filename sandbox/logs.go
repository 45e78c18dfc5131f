package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
	corev1 "k8s.io/api/core/v1"
)

// logSource is one container's CRI log file and the label its lines get.
type logSource struct {
	label string
	path  string
}

// follower reads a CRI log file as it grows.
type follower struct {
	src     logSource
	off     int64
	rest    []byte // an incomplete last line
	partial strings.Builder
	colour  string
	// fh stays open once the file exists: the lines a pod writes just
	// before it removes its directory are still read.
	fh *os.File
}

// records returns the complete records added since the last call.
func (f *follower) records() []LogRecord {
	if f.fh == nil {
		fh, err := os.Open(f.src.path)
		if err != nil {
			return nil
		}
		f.fh = fh
	}
	fh := f.fh
	if _, err := fh.Seek(f.off, io.SeekStart); err != nil {
		return nil
	}
	b, _ := io.ReadAll(fh)
	f.off += int64(len(b))
	b = append(f.rest, b...)
	var out []LogRecord
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break
		}
		rec, ok := parseCRILine(string(b[:i]))
		b = b[i+1:]
		if !ok {
			continue
		}
		if rec.Partial {
			f.partial.WriteString(rec.Line)
			continue
		}
		if f.partial.Len() > 0 {
			rec.Line = f.partial.String() + rec.Line
			f.partial.Reset()
		}
		out = append(out, rec)
	}
	f.rest = append([]byte(nil), b...)
	return out
}

var colours = []string{"\x1b[36m", "\x1b[33m", "\x1b[32m", "\x1b[35m", "\x1b[34m", "\x1b[31m"}

// logMux prints several containers' logs with `name |` prefixes, as
// `docker compose up` does, coloured on a terminal.
type logMux struct {
	fs         []*follower
	out        io.Writer
	width      int
	colour     bool
	timestamps bool
	prefix     bool
}

func newLogMux(srcs []logSource, out io.Writer) *logMux {
	m := &logMux{out: out, prefix: true}
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		m.colour = true
	}
	for i, s := range srcs {
		m.fs = append(m.fs, &follower{src: s, colour: colours[i%len(colours)]})
		m.width = max(m.width, len(s.label))
	}
	return m
}

// close closes the files the followers hold.
func (m *logMux) close() {
	for _, f := range m.fs {
		if f.fh != nil {
			f.fh.Close()
			f.fh = nil
		}
	}
}

// poll prints what was added to the files since the last poll, in time
// order across files.
func (m *logMux) poll() {
	type line struct {
		f   *follower
		rec LogRecord
	}
	var all []line
	for _, f := range m.fs {
		for _, r := range f.records() {
			all = append(all, line{f, r})
		}
	}
	// A stable sort by time keeps each file's order.
	for i := 1; i < len(all); i++ {
		for j := i; j > 0 && all[j].rec.Time.Before(all[j-1].rec.Time); j-- {
			all[j], all[j-1] = all[j-1], all[j]
		}
	}
	var b strings.Builder
	for _, l := range all {
		if m.prefix {
			label := fmt.Sprintf("%-*s |", m.width, l.f.src.label)
			if m.colour {
				label = l.f.colour + label + "\x1b[0m"
			}
			b.WriteString(label)
			b.WriteByte(' ')
		}
		if m.timestamps {
			b.WriteString(l.rec.Time.Format(time.RFC3339Nano))
			b.WriteByte(' ')
		}
		b.WriteString(l.rec.Line)
		b.WriteByte('\n')
	}
	if b.Len() > 0 {
		_, _ = io.WriteString(m.out, b.String())
	}
}

// LogsOptions say which logs to print.
type LogsOptions struct {
	Pod        string    // required
	Container  string    // "": every container, with a prefix if there are several
	Follow     bool      // keep printing until the container (or pod) will run no more
	Timestamps bool      // print each line's time
	Tail       int       // only the last N lines of each container; -1: all
	Out        io.Writer // required
}

// ErrPodNotFound reports a pod name that has no pod.
var ErrPodNotFound = errors.New("no such pod")

// ErrContainerNotFound reports a container name the pod does not have.
var ErrContainerNotFound = errors.New("no such container in the pod")

// Logs prints a pod's container logs from their CRI files. It needs no user
// namespace: the files are the user's.
func Logs(ctx context.Context, o LogsOptions) error {
	if err := ValidatePodName(o.Pod); err != nil {
		return err
	}
	if err := checkPodsDirs(); err != nil {
		return err
	}
	dirs := PodDirs(o.Pod)
	st := probePod(o.Pod)
	if !st.exists {
		return fmt.Errorf("pod %q: %w", o.Pod, ErrPodNotFound)
	}
	pod := st.pod
	if pod == nil {
		pod = st.spec
	}
	var names []string
	if pod != nil {
		for _, c := range allContainers(pod) {
			names = append(names, c.Name)
		}
	}
	if o.Container != "" {
		found := false
		for _, n := range names {
			found = found || n == o.Container
		}
		if !found {
			return fmt.Errorf("pod %q: %w: %q (it has %s)", o.Pod, ErrContainerNotFound, o.Container, strings.Join(names, ", "))
		}
		names = []string{o.Container}
	}
	var srcs []logSource
	for _, n := range names {
		srcs = append(srcs, logSource{label: n, path: dirs.LogPath(n)})
	}
	m := newLogMux(srcs, o.Out)
	defer m.close()
	m.timestamps = o.Timestamps
	m.prefix = len(srcs) > 1
	if o.Tail >= 0 {
		for _, f := range m.fs {
			skipToTail(f, o.Tail)
		}
	}
	m.poll()
	if !o.Follow {
		return nil
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		st := probePod(o.Pod)
		m.poll()
		if !st.alive || st.pod == nil || followDone(st.pod, o.Container) {
			m.poll()
			return nil
		}
	}
}

// followDone reports whether logs -f has nothing more to wait for: the pod
// finished, or the container terminated and will not restart.
func followDone(pod *corev1.Pod, ctr string) bool {
	if podFinished(pod.Status.Phase) {
		return true
	}
	if ctr == "" {
		return false
	}
	for _, cs := range append(pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses...) {
		if cs.Name != ctr || cs.State.Terminated == nil {
			continue
		}
		switch pod.Spec.RestartPolicy {
		case corev1.RestartPolicyNever:
			return true
		case corev1.RestartPolicyOnFailure:
			return cs.State.Terminated.ExitCode == 0
		}
	}
	return false
}

// skipToTail moves f so that the next read returns the last n records.
func skipToTail(f *follower, n int) {
	recs := f.records()
	if len(recs) <= n {
		f.off, f.rest = 0, nil
		return
	}
	// Re-read from the start and drop the first len-n records.
	f.off, f.rest = 0, nil
	drop := len(recs) - n
	fh, err := os.Open(f.src.path)
	if err != nil {
		return
	}
	defer fh.Close()
	b, _ := io.ReadAll(fh)
	for off, seen := 0, 0; off < len(b); {
		i := bytes.IndexByte(b[off:], '\n')
		if i < 0 {
			break
		}
		rec, ok := parseCRILine(string(b[off : off+i]))
		off += i + 1
		if ok && !rec.Partial {
			seen++
			if seen == drop {
				f.off = int64(off)
				return
			}
		}
	}
}

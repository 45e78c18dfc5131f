package sandbox

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"
	corev1 "k8s.io/api/core/v1"
)

// logSource is one container's CRI log files and the label its lines get.
type logSource struct {
	label string
	dir   string // Dirs.containerLogDir: one <run>.log per run
}

// logRuns lists the runs (restart counts) whose log files dir holds, in
// order. The pod keeps the current run's and the previous one's.
func logRuns(dir string) []int {
	ents, _ := os.ReadDir(dir)
	var runs []int
	for _, e := range ents {
		n, ok := strings.CutSuffix(e.Name(), ".log")
		if k, err := strconv.Atoi(n); ok && err == nil && k >= 0 && e.Type().IsRegular() {
			runs = append(runs, k)
		}
	}
	sort.Ints(runs)
	return runs
}

func runLog(dir string, run int) string { return filepath.Join(dir, strconv.Itoa(run)+".log") }

// follower reads one container's CRI log files as they grow: one run's
// file, or (unless fixed) each run's in turn, moving on when the next run's
// file appears.
type follower struct {
	src     logSource
	colour  string
	run     int  // the run whose file fh is (or was last); -1: none yet
	fixed   bool // only run's file, never a later one's
	off     int64
	rest    []byte // an incomplete last line
	partial strings.Builder
	since   time.Time // records before it are skipped
	left    int64     // bytes it may still print (--limit-bytes); -1: no limit
	// fh stays open once the file exists: the lines a pod writes just
	// before it removes its directory are still read.
	fh *os.File
}

// open makes run's file the one f reads, from its start; false if it
// cannot be opened (not there yet, or removed).
func (f *follower) open(run int) bool {
	fh, err := os.Open(runLog(f.src.dir, run))
	if err != nil {
		return false
	}
	f.closeFile()
	f.fh, f.run, f.off, f.rest = fh, run, 0, nil
	f.partial.Reset()
	return true
}

func (f *follower) closeFile() {
	if f.fh != nil {
		f.fh.Close()
		f.fh = nil
	}
}

// openLatest makes the current run's file (the last one) the one f reads,
// from its start, for a reader that joins a running pod (logs, an `up`
// that attaches); false if the container has no log yet.
func (f *follower) openLatest() bool {
	runs := logRuns(f.src.dir)
	return len(runs) > 0 && f.open(runs[len(runs)-1])
}

// nextRun is the first run after f's that has a file; -1 if none.
func (f *follower) nextRun() int {
	for _, r := range logRuns(f.src.dir) {
		if r > f.run {
			return r
		}
	}
	return -1
}

// records returns the complete records added since the last call.
func (f *follower) records() []LogRecord {
	var out []LogRecord
	for {
		if f.fh == nil && (f.fixed || !f.open(f.nextRun())) {
			return out
		}
		out = f.read(out)
		if f.fixed {
			return out
		}
		next := f.nextRun()
		if next < 0 {
			return out
		}
		// The pod closes a run's file before it opens the next one's:
		// what this one has now is all it will ever have.
		out = f.read(out)
		if !f.open(next) {
			f.closeFile()
			f.run = next
		}
	}
}

// read appends the records added to the open file since the last read.
func (f *follower) read(out []LogRecord) []LogRecord {
	if _, err := f.fh.Seek(f.off, io.SeekStart); err != nil {
		return out
	}
	b, _ := io.ReadAll(f.fh)
	f.off += int64(len(b))
	b = append(f.rest, b...)
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
		if rec.Time.Before(f.since) {
			continue
		}
		out = append(out, rec)
	}
	f.rest = append([]byte(nil), b...)
	return out
}

// skipToTail moves f, at the start of its file, so that the next read
// returns the file's last n records. It reads the file twice, a line at a
// time, rather than holding it.
func (f *follower) skipToTail(n int) {
	if f.fh == nil {
		return
	}
	// each calls fn with the offset after each complete record.
	each := func(fn func(end int64) bool) {
		sc := bufio.NewScanner(io.NewSectionReader(f.fh, 0, 1<<62))
		sc.Buffer(make([]byte, 0, 4096), 1<<20)
		var end int64
		for sc.Scan() {
			end += int64(len(sc.Bytes())) + 1
			if rec, ok := parseCRILine(sc.Text()); ok && !rec.Partial && !fn(end) {
				return
			}
		}
	}
	total := 0
	each(func(int64) bool { total++; return true })
	drop := total - n
	if drop <= 0 {
		return
	}
	seen := 0
	each(func(end int64) bool {
		seen++
		if seen == drop {
			f.off = end
			return false
		}
		return true
	})
}

var colours = []string{"\x1b[36m", "\x1b[33m", "\x1b[32m", "\x1b[35m", "\x1b[34m", "\x1b[31m"}

// logMux prints several containers' logs with `name |` prefixes, as
// `docker compose up` does (or kubectl's `[pod/NAME/ctr] `: bracket),
// coloured on a terminal.
type logMux struct {
	fs         []*follower
	out        io.Writer
	width      int
	colour     bool
	timestamps bool
	prefix     bool
	bracket    bool // labels are printed as they are, without padding or " |"
}

// newLogMux makes a mux whose followers read every run of their
// containers, from the first.
func newLogMux(srcs []logSource, out io.Writer) *logMux {
	m := &logMux{out: out, prefix: true}
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		m.colour = true
	}
	for _, s := range srcs {
		m.add(s)
	}
	return m
}

// add makes a follower of s that reads every run of its container, from
// the first, and prints with the others.
func (m *logMux) add(s logSource) *follower {
	f := &follower{src: s, colour: colours[len(m.fs)%len(colours)], run: -1, left: -1}
	m.fs = append(m.fs, f)
	m.width = max(m.width, len(s.label))
	return f
}

// close closes the files the followers hold.
func (m *logMux) close() {
	for _, f := range m.fs {
		f.closeFile()
	}
}

// limited reports whether every follower printed all --limit-bytes allow.
func (m *logMux) limited() bool {
	for _, f := range m.fs {
		if f.left != 0 {
			return false
		}
	}
	return len(m.fs) > 0
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
		body := l.rec.Line + "\n"
		if m.timestamps {
			body = l.rec.Time.Format(time.RFC3339Nano) + " " + body
		}
		// --limit-bytes counts what the container's log gives, not the
		// prefix, as the kubelet's limit and kubectl's prefix.
		if l.f.left == 0 {
			continue
		}
		if l.f.left > 0 {
			if int64(len(body)) > l.f.left {
				body = body[:l.f.left]
			}
			l.f.left -= int64(len(body))
		}
		if m.prefix {
			label := l.f.src.label
			if !m.bracket {
				label = fmt.Sprintf("%-*s |", m.width, label)
			}
			if m.colour {
				label = l.f.colour + label + "\x1b[0m"
			}
			b.WriteString(label)
			b.WriteByte(' ')
		}
		b.WriteString(body)
	}
	if b.Len() > 0 {
		_, _ = io.WriteString(m.out, b.String())
	}
}

// LogsOptions say which logs to print.
type LogsOptions struct {
	Pod        string // required
	Container  string // "": every container, init containers first
	Follow     bool   // keep printing, across restarts, until the container (or pod) will run no more
	Previous   bool   // the previous run's log (the last terminated instance) instead of the current one's
	Timestamps bool   // print each line's time (RFC3339Nano, as written)
	Tail       int    // only the last N lines of each container; -1: all
	// Since skips the lines written before it; zero: none skipped.
	Since time.Time
	// LimitBytes stops each container's output after so many bytes; 0: no limit.
	LimitBytes int64
	// Prefix puts `[pod/POD/CTR] ` before each line; nil: when the pod
	// has several containers and no Container is named.
	Prefix *bool
	Out    io.Writer // required
}

// ErrPodNotFound reports a pod name that has no pod.
var ErrPodNotFound = errors.New("no such pod")

// ErrContainerNotFound reports a container name the pod does not have.
var ErrContainerNotFound = errors.New("no such container in the pod")

// ErrContainerWaiting reports a `logs` (without -f) of a container that
// has not started yet: the kubelet's answer, where it has no log either.
var ErrContainerWaiting = errors.New("waiting to start")

// waitingReason is the reason ctr of pod waits, "" if it does not (or
// pod is nil: no status).
func waitingReason(pod *corev1.Pod, ctr string) string {
	if pod == nil {
		return ""
	}
	for _, cs := range append(pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses...) {
		if cs.Name == ctr && cs.State.Waiting != nil {
			return cmp.Or(cs.State.Waiting.Reason, "ContainerCreating")
		}
	}
	return ""
}

// ErrNoPrevious reports a `logs --previous` of a container that has not
// restarted: there is no terminated instance before the current one.
var ErrNoPrevious = errors.New("previous terminated container not found")

// noPreviousError words ErrNoPrevious as the kubelet does.
type noPreviousError struct{ pod, ctr string }

func (e *noPreviousError) Error() string {
	return fmt.Sprintf("previous terminated container %q in pod %q not found", e.ctr, e.pod)
}

func (e *noPreviousError) Is(target error) bool { return target == ErrNoPrevious }

// Logs prints a pod's container logs from their CRI files in the pod's
// data directory, so a pod's logs read the same while it runs and once it
// finished. It needs no user namespace: the files are the user's.
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
	names := logContainers(st, dirs)
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
		srcs = append(srcs, logSource{label: fmt.Sprintf("[pod/%s/%s]", o.Pod, n), dir: dirs.containerLogDir(n)})
	}
	m := newLogMux(srcs, o.Out)
	defer m.close()
	m.timestamps = o.Timestamps
	m.bracket = true
	m.prefix = len(srcs) > 1
	if o.Prefix != nil {
		m.prefix = *o.Prefix
	}
	follow := o.Follow && !o.Previous
	var kept []*follower
	for _, f := range m.fs {
		runs := logRuns(f.src.dir)
		f.since = o.Since
		if o.LimitBytes > 0 {
			f.left = o.LimitBytes
		}
		f.fixed = !follow
		if len(runs) == 0 && len(names) == 1 && !follow {
			if reason := waitingReason(st.pod, names[0]); reason != "" {
				return fmt.Errorf("container %q in pod %q is %w: %s", names[0], o.Pod, ErrContainerWaiting, reason)
			}
		}
		switch {
		case o.Previous && len(runs) < 2:
			continue // no terminated instance before the current one
		case o.Previous:
			f.open(runs[len(runs)-2])
		default:
			f.openLatest()
		}
		if o.Tail >= 0 {
			f.skipToTail(o.Tail)
		}
		kept = append(kept, f)
	}
	if o.Previous && len(kept) == 0 && len(names) > 0 {
		return &noPreviousError{pod: o.Pod, ctr: names[0]}
	}
	m.fs = kept
	m.poll()
	if !follow {
		return nil
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if m.limited() {
			return nil
		}
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

// logContainers names the pod's containers, init containers first, from
// its spec; without one (a pod whose runtime directory is gone), from the
// log directories in its data directory.
func logContainers(st podProbe, dirs Dirs) []string {
	pod := st.pod
	if pod == nil {
		pod = st.spec
	}
	var names []string
	if pod != nil {
		for _, c := range allContainers(pod) {
			names = append(names, c.Name)
		}
		return names
	}
	ents, _ := os.ReadDir(dirs.logDir())
	for _, e := range ents {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
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
	for i := range pod.Spec.InitContainers {
		if c := &pod.Spec.InitContainers[i]; c.Name == ctr && isSidecar(c) {
			return false // it restarts whatever its exit, until the pod finishes
		}
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

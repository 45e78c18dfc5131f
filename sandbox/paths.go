package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/podbox/podbox/image"
	"golang.org/x/sys/unix"
	"k8s.io/apimachinery/pkg/util/validation"
)

// InvalidNameError is a pod name that is not a Kubernetes name.
type InvalidNameError struct{ Name string }

func (e *InvalidNameError) Error() string {
	return fmt.Sprintf("pod name %q: must be a DNS-1123 subdomain: at most 253 lowercase letters, digits, '-' or '.', starting and ending with a letter or digit", e.Name)
}

// ValidatePodName checks a pod name as Kubernetes does (metadata.name of a
// Pod is a DNS-1123 subdomain). Every name a command is given goes through
// it before any path is made from it: a name is never a path.
func ValidatePodName(name string) error {
	if len(validation.IsDNS1123Subdomain(name)) > 0 {
		return &InvalidNameError{Name: name}
	}
	return nil
}

// Dirs are one pod's directories.
type Dirs struct {
	Run  string // <RunDir>/pods/<pod>: ctl.sock, pid, bundles, /etc files, runtime state
	Data string // $XDG_DATA_HOME/podbox/pods/<pod>: volumes/, logs/, rundir
}

// PodDirs returns the directories of the pod named name, which must be
// valid (ValidatePodName). The runtime directory is the one recorded in the
// pod's data directory when it was started (so a shell with another
// XDG_RUNTIME_DIR finds it), else the current one.
func PodDirs(name string) Dirs {
	d := newPodDirs(name)
	if b, err := os.ReadFile(d.runRecord()); err == nil {
		if run := strings.TrimSpace(string(b)); isPodRunDir(run, name) {
			d.Run = run
		}
	}
	return d
}

// newPodDirs are the directories a pod started now gets.
func newPodDirs(name string) Dirs {
	return Dirs{
		Run:  filepath.Join(podsRunDir(), name),
		Data: filepath.Join(podsDataDir(), name),
	}
}

// isPodRunDir reports whether a recorded runtime directory has the shape
// podbox gives them: an absolute, clean <…>/podbox…/pods/<name>.
func isPodRunDir(run, name string) bool {
	return filepath.IsAbs(run) && filepath.Clean(run) == run && filepath.Base(run) == name &&
		filepath.Base(filepath.Dir(run)) == "pods" && strings.HasPrefix(filepath.Base(filepath.Dir(filepath.Dir(run))), "podbox")
}

func podsRunDir() string  { return filepath.Join(image.RunDir(), "pods") }
func podsDataDir() string { return filepath.Join(image.DataDir(), "pods") }

func (d Dirs) ctlSock() string        { return filepath.Join(d.Run, "ctl.sock") }
func (d Dirs) pidFile() string        { return filepath.Join(d.Run, "pid") }
func (d Dirs) podLog() string         { return filepath.Join(d.Run, "podbox.log") }
func (d Dirs) slirpLog() string       { return filepath.Join(d.Run, "slirp4netns.log") }
func (d Dirs) slirpPidFile() string   { return filepath.Join(d.Run, "slirp4netns.pid") }
func (d Dirs) manifestFile() string   { return filepath.Join(d.Run, "pod.json") }
func (d Dirs) downMark() string       { return filepath.Join(d.Run, "down") } // `down` is stopping it
func (d Dirs) runtimeRoot() string    { return filepath.Join(d.Run, "runtime") }
func (d Dirs) bundle(c string) string { return filepath.Join(d.Run, "bundles", c) }
func (d Dirs) etcDir() string         { return filepath.Join(d.Run, "etc") }
func (d Dirs) logDir() string         { return filepath.Join(d.Data, "logs") }
func (d Dirs) runRecord() string      { return filepath.Join(d.Data, "rundir") }

// LogPath is a symbolic link to the CRI log file of container c's current
// run (see containerLogDir).
func (d Dirs) LogPath(c string) string { return filepath.Join(d.logDir(), c+".log") }

// containerLogDir holds container c's CRI log files, <restartCount>.log,
// the current run's and the previous one's (sandbox/pod's package doc).
func (d Dirs) containerLogDir(c string) string { return filepath.Join(d.logDir(), c) }

// checkPodsDirs checks podbox's runtime and data directories and their
// pods directories (image.CheckRoot, image.CheckDir) before a command
// reads or changes them: another user's directory is an error naming it,
// never an empty list.
func checkPodsDirs() error {
	for _, root := range []string{image.RunDir(), image.DataDir()} {
		if err := image.CheckRoot(root); err != nil {
			return err
		}
		if err := image.CheckDir(filepath.Join(root, "pods")); err != nil {
			return err
		}
	}
	return nil
}

// removePodDir removes one pod's directory, after proving that it is one:
// lexically a direct child of a pods directory of podbox's (the current
// runtime or data one, or a recorded runtime one), and that no component
// from podbox's own directory down is a symbolic link or another user's.
// Every removal of a pod's directory goes through here, so that a name
// check missed elsewhere is never an `rm -rf` of something else.
func removePodDir(dir string) error {
	ok, err := checkPodDir(dir)
	if !ok || err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

// checkPodDir proves that dir is a pod's directory as removePodDir needs
// it; false and no error: it does not exist.
func checkPodDir(dir string) (bool, error) {
	pods := filepath.Dir(dir)
	name := filepath.Base(dir)
	if !filepath.IsAbs(dir) || filepath.Clean(dir) != dir || ValidatePodName(name) != nil {
		return false, fmt.Errorf("refusing to remove %s: not a pod directory of podbox's", dir)
	}
	if rel, err := filepath.Rel(pods, dir); err != nil || rel != name {
		return false, fmt.Errorf("refusing to remove %s: not a pod directory of podbox's", dir)
	}
	if pods != podsDataDir() && pods != podsRunDir() && !isPodRunDir(dir, name) {
		return false, fmt.Errorf("refusing to remove %s: not inside podbox's pods directories", dir)
	}
	root := filepath.Dir(pods)
	for _, p := range []string{root, pods} {
		if err := image.CheckDir(p); err != nil {
			return false, fmt.Errorf("refusing to remove %s: %w", dir, err)
		}
	}
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("refusing to remove %s: not a directory", dir)
	}
	return true, nil
}

// remove removes both of the pod's directories (removePodDir).
func (d Dirs) remove() error {
	var errs []error
	for _, dir := range []string{d.Run, d.Data} {
		if err := removePodDir(dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// lockPods takes the lock that makes creating a pod and collecting the
// garbage of dead pods exclusive among podbox processes: an exclusive
// flock on <data>/pods/.lock. The data directory is every pod's registry
// whatever the runtime directory, so the lock lives there.
func lockPods() (unlock func(), err error) {
	dir := podsDataDir()
	if err := image.MkdirOwn(image.DataDir(), dir); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("locking the pods directory: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking the pods directory: %w", err)
	}
	return func() { f.Close() }, nil
}

// writeFileAtomic writes a file through a temporary one and a rename, so
// that a reader sees the whole file or none.
func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// podProcess is what the pid file holds: the pod's PID 1 as the host sees
// it, with its start time so that a reused pid is not taken for the pod.
type podProcess struct {
	PID   int
	Start string
	name  string // the pod's, from the pid file's directory
}

func writePidFile(path string, pid int) error {
	return writeFileAtomic(path, []byte(strconv.Itoa(pid)+" "+procStart(pid)+"\n"))
}

// readPidFile reads <pod's run dir>/pid.
func readPidFile(path string) (podProcess, error) {
	p := podProcess{name: filepath.Base(filepath.Dir(path))}
	b, err := os.ReadFile(path)
	if err != nil {
		return p, err
	}
	f := strings.Fields(string(b))
	if len(f) > 0 {
		p.PID, _ = strconv.Atoi(f[0])
	}
	if len(f) > 1 {
		p.Start = f[1]
	}
	return p, nil
}

// alive reports whether the process is still the pod's (isPod).
func (p podProcess) alive() bool {
	if p.PID <= 0 {
		return false
	}
	if err := syscall.Kill(p.PID, 0); err != nil && err != syscall.EPERM {
		return false
	}
	// A zombie is dead too (its parent has not reaped it yet).
	return p.isPod() && procState(p.PID) != "Z"
}

// isPod proves that process PID is this pod's PID 1: it started when the
// pid file says, its argv is the one startPod gives it
// ("podbox-pod:<name>"), and it is the user's. A pid file alone proves
// nothing: it may be stale, or planted.
func (p podProcess) isPod() bool { return p.provedAs(podArgv0(p.name)) }

// provedAs proves that process PID is the one the pid file was written
// for: it started when the pid file says, its whole argv is argv0 (a
// pod's PID 1, podArgv0, or a Job's controller, jobArgv0), and it is the
// user's.
func (p podProcess) provedAs(argv0 string) bool {
	if p.PID <= 0 || p.Start == "" || procStart(p.PID) != p.Start {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.PID) + "/cmdline")
	if err != nil || string(b) != argv0+"\x00" {
		return false
	}
	fi, err := os.Stat("/proc/" + strconv.Itoa(p.PID))
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}

// podArgv0 is the command line of a pod's PID 1, by which ps, the tests
// and isPod know it.
func podArgv0(name string) string { return "podbox-pod:" + name }

// signal sends sig to the pod's PID 1 if, and only if, it is proved to be
// it (isPod); it returns false if nothing was sent.
func (p podProcess) signal(sig unix.Signal) bool { return p.signalAs(podArgv0(p.name), sig) }

// signalAs sends sig to process PID if, and only if, it is proved to be
// the one started as argv0 (provedAs). The check and the signal go through
// one pidfd, so that the pid cannot be reused in between; it returns false
// if nothing was sent.
func (p podProcess) signalAs(argv0 string, sig unix.Signal) bool {
	if p.PID <= 0 {
		return false
	}
	fd, err := unix.PidfdOpen(p.PID, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	// The pidfd holds this process: if it died and the pid was reused
	// since, the check below fails (another start time), and if it dies
	// after, the signal fails.
	if !p.provedAs(argv0) {
		return false
	}
	return unix.PidfdSendSignal(fd, sig, nil, 0) == nil
}

// procStart is field 22 of /proc/PID/stat, the start time in clock ticks.
func procStart(pid int) string {
	f := procStat(pid)
	if len(f) < 20 {
		return ""
	}
	return f[19]
}

func procState(pid int) string {
	f := procStat(pid)
	if len(f) < 1 {
		return ""
	}
	return f[0]
}

// procStat returns the fields of /proc/PID/stat after the command name.
func procStat(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

package main

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// proc is what /proc tells about one process.
type proc struct {
	pid, ppid int
	uid       int
	comm      string
	cmdline   string // NULs as spaces
	exe       string // the /proc/PID/exe link, " (deleted)" cut; empty when unreadable
	environ   string // NULs as newlines; empty when unreadable
	parent    string // the parent's comm, when it was seen
	zombie    bool
}

func scanProcs() map[int]*proc {
	out := map[int]*proc{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		dir := "/proc/" + e.Name()
		stat, err := os.ReadFile(dir + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		s := string(stat)
		l, r := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if l < 0 || r < l {
			continue
		}
		f := strings.Fields(s[r+1:])
		if len(f) < 2 {
			continue
		}
		p := &proc{pid: pid, comm: s[l+1 : r], zombie: f[0] == "Z" || f[0] == "X", uid: -1}
		p.ppid, _ = strconv.Atoi(f[1])
		if st, err := os.Stat(dir); err == nil {
			p.uid = int(st.Sys().(*syscall.Stat_t).Uid)
		}
		if b, err := os.ReadFile(dir + "/cmdline"); err == nil {
			p.cmdline = strings.TrimSpace(string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
		}
		if l, err := os.Readlink(dir + "/exe"); err == nil {
			p.exe = strings.TrimSuffix(l, " (deleted)")
		}
		if b, err := os.ReadFile(dir + "/environ"); err == nil {
			p.environ = string(bytes.ReplaceAll(b, []byte{0}, []byte{'\n'}))
		}
		out[pid] = p
	}
	for _, p := range out {
		if pp, ok := out[p.ppid]; ok {
			p.parent = pp.comm
		}
	}
	return out
}

// workloadComms are the containers' own processes (busybox applets in the
// test images): they are not the tool's overhead.
var workloadComms = map[string]bool{
	"sh": true, "sleep": true, "httpd": true, "nc": true, "wget": true,
	"dd": true, "cat": true, "cp": true, "true": true,
}

// transientComms are processes a tool runs only while it changes something:
// the memory metrics wait until none is left.
func transient(comm string) bool {
	return strings.HasPrefix(comm, "runc") || comm == "newuidmap" || comm == "newgidmap" ||
		comm == "podman" || comm == "fusermount3"
}

// toolProcs are the live processes that belong to one tool's run: those
// whose command line or environment names marker (the tool's own directory
// in the bench's work dir: its XDG_RUNTIME_DIR, store, configs), the
// slirp4netns whose target pid is one of them, and all their descendants.
func toolProcs(all map[int]*proc, marker string) []*proc {
	uid := os.Getuid()
	mine := map[int]bool{}
	for _, p := range all {
		if p.uid == uid && !p.zombie && (strings.Contains(p.cmdline, marker) || strings.Contains(p.environ, marker)) {
			mine[p.pid] = true
		}
	}
	// slirp4netns … PID tap0: the pid of the process whose netns it serves.
	for _, p := range all {
		if p.comm != "slirp4netns" || p.zombie || mine[p.pid] {
			continue
		}
		f := strings.Fields(p.cmdline)
		if len(f) >= 2 {
			if t, err := strconv.Atoi(f[len(f)-2]); err == nil && mine[t] {
				mine[p.pid] = true
			}
		}
	}
	var in func(p *proc, depth int) bool
	in = func(p *proc, depth int) bool {
		if mine[p.pid] {
			return true
		}
		if depth > 64 || p.ppid <= 1 {
			return false
		}
		parent, ok := all[p.ppid]
		return ok && in(parent, depth+1)
	}
	var out []*proc
	for _, p := range all {
		if !p.zombie && in(p, 0) {
			out = append(out, p)
		}
	}
	return out
}

// memKB sums PSS and RSS (kB) of a process from smaps_rollup.
func memKB(pid int) (pss, rss int, err error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) < 2 {
			continue
		}
		v, _ := strconv.Atoi(fl[1])
		switch fl[0] {
		case "Pss:":
			pss = v
		case "Rss:":
			rss = v
		}
	}
	return pss, rss, sc.Err()
}

// pssSplitKB is a process's PSS of anonymous memory and of file pages (the
// binary's text and data, shared libraries), in kB.
func pssSplitKB(pid int) (anon, file int) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return 0, 0
	}
	for _, l := range strings.Split(string(raw), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.Atoi(f[1])
		switch f[0] {
		case "Pss_Anon:":
			anon += v
		case "Pss_File:", "Pss_Shmem:":
			file += v
		}
	}
	return anon, file
}

func killPid(pid int) error {
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return err
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err != nil || strings.Contains(string(b), ") Z") {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return syscall.Kill(pid, syscall.SIGKILL)
}

// reaped runs this program again as a child under a child subreaper that
// reaps every orphan (conmon's and podbox's daemonized processes) the moment
// it exits, as a real init does. It returns false in the child, which does
// the work; in the parent it returns true with the child's exit code.
func reaped() (bool, int) {
	const key = "_PODBOX_BENCH_REAPED"
	if os.Getenv(key) == "1" {
		os.Unsetenv(key)
		return false, 0
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		logf("cannot become a child subreaper (%v): zombies may slow both tools", err)
		return false, 0
	}
	exe, err := os.Executable()
	if err != nil {
		logf("%v", err)
		return true, 1
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), key+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	if err := cmd.Start(); err != nil {
		logf("%v", err)
		return true, 1
	}
	child := cmd.Process.Pid
	go func() {
		for s := range sigs {
			_ = syscall.Kill(child, s.(syscall.Signal))
		}
	}()
	// wait4(-1) collects the child and every orphan reparented to us; no
	// exec.Cmd.Wait, which would race with it.
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return true, 1
		}
		if pid == child {
			code := ws.ExitStatus()
			if ws.Signaled() {
				code = 128 + int(ws.Signal())
			}
			// Orphans still alive are the cleanup's leftovers; reap what
			// has exited and leave.
			for {
				p, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
				if p <= 0 || err != nil {
					break
				}
			}
			return true, code
		}
	}
}

// binPath is the absolute path of a program on PATH, or the name.
func binPath(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
	}
	return name
}

// Package userns puts podbox processes into a user namespace that maps the
// user's own uid to 0 and the user's subordinate ids (/etc/subuid, /etc/subgid)
// to 1…N, the same mapping for image pulls and for pods, so that a file owned
// by uid 33 in an image is owned by the same host id whatever touches it.
//
// Decisions:
//
//   - The namespace is made by cloning /proc/self/exe with
//     SysProcAttr.Cloneflags (CLONE_NEWUSER plus whatever the caller adds),
//     never by unsharing inside the running, multi-threaded Go process.
//     rootlesskit's parent.Parent does the same but re-runs the whole command
//     line through a third process; podbox clones once and keeps
//     rootlesskit's helpers only where they serve (see package sandbox).
//   - The child is exec'd before its maps exist, so it would lose its
//     capabilities at execve: the clone asks for every capability as ambient.
//     The child then waits, before anything else runs, on a pipe until the
//     parent has run newuidmap/newgidmap (setuid helpers from the uidmap
//     package), see WaitMapped.
//   - Without subordinate ids podbox maps only the user's own uid and gid, as
//     Podman does with ignore_chown_errors: files of other owners become the
//     user's. podbox says so once, with the /etc/subuid line that would fix it.
//   - The child's environment carries _CONTAINERS_USERNS_CONFIGURED and
//     _CONTAINERS_ROOTLESS_UID/GID, the keys go.podman.io/storage and image
//     read to know they run rootless inside a user namespace (otherwise they
//     see euid 0 and reach for /var/lib/containers).
package userns

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// Environment keys. The _CONTAINERS_* ones are go.podman.io/storage's.
const (
	envSyncFD      = "_PODBOX_USERNS_FD"
	envConfigured  = "_CONTAINERS_USERNS_CONFIGURED"
	envRootlessUID = "_CONTAINERS_ROOTLESS_UID"
	envRootlessGID = "_CONTAINERS_ROOTLESS_GID"
	envSingle      = "_PODBOX_USERNS_SINGLE"
)

// Files that list subordinate ids; PODBOX_SUBUID_FILE and PODBOX_SUBGID_FILE
// override them, which the tests use to show what podbox says when the user
// has no range (newuidmap itself always reads /etc).
var (
	SubUIDFile = "/etc/subuid"
	SubGIDFile = "/etc/subgid"
)

// ErrNoSubIDs reports that the user has no subordinate id range.
var ErrNoSubIDs = errors.New("no subordinate id range")

// Range is a run of host ids: Start, Start+1, … Start+Count-1.
type Range struct {
	Start int `json:"start"`
	Count int `json:"count"`
}

// Mapping is how a podbox user namespace maps ids: 0 is the user, 1…Count
// the subordinate range.
type Mapping struct {
	User   string `json:"user"`
	UID    int    `json:"uid"`
	GID    int    `json:"gid"`
	SubUID *Range `json:"subuid,omitempty"` // nil: no range, map only UID
	SubGID *Range `json:"subgid,omitempty"` // nil: no range, map only GID
}

// Single reports whether only the user's own ids are mapped.
func (m Mapping) Single() bool { return m.SubUID == nil || m.SubGID == nil }

// Size is the number of ids mapped inside the namespace (uid 0 … Size-1).
func (m Mapping) Size() int {
	if m.Single() {
		return 1
	}
	return 1 + min(m.SubUID.Count, m.SubGID.Count)
}

// HostUID returns the host uid that uid id inside the namespace maps to, or
// -1 if it is not mapped.
func (m Mapping) HostUID(id int) int {
	switch {
	case id == 0:
		return m.UID
	case m.SubUID != nil && id-1 < m.SubUID.Count:
		return m.SubUID.Start + id - 1
	}
	return -1
}

// FixLines returns the /etc/subuid and /etc/subgid lines that would give the
// user a range, for hints.
func (m Mapping) FixLines() string {
	return fmt.Sprintf("echo %s:100000:65536 | sudo tee -a /etc/subuid /etc/subgid", m.User)
}

// Lookup returns the mapping for the current user. A user without
// subordinate ids gets a single-id mapping and ErrNoSubIDs wrapped in err;
// the mapping is usable either way.
func Lookup() (Mapping, error) {
	uid, gid := os.Getuid(), os.Getgid()
	if v := os.Getenv(envRootlessUID); v != "" {
		// Already inside: report the outer user's ids.
		uid, _ = strconv.Atoi(v)
		gid, _ = strconv.Atoi(os.Getenv(envRootlessGID))
	}
	m := Mapping{UID: uid, GID: gid, User: strconv.Itoa(uid)}
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		m.User = u.Username
	}
	var errs []error
	if r, err := lookupRange(envOr("PODBOX_SUBUID_FILE", SubUIDFile), m.User, uid); err == nil {
		m.SubUID = r
	} else {
		errs = append(errs, err)
	}
	if r, err := lookupRange(envOr("PODBOX_SUBGID_FILE", SubGIDFile), m.User, uid); err == nil {
		m.SubGID = r
	} else {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		m.SubUID, m.SubGID = nil, nil
		return m, errors.Join(errs...)
	}
	return m, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// lookupRange finds the first range of name (or uid) in a subid file.
func lookupRange(path, name string, uid int) (*Range, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w: %w", path, err, ErrNoSubIDs)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(fields) != 3 || (fields[0] != name && fields[0] != strconv.Itoa(uid)) {
			continue
		}
		start, err1 := strconv.Atoi(fields[1])
		count, err2 := strconv.Atoi(fields[2])
		if err1 != nil || err2 != nil || count <= 0 {
			continue
		}
		return &Range{Start: start, Count: count}, nil
	}
	return nil, fmt.Errorf("%s has no line for user %q: %w", path, name, ErrNoSubIDs)
}

// Inside reports whether this process runs in a podbox user namespace.
func Inside() bool { return os.Getenv(envConfigured) != "" }

// IsChild reports whether this process was cloned by Start and must call
// WaitMapped before doing anything else.
func IsChild() bool { return os.Getenv(envSyncFD) != "" }

// WaitMapped blocks until the parent has written this process's uid and gid
// maps, then forgets the sync key. It exits the process if the parent failed.
func WaitMapped() {
	fd, err := strconv.Atoi(os.Getenv(envSyncFD))
	os.Unsetenv(envSyncFD)
	if err != nil {
		fmt.Fprintln(os.Stderr, "podbox: bad user namespace sync fd")
		os.Exit(125)
	}
	f := os.NewFile(uintptr(fd), "userns-sync")
	var b [1]byte
	n, _ := f.Read(b[:])
	f.Close()
	if n != 1 || b[0] != 'm' {
		// The parent reports its own error; just go away.
		os.Exit(125)
	}
	// Our credentials were taken before the map existed; set them so that
	// getuid() and the fs ids agree with the new map.
	if err := unix.Setresgid(0, 0, 0); err == nil {
		_ = unix.Setgroups(nil)
	}
	_ = unix.Setresuid(0, 0, 0)
}

// SingleMapped reports whether the namespace this process runs in maps only
// the user's own ids (the go.podman.io/storage ignore_chown_errors case).
func SingleMapped() bool { return os.Getenv(envSingle) == "1" }

// Child is a process started in a new user namespace by Start.
type Child struct {
	Cmd     *exec.Cmd
	Mapping Mapping
	sync    *os.File
}

// Start starts cmd (which must run /proc/self/exe, whose main calls
// WaitMapped first) in a new user namespace plus the namespaces in
// cloneFlags, and writes its id maps. The child waits until Release is called.
// On error nothing is left running.
func Start(cmd *exec.Cmd, m Mapping, cloneFlags uintptr) (*Child, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd.ExtraFiles = append(cmd.ExtraFiles, r)
	fd := 2 + len(cmd.ExtraFiles)
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	single := "0"
	if m.Single() {
		single = "1"
	}
	cmd.Env = append(cmd.Env,
		envSyncFD+"="+strconv.Itoa(fd),
		envConfigured+"=done",
		envRootlessUID+"="+strconv.Itoa(m.UID),
		envRootlessGID+"="+strconv.Itoa(m.GID),
		envSingle+"="+single,
	)
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Cloneflags |= unix.CLONE_NEWUSER | cloneFlags
	cmd.SysProcAttr.AmbientCaps = allCaps()
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("starting %s in a user namespace: %w", cmd.Path, err)
	}
	c := &Child{Cmd: cmd, Mapping: m, sync: w}
	if err := writeMaps(cmd.Process.Pid, m); err != nil {
		w.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, err
	}
	return c, nil
}

// Release lets the child run past WaitMapped.
func (c *Child) Release() error {
	defer c.sync.Close()
	if _, err := c.sync.Write([]byte{'m'}); err != nil {
		return fmt.Errorf("releasing the user namespace child: %w", err)
	}
	return nil
}

// Abort closes the sync pipe without releasing; the child exits.
func (c *Child) Abort() { c.sync.Close() }

func writeMaps(pid int, m Mapping) error {
	p := strconv.Itoa(pid)
	if m.Single() {
		// An unprivileged process may map its own ids, once setgroups is denied.
		if err := os.WriteFile("/proc/"+p+"/setgroups", []byte("deny"), 0); err != nil {
			return fmt.Errorf("writing setgroups of pid %s: %w", p, err)
		}
		if err := os.WriteFile("/proc/"+p+"/uid_map", []byte(fmt.Sprintf("0 %d 1\n", m.UID)), 0); err != nil {
			return fmt.Errorf("writing uid_map of pid %s: %w", p, err)
		}
		if err := os.WriteFile("/proc/"+p+"/gid_map", []byte(fmt.Sprintf("0 %d 1\n", m.GID)), 0); err != nil {
			return fmt.Errorf("writing gid_map of pid %s: %w", p, err)
		}
		return nil
	}
	for _, t := range []struct {
		tool string
		id   int
		r    *Range
	}{{"newuidmap", m.UID, m.SubUID}, {"newgidmap", m.GID, m.SubGID}} {
		path, err := LookTool(t.tool)
		if err != nil {
			return err
		}
		args := []string{p, "0", strconv.Itoa(t.id), "1", "1", strconv.Itoa(t.r.Start), strconv.Itoa(t.r.Count)}
		out, err := exec.Command(path, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("running %s %s: %w: %s", t.tool, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
		logrus.Debugf("%s %s", t.tool, strings.Join(args, " "))
	}
	return nil
}

// ErrToolMissing reports a helper binary that is not installed.
var ErrToolMissing = errors.New("not installed")

// LookTool finds newuidmap or newgidmap on PATH or in /usr/bin, /usr/sbin.
func LookTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/bin", "/usr/sbin", "/bin", "/sbin"} {
		if _, err := os.Stat(dir + "/" + name); err == nil {
			return dir + "/" + name, nil
		}
	}
	return "", fmt.Errorf("%s: %w (install the uidmap package: sudo apt-get install uidmap)", name, ErrToolMissing)
}

func allCaps() []uintptr {
	last := 40
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			last = n
		}
	}
	caps := make([]uintptr, 0, last+1)
	for i := 0; i <= last; i++ {
		caps = append(caps, uintptr(i))
	}
	return caps
}

// Reexec runs this same command line again inside a new user namespace (and
// a new mount namespace, plus cloneFlags), with stdio inherited and SIGINT and
// SIGTERM forwarded, and returns its exit code. The caller exits with it.
func Reexec(m Mapping, cloneFlags uintptr) (int, error) {
	// Pdeathsig follows the thread that forks: keep this goroutine on it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: unix.SIGKILL}
	sigs := make(chan os.Signal, 4)
	notifyForward(sigs)
	defer stopForward(sigs)
	c, err := Start(cmd, m, unix.CLONE_NEWNS|cloneFlags)
	if err != nil {
		return 125, err
	}
	if err := c.Release(); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return 125, err
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err = cmd.Wait()
	close(done)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 125, err
	}
	return 0, nil
}

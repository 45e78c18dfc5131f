// Package hostcheck finds out whether this machine can run a rootless pod,
// and for each piece that is missing says what fixes it: the Debian/Ubuntu
// package, the /etc/subuid line, the sysctl or the AppArmor profile.
//
// It backs `podbox info`. Host-side checks (kernel, sysctls, subordinate ids,
// setuid helpers, slirp4netns, /dev/net/tun, AppArmor) run as the user; the
// checks that only mean something inside podbox's user namespace (which OCI
// runtime actually runs a container here, which storage driver works) are
// filled in by the caller from a child in that namespace (see Report.Merge).
//
// Decisions: a user without subordinate ids can still run pods (podbox maps
// only the user's own id, as Podman's ignore_chown_errors), so that is a
// warning, not a failure; everything else listed as Required is a failure and
// makes `podbox info` exit non-zero.
package hostcheck

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/podbox/podbox/sandbox/userns"
	"golang.org/x/sys/unix"
)

// Status of one check.
type Status string

// Statuses: OK, Warn (podbox runs, with less), Missing (podbox cannot run a pod).
const (
	OK      Status = "ok"
	Warn    Status = "warning"
	Missing Status = "missing"
)

// Check is one line of `podbox info`.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Value  string `json:"value"`         // what was found
	Fix    string `json:"fix,omitempty"` // what to do when Status is not OK
}

// Report is everything `podbox info` found.
type Report struct {
	Checks []Check `json:"checks"`
}

// Ready reports whether podbox can run a pod here.
func (r *Report) Ready() bool {
	for _, c := range r.Checks {
		if c.Status == Missing {
			return false
		}
	}
	return true
}

// Get returns the check named name, or nil.
func (r *Report) Get(name string) *Check {
	for i := range r.Checks {
		if r.Checks[i].Name == name {
			return &r.Checks[i]
		}
	}
	return nil
}

// Set replaces the check of the same name, or appends it.
func (r *Report) Set(c Check) {
	if old := r.Get(c.Name); old != nil {
		*old = c
		return
	}
	r.Checks = append(r.Checks, c)
}

func (r *Report) add(name string, st Status, value, fix string) {
	r.Set(Check{Name: name, Status: st, Value: value, Fix: fix})
}

// Host runs the checks that need no user namespace.
func Host() *Report {
	r := &Report{}
	kernel(r)
	userNamespaces(r)
	appArmor(r)
	m, err := userns.Lookup()
	r.add("user", OK, fmt.Sprintf("%s (uid %d, gid %d)", m.User, m.UID, m.GID), "")
	subIDs(r, m, err)
	for _, tool := range []string{"newuidmap", "newgidmap"} {
		setuidTool(r, tool, m)
	}
	slirp(r)
	tun(r)
	resourceLimits(r)
	return r
}

func kernel(r *Report) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		r.add("kernel", Warn, "unknown: "+err.Error(), "")
		return
	}
	rel := unix.ByteSliceToString(u.Release[:])
	major, minor := parseKernel(rel)
	switch {
	case major > 5 || (major == 5 && minor >= 11):
		r.add("kernel", OK, rel, "")
	default:
		r.add("kernel", Warn, rel+": older than 5.11, no native overlay in a user namespace",
			"install fuse-overlayfs (sudo apt-get install fuse-overlayfs), or run a kernel ≥ 5.11")
	}
}

func parseKernel(rel string) (int, int) {
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		return 0, 0
	}
	major, _ := strconv.Atoi(parts[0])
	minor, _ := strconv.Atoi(strings.TrimFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	return major, minor
}

func readTrim(path string) (string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

func userNamespaces(r *Report) {
	if v, ok := readTrim("/proc/sys/kernel/unprivileged_userns_clone"); ok && v == "0" {
		r.add("user namespaces", Missing, "disabled (kernel.unprivileged_userns_clone=0)",
			"sudo sysctl -w kernel.unprivileged_userns_clone=1 (and put it in /etc/sysctl.d/ to keep it)")
		return
	}
	if v, ok := readTrim("/proc/sys/user/max_user_namespaces"); ok && v == "0" {
		r.add("user namespaces", Missing, "disabled (user.max_user_namespaces=0)",
			"sudo sysctl -w user.max_user_namespaces=28633 (and put it in /etc/sysctl.d/ to keep it)")
		return
	}
	if _, err := os.Stat("/proc/self/ns/user"); err != nil {
		r.add("user namespaces", Missing, "not supported by this kernel", "run a kernel built with CONFIG_USER_NS=y")
		return
	}
	r.add("user namespaces", OK, "unprivileged allowed", "")
}

// appArmor: Ubuntu 24.04 and later restrict unprivileged user namespaces to
// programs with a profile that allows them.
func appArmor(r *Report) {
	v, ok := readTrim("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")
	if !ok || v == "0" {
		r.add("apparmor", OK, "does not restrict user namespaces", "")
		return
	}
	exe, _ := os.Executable()
	if p := profileFor(exe); p != "" {
		r.add("apparmor", OK, "restricts user namespaces; profile "+p+" allows podbox", "")
		return
	}
	r.add("apparmor", Missing, "kernel.apparmor_restrict_unprivileged_userns=1 and no profile allows "+exe,
		fmt.Sprintf("printf 'abi <abi/4.0>,\\ninclude <tunables/global>\\nprofile podbox %s flags=(unconfined) {\\n  userns,\\n}\\n' | sudo tee /etc/apparmor.d/podbox && sudo apparmor_parser -r /etc/apparmor.d/podbox", exe))
}

// profileFor finds an AppArmor profile in /etc/apparmor.d that names exe
// and allows userns.
func profileFor(exe string) string {
	files, _ := filepath.Glob("/etc/apparmor.d/*")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		s := string(b)
		if strings.Contains(s, exe) && strings.Contains(s, "userns") {
			return f
		}
	}
	return ""
}

func subIDs(r *Report, m userns.Mapping, err error) {
	if err == nil {
		r.add("subuid", OK, fmt.Sprintf("%d:%d", m.SubUID.Start, m.SubUID.Count), "")
		r.add("subgid", OK, fmt.Sprintf("%d:%d", m.SubGID.Start, m.SubGID.Count), "")
		return
	}
	for _, kind := range []struct{ name, env, file string }{
		{"subuid", "PODBOX_SUBUID_FILE", userns.SubUIDFile},
		{"subgid", "PODBOX_SUBGID_FILE", userns.SubGIDFile},
	} {
		file := kind.file
		if v := os.Getenv(kind.env); v != "" {
			file = v
		}
		start := freeStart(file)
		if hasLine(file, m.User, m.UID) {
			r.add(kind.name, OK, "listed in "+file, "")
			continue
		}
		r.add(kind.name, Warn,
			fmt.Sprintf("no range for %s in %s: pods map only uid %d, files of other owners become yours", m.User, file, m.UID),
			fmt.Sprintf("echo %s:%d:65536 | sudo tee -a %s", m.User, start, kind.file))
	}
}

// freeStart proposes the start of a 65536-id range that no line of file uses.
func freeStart(file string) int {
	start := 100000
	f, err := os.Open(file)
	if err != nil {
		return start
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(fields) != 3 {
			continue
		}
		s, err1 := strconv.Atoi(fields[1])
		n, err2 := strconv.Atoi(fields[2])
		if err1 == nil && err2 == nil && s+n > start {
			start = s + n
		}
	}
	return start
}

func hasLine(file, name string, uid int) bool {
	b, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Split(l, ":")
		if len(f) == 3 && (f[0] == name || f[0] == strconv.Itoa(uid)) {
			return true
		}
	}
	return false
}

func setuidTool(r *Report, tool string, m userns.Mapping) {
	path, err := userns.LookTool(tool)
	if err != nil {
		st := Missing
		if m.Single() {
			st = Warn // podbox maps the user's own id without it
		}
		r.add(tool, st, "not found", "install the uidmap package: sudo apt-get install uidmap")
		return
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		r.add(tool, Missing, path+": "+err.Error(), "reinstall the uidmap package: sudo apt-get install --reinstall uidmap")
		return
	}
	if st.Mode&unix.S_ISUID != 0 && st.Uid == 0 {
		r.add(tool, OK, path+" (setuid root)", "")
		return
	}
	if sz, err := unix.Getxattr(path, "security.capability", nil); err == nil && sz > 0 {
		r.add(tool, OK, path+" (file capabilities)", "")
		return
	}
	r.add(tool, Missing, path+" is neither setuid root nor has file capabilities",
		"sudo chmod u+s "+path+" (or reinstall the uidmap package)")
}

func slirp(r *Report) {
	path, err := exec.LookPath("slirp4netns")
	if err != nil {
		r.add("slirp4netns", Missing, "not found on PATH", "install the slirp4netns package: sudo apt-get install slirp4netns")
		return
	}
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		r.add("slirp4netns", Missing, path+" does not run: "+err.Error(), "reinstall the slirp4netns package: sudo apt-get install --reinstall slirp4netns")
		return
	}
	ver := strings.TrimPrefix(strings.SplitN(string(out), "\n", 2)[0], "slirp4netns version ")
	r.add("slirp4netns", OK, path+" "+ver, "")
}

// ErrTunDenied means the user may not open /dev/net/tun, which slirp4netns needs.
var ErrTunDenied = errors.New("permission denied")

// TunCheck opens /dev/net/tun the way slirp4netns will and explains a failure.
func TunCheck() (fix string, err error) {
	f, err := os.OpenFile("/dev/net/tun", os.O_RDWR, 0)
	if err == nil {
		f.Close()
		return "", nil
	}
	switch {
	case errors.Is(err, os.ErrPermission):
		return "let your user open /dev/net/tun, as desktop distributions ship it: sudo chmod 0666 /dev/net/tun",
			fmt.Errorf("opening /dev/net/tun: %w", ErrTunDenied)
	case errors.Is(err, os.ErrNotExist):
		return "load the tun module: sudo modprobe tun", fmt.Errorf("opening /dev/net/tun: %w", err)
	}
	return "", fmt.Errorf("opening /dev/net/tun: %w", err)
}

func tun(r *Report) {
	fix, err := TunCheck()
	if err != nil {
		r.add("/dev/net/tun", Missing, err.Error(), fix)
		return
	}
	r.add("/dev/net/tun", OK, "can be opened", "")
}

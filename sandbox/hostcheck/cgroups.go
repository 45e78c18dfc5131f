package hostcheck

import (
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// resourceLimits says whether a pod's resources limits are enforced here:
// an info line, not a warning (issue 11: resources are accepted, and `up`
// says nothing per pod). A rootless runtime can apply the OCI
// linux.resources only on cgroup v2 with the controllers delegated to the
// user (systemd's user@.service Delegate=); on cgroup v1 or hybrid it can
// write no cgroup at all. podbox sets no limits yet even where they could
// be, and says so.
func resourceLimits(r *Report) {
	r.add("resource limits", OK, resourceLimitsValue(cgroupLayout(), delegated()), "")
}

func resourceLimitsValue(layout string, controllers []string) string {
	if layout != "cgroup v2" {
		return "not enforced (" + layout + ": no cgroup v2 delegation); pods' resources are accepted without effect"
	}
	if !hasAll(controllers, "memory", "cpu") {
		return "not enforced (cgroup v2 without the memory and cpu controllers delegated to you); pods' resources are accepted without effect"
	}
	return "not enforced (cgroup v2 delegates " + strings.Join(controllers, ", ") + " to you, but podbox sets no cgroup limits yet); pods' resources are accepted without effect"
}

// cgroupLayout names how the cgroup hierarchies are mounted, as
// ociruntime/probe does.
func cgroupLayout() string {
	var st unix.Statfs_t
	if unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return "cgroup v2"
	}
	if unix.Statfs("/sys/fs/cgroup/unified", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return "hybrid cgroups"
	}
	return "cgroup v1"
}

// delegated lists the controllers of this process's cgroup v2 parent
// (where a runtime would make the pods' cgroups) if the user owns it.
func delegated() []string {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil
	}
	for _, line := range strings.Split(string(b), "\n") {
		path, ok := strings.CutPrefix(line, "0::")
		if !ok {
			continue
		}
		dir := filepath.Join("/sys/fs/cgroup", filepath.Dir(filepath.Clean(path)))
		var st unix.Stat_t
		if unix.Stat(dir, &st) != nil || int(st.Uid) != os.Geteuid() {
			return nil
		}
		c, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
		if err != nil {
			return nil
		}
		return strings.Fields(string(c))
	}
	return nil
}

func hasAll(have []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}

package sandbox

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/podbox/podbox/sandbox/userns"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// hostPathHints are the lines `up` prints for the hostPath volumes that a
// container mounts read-write but that the containers' root cannot write:
// the containers' root is the user on the host, so a directory owned by
// the host's root (the seed's /data) gives them "Permission denied" and a
// web server a 403, with nothing said. The pod still starts (it may only
// mean to read there). It runs in podbox's user namespace, where access(2)
// answers for the containers' root; an owner outside the namespace's ids
// shows there as the overflow uid, so it is named as such.
func hostPathHints(pod *corev1.Pod) []string {
	rw := map[string]bool{}
	for _, c := range allContainers(pod) {
		for _, m := range c.VolumeMounts {
			if !m.ReadOnly {
				rw[m.Name] = true
			}
		}
	}
	m, _ := userns.Lookup()
	var out []string
	for _, v := range pod.Spec.Volumes {
		if v.HostPath == nil || !rw[v.Name] {
			continue
		}
		path := filepath.Clean(v.HostPath.Path)
		if unix.Access(path, unix.W_OK) == nil {
			continue
		}
		fi, err := os.Stat(path)
		if err != nil {
			continue // CheckHostPaths said what was wrong
		}
		what := "file"
		if fi.IsDir() {
			what = "directory"
		}
		owner := "a host user outside podbox's user namespace (root or another user)"
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			switch host := m.HostUID(int(st.Uid)); {
			case st.Uid == 0:
				owner = fmt.Sprintf("you (uid %d)", m.UID)
			case host >= 0 && st.Uid != overflowUID():
				owner = fmt.Sprintf("uid %d in the containers (host uid %d)", st.Uid, host)
			}
		}
		out = append(out, fmt.Sprintf("pod %q: hostPath volume %q: the %s %s is not writable by the containers (owner %s, mode %s; their root is your uid %d on the host): they can only read it; to let them write, use a %s you own or: sudo chown %d %s",
			pod.Name, v.Name, what, path, owner, fi.Mode().Perm()|fi.Mode()&fs.ModeType, m.UID, what, m.UID, path))
	}
	return out
}

// overflowUID is the uid stat(2) shows for an owner the user namespace
// does not map (kernel.overflowuid, 65534 by default).
func overflowUID() uint32 {
	b, err := os.ReadFile("/proc/sys/kernel/overflowuid")
	if err != nil {
		return 65534
	}
	var u uint32
	if _, err := fmt.Sscan(string(b), &u); err != nil {
		return 65534
	}
	return u
}

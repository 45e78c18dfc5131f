package mounts

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// The kubelet's masks (pkg/volume/volume_linux.go): what fsGroup adds to
// every file of a volume, read-write or read-only, and to its directories.
const (
	rwMask   = fs.FileMode(0o660)
	roMask   = fs.FileMode(0o440)
	execMask = fs.FileMode(0o110)
)

// ErrGroupNotMapped reports an fsGroup that podbox's user namespace has no
// id for: the volume's files cannot be given to it.
var ErrGroupNotMapped = errors.New("not mapped in podbox's user namespace (see /etc/subgid)")

// fsGroup is the pod's securityContext.fsGroup and its change policy;
// nil: none.
type fsGroup struct {
	gid            int
	onRootMismatch bool
}

func fsGroupOf(pod *corev1.Pod) *fsGroup {
	sc := pod.Spec.SecurityContext
	if sc == nil || sc.FSGroup == nil {
		return nil
	}
	g := &fsGroup{gid: int(*sc.FSGroup)}
	g.onRootMismatch = sc.FSGroupChangePolicy != nil && *sc.FSGroupChangePolicy == corev1.FSGroupChangeOnRootMismatch
	return g
}

// tmpfsOptions adds fsGroup to a tmpfs's mount options: the root owned by
// the group, setgid and group-writable, as SetVolumeOwnership leaves a
// memory-backed emptyDir (mode 1777 → 3777).
func (g *fsGroup) tmpfsOptions() string {
	return fmt.Sprintf("mode=3777,gid=%d", g.gid)
}

// apply gives every file under root to the group, as the kubelet's
// SetVolumeOwnership: lchown to the group, then (symbolic links aside) the
// mode plus rw (read-only volumes: r) for the group, and for directories
// setgid and x, so that what the containers create there is the group's
// too. With fsGroupChangePolicy OnRootMismatch nothing is done when the
// volume's root has the group and the modes already
// (requiresPermissionChange).
func (g *fsGroup) apply(root *os.Root, readOnly bool) error {
	mask := rwMask
	if readOnly {
		mask = roMask
	}
	if g.onRootMismatch && !g.rootMismatch(root, mask) {
		return nil
	}
	return fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := root.Lchown(p, -1, g.gid); err != nil {
			if errors.Is(err, unix.EINVAL) {
				return fmt.Errorf("fsGroup %d: %w", g.gid, ErrGroupNotMapped)
			}
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		m := mask
		if d.IsDir() {
			m |= fs.ModeSetgid | execMask
		}
		return root.Chmod(p, info.Mode()&(fs.ModePerm|fs.ModeSetgid|fs.ModeSetuid|fs.ModeSticky)|m)
	})
}

// rootMismatch is the kubelet's requiresPermissionChange for the volume's
// root.
func (g *fsGroup) rootMismatch(root *os.Root, mask fs.FileMode) bool {
	fi, err := root.Stat(".")
	if err != nil {
		return true
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || int(st.Gid) != g.gid || !fi.IsDir() {
		return true
	}
	want := mask | execMask
	return fi.Mode().Perm()&want != want || fi.Mode()&fs.ModeSetgid == 0
}

// applyAt is apply on directory dir.
func (g *fsGroup) applyAt(dir string, readOnly bool) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	return g.apply(root, readOnly)
}

package image

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/podbox/podbox/sandbox/userns"
	"golang.org/x/sys/unix"
)

// DetectDriver says which storage driver OpenStore would use for the store
// at root ("": the default root) and why. Inside the user namespace it tries
// a native overlay mount; outside it can only tell from the kernel version.
func DetectDriver(root string) (driver, reason string) {
	if root == "" {
		root = StoreOptions{}.withDefaults().Root
	}
	if fi, err := os.Stat(filepath.Join(root, "overlay")); err == nil && fi.IsDir() {
		if usesMountProgram(root) {
			return DriverFuse, "the store at " + root + " was created with fuse-overlayfs"
		}
		return DriverOverlay, "the store at " + root + " uses native overlay"
	}
	if fi, err := os.Stat(filepath.Join(root, "vfs")); err == nil && fi.IsDir() {
		return DriverVFS, "the store at " + root + " was created with vfs"
	}
	var why string
	if userns.Inside() && os.Geteuid() == 0 {
		err := tryOverlay(filepath.Dir(root))
		if err == nil {
			return DriverOverlay, "native overlay mounts in the user namespace"
		}
		why = "native overlay does not mount in the user namespace (" + err.Error() + ")"
	} else {
		if kernelAtLeast(5, 11) {
			return DriverOverlay, "kernel ≥ 5.11 mounts overlay in a user namespace"
		}
		why = "kernel < 5.11 cannot mount overlay in a user namespace"
	}
	p, err := lookFuseOverlayfs()
	if err != nil {
		return DriverVFS, why + ", and fuse-overlayfs is not installed (package fuse-overlayfs)"
	}
	if err := unix.Access("/dev/fuse", unix.R_OK|unix.W_OK); err != nil {
		return DriverVFS, why + ", and " + p + " cannot open /dev/fuse (" + err.Error() + ")"
	}
	return DriverFuse, why + "; using " + p
}

// tryOverlay mounts and unmounts a scratch overlay under dir, as the
// overlay driver will (userxattr: an unprivileged overlay keeps its
// metadata in user.* xattrs).
func tryOverlay(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(dir, ".overlay-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, d := range []string{"lower", "upper", "work", "merged"} {
		if err := os.Mkdir(filepath.Join(tmp, d), 0o700); err != nil {
			return err
		}
	}
	data := fmt.Sprintf("lowerdir=%s/lower,upperdir=%s/upper,workdir=%s/work,userxattr", tmp, tmp, tmp)
	merged := filepath.Join(tmp, "merged")
	if err := unix.Mount("overlay", merged, "overlay", 0, data); err != nil {
		return fmt.Errorf("mount: %w", err)
	}
	return unix.Unmount(merged, unix.MNT_DETACH)
}

func lookFuseOverlayfs() (string, error) {
	p, err := exec.LookPath("fuse-overlayfs")
	if err != nil {
		return "", fmt.Errorf("fuse-overlayfs is not installed (package fuse-overlayfs): %w", err)
	}
	return p, nil
}

func kernelAtLeast(major, minor int) bool {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return false
	}
	var ma, mi int
	rel := unix.ByteSliceToString(u.Release[:])
	if _, err := fmt.Sscanf(strings.SplitN(rel, "-", 2)[0], "%d.%d", &ma, &mi); err != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

package podproto

// The FDMounts protocol (see FDMounts): the CLI clones each container's
// root filesystem as a detached mount (OpenTreeClone) and sends it to the
// pod's PID 1, which moves it into its own mount namespace (MoveMountTo).
// The pod then needs neither the image store nor its mount code: mounting
// overlay layers is the CLI's business, and the mount lives on in the pod's
// namespace after the CLI is gone.
//
// One SOCK_SEQPACKET packet per container: the payload is the name, one
// descriptor rides along by SCM_RIGHTS. An empty packet ends the list; a
// payload starting with "!" is an error message and ends it too. A packet
// keeps its boundaries, so no length prefix is needed; sizes are bounded
// on both sides (MaxMountName, maxMountPacket).

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// MaxMountName bounds a name sent with a mount. Container names are
// DNS-1123 labels (63 characters); this leaves room without letting a
// packet grow without bound.
const MaxMountName = 253

// maxMountPacket bounds a packet's payload: a name, or "!" and an error
// message (cut to fit by EndMounts).
const maxMountPacket = 4096

// mountErrPrefix starts an error packet's payload.
const mountErrPrefix = "!"

// ErrMountsEnded is what RecvMounts returns when the CLI ended the list
// with an error message (wrapped with that message). errors.Is finds it.
var ErrMountsEnded = errors.New("the CLI gave up sending the root filesystems")

// SendMount sends the detached mount mountFD for the container named name
// (CLI side). The descriptor stays open: the caller closes it.
func SendMount(sock *os.File, name string, mountFD int) error {
	if name == "" || strings.HasPrefix(name, mountErrPrefix) || len(name) > MaxMountName || !utf8.ValidString(name) {
		return fmt.Errorf("sending the root filesystem of %q: not a container name (1 to %d bytes, not starting with %q)", name, MaxMountName, mountErrPrefix)
	}
	if mountFD < 0 {
		return fmt.Errorf("sending the root filesystem of %q: no descriptor", name)
	}
	if err := sendPacket(sock, []byte(name), unix.UnixRights(mountFD)); err != nil {
		return fmt.Errorf("sending the root filesystem of %q: %w", name, err)
	}
	return nil
}

// EndMounts ends the list of mounts (CLI side): with an empty errMsg all
// went; otherwise errMsg says why the rest will not come (cut to fit a
// packet), and RecvMounts returns it as an error.
func EndMounts(sock *os.File, errMsg string) error {
	var p []byte
	if errMsg != "" {
		p = []byte(mountErrPrefix + truncateUTF8(errMsg, maxMountPacket-len(mountErrPrefix)))
	}
	if err := sendPacket(sock, p, nil); err != nil {
		return fmt.Errorf("ending the root filesystems: %w", err)
	}
	return nil
}

// RecvMounts receives mounts until the list ends (pod side), calling fn
// for each with the container's name and the detached mount (close-on-exec;
// fn owns it, and closes it). It stops at fn's first error and returns it;
// the list ended with an error message returns that message, wrapping
// ErrMountsEnded. The CLI closing its end before ending the list reads as
// the end too: the caller checks that each container got its mount.
func RecvMounts(sock *os.File, fn func(name string, mount *os.File) error) error {
	buf := make([]byte, maxMountPacket+1)
	// Room for a few descriptors, so that a packet carrying more than one
	// is seen (and all of them closed) rather than cut (MSG_CTRUNC).
	oob := make([]byte, unix.CmsgSpace(4*4))
	for {
		n, fds, err := recvPacket(sock, buf, oob)
		if err != nil {
			return fmt.Errorf("receiving the root filesystems: %w", err)
		}
		payload := string(buf[:n])
		switch {
		case n == 0 || strings.HasPrefix(payload, mountErrPrefix):
			closeFDs(fds)
			if n == 0 {
				return nil
			}
			return fmt.Errorf("%w: %s", ErrMountsEnded, payload[len(mountErrPrefix):])
		case len(fds) != 1:
			closeFDs(fds)
			return fmt.Errorf("receiving the root filesystem of %q: %d descriptors in its packet, want 1", payload, len(fds))
		case n > MaxMountName:
			closeFDs(fds)
			return fmt.Errorf("receiving the root filesystems: a name of %d bytes, at most %d", n, MaxMountName)
		}
		if err := fn(payload, os.NewFile(uintptr(fds[0]), "mount:"+payload)); err != nil {
			return err
		}
	}
}

// OpenTreeClone clones the mount tree at path, with the mounts under it,
// as a detached mount (open_tree(2) with OPEN_TREE_CLONE and AT_RECURSIVE)
// that goes wherever its descriptor goes. Closing the descriptor before it
// is attached unmounts the clone.
func OpenTreeClone(path string) (*os.File, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, path, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return nil, &os.PathError{Op: "open_tree", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), "mount:"+path), nil
}

// MoveMountTo attaches the detached mount on target, an existing directory
// in the caller's mount namespace (move_mount(2)). The descriptor stays
// open; closing it afterwards leaves the mount where it is.
func MoveMountTo(mount *os.File, target string) error {
	if err := unix.MoveMount(int(mount.Fd()), "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return &os.PathError{Op: "move_mount", Path: target, Err: err}
	}
	return nil
}

func sendPacket(sock *os.File, p, oob []byte) error {
	rc, err := sock.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Write(func(fd uintptr) bool {
		for {
			serr = unix.Sendmsg(int(fd), p, oob, nil, unix.MSG_NOSIGNAL)
			if serr != unix.EINTR {
				break
			}
		}
		return serr != unix.EAGAIN
	})
	if err != nil {
		return err
	}
	return serr
}

// recvPacket reads one packet into buf, and the descriptors it carried
// (close-on-exec). A payload longer than buf, or control data cut, is an
// error (after closing what arrived).
func recvPacket(sock *os.File, buf, oob []byte) (n int, fds []int, err error) {
	rc, err := sock.SyscallConn()
	if err != nil {
		return 0, nil, err
	}
	var oobn, flags int
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		for {
			n, oobn, flags, _, rerr = unix.Recvmsg(int(fd), buf, oob, unix.MSG_CMSG_CLOEXEC)
			if rerr != unix.EINTR {
				break
			}
		}
		return rerr != unix.EAGAIN
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return 0, nil, err
	}
	fds, err = ParseRights(oob[:oobn])
	switch {
	case err != nil:
	case flags&unix.MSG_CTRUNC != 0:
		err = errors.New("a packet carried too many descriptors")
	case flags&unix.MSG_TRUNC != 0 || n >= len(buf):
		err = fmt.Errorf("a packet longer than %d bytes", len(buf)-1)
	}
	if err != nil {
		closeFDs(fds)
		return 0, nil, err
	}
	return n, fds, nil
}

// ParseRights returns every descriptor of the SCM_RIGHTS messages in oob
// (the control data of a recvmsg); both sides of the control socket and of
// FDMounts use it.
func ParseRights(oob []byte) ([]int, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("parsing a packet's control data: %w", err)
	}
	var fds []int
	for i := range msgs {
		if msgs[i].Header.Level != unix.SOL_SOCKET || msgs[i].Header.Type != unix.SCM_RIGHTS {
			continue
		}
		r, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			closeFDs(fds)
			return nil, fmt.Errorf("parsing a packet's descriptors: %w", err)
		}
		fds = append(fds, r...)
	}
	return fds, nil
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// truncateUTF8 cuts s to at most n bytes, on a character boundary.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

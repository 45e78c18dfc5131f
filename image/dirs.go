package image

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// DirError is a directory podbox refuses to use: it is not the user's own,
// or others may write to it.
type DirError struct {
	Path    string
	Problem string // what is wrong, in words
	Fix     string // what the user can do
	Err     error  // the underlying error, if any (fs.ErrPermission)
}

func (e *DirError) Error() string { return e.Path + ": " + e.Problem }

// Hint says how to fix it.
func (e *DirError) Hint() string { return e.Fix }

func (e *DirError) Unwrap() error { return e.Err }

// CheckDir checks a directory of podbox's own (its runtime or data
// directory, or one below them) that may not exist yet: if it exists it
// must be a real directory (not a symbolic link), owned by this process's
// user, and writable by nobody else. An own podbox… or pods directory that
// others may read or search is made 0700. A directory podbox cannot look at is a
// permission error naming it.
//
// Inside podbox's user namespace the user is uid 0 and other users' files
// show the overflow uid, so comparing with os.Geteuid() holds on both
// sides.
func CheckDir(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if errors.Is(err, fs.ErrPermission) {
		return &DirError{Path: path, Problem: "permission denied",
			Fix: "use a directory of your own (XDG_RUNTIME_DIR, XDG_DATA_HOME)", Err: err}
	}
	if err != nil {
		return fmt.Errorf("checking %s: %w", path, err)
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return &DirError{Path: path, Problem: "is a symbolic link: podbox uses only real directories of its own",
			Fix: "remove the link (rm " + path + "); podbox makes the directory itself"}
	case !fi.IsDir():
		return &DirError{Path: path, Problem: "is not a directory", Fix: "remove it; podbox makes the directory itself"}
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if ok && int(st.Uid) != os.Geteuid() {
		return &DirError{Path: path, Problem: fmt.Sprintf("permission denied: it is owned by another user (uid %d here), not by you", st.Uid),
			Fix: "use a directory of your own (XDG_RUNTIME_DIR, XDG_DATA_HOME), or have its owner remove it",
			Err: fs.ErrPermission}
	}
	perm := fi.Mode().Perm()
	if perm&0o022 != 0 {
		// Others could have put anything in it (a fake pod, a pid file of
		// another process): podbox does not tidy that up silently.
		return &DirError{Path: path, Problem: fmt.Sprintf("is writable by group or others (mode %04o): someone else may have put files in it", perm),
			Fix: "check its contents, then chmod 0700 " + path + " (or remove it)"}
	}
	// Only podbox's own directories are tightened (podbox…, pods, a pod's):
	// never a directory a caller passed by mistake, such as /.
	if base := filepath.Base(path); perm&0o077 != 0 && path != "/" && (strings.HasPrefix(base, "podbox") || base == "pods") {
		if err := os.Chmod(path, perm&0o700); err != nil {
			return fmt.Errorf("making %s private: %w", path, err)
		}
	}
	return nil
}

// CheckRoot checks one of podbox's top directories (RunDir, DataDir) as
// CheckDir does, and also its parent: a parent that others may write to
// without the sticky bit (as /tmp has) lets them swap podbox's directory.
func CheckRoot(path string) error {
	parent := filepath.Dir(path)
	if fi, err := os.Stat(parent); err == nil {
		if fi.Mode().Perm()&0o022 != 0 && fi.Mode()&fs.ModeSticky == 0 {
			return &DirError{Path: parent, Problem: fmt.Sprintf("is writable by group or others (mode %04o) without the sticky bit: someone else could replace %s", fi.Mode().Perm(), filepath.Base(path)),
				Fix: "chmod 0700 " + parent + ", or point XDG_RUNTIME_DIR / XDG_DATA_HOME at a directory of your own"}
		}
	}
	return CheckDir(path)
}

// MkdirOwn makes dir and its missing parents with mode 0700, then checks
// each of them from root (one of podbox's top directories, an ancestor of
// dir or dir itself) down with CheckDir.
func MkdirOwn(root, dir string) error {
	if err := CheckRoot(root); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return &DirError{Path: dir, Problem: "permission denied", Fix: "use a directory of your own (XDG_RUNTIME_DIR, XDG_DATA_HOME)", Err: err}
		}
		return fmt.Errorf("making %s: %w", dir, err)
	}
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Errorf("making %s: not inside %s", dir, root)
	}
	p := root
	if err := CheckDir(p); err != nil {
		return err
	}
	if rel == "." {
		return nil
	}
	for _, c := range strings.Split(rel, "/") {
		p = filepath.Join(p, c)
		if err := CheckDir(p); err != nil {
			return err
		}
	}
	return nil
}

// EnsureDirs makes podbox's runtime and data directories if needed and
// checks that they are the user's own (CheckRoot).
func EnsureDirs() error {
	for _, d := range []string{RunDir(), DataDir()} {
		if err := MkdirOwn(d, d); err != nil {
			return err
		}
	}
	return nil
}

package mounts

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// HostPathError is a hostPath volume that cannot be used.
type HostPathError struct {
	Volume string
	Path   string
	Err    error
}

func (e *HostPathError) Error() string {
	return fmt.Sprintf("volume %q: hostPath %s: %v", e.Volume, e.Path, e.Err)
}

func (e *HostPathError) Unwrap() error { return e.Err }

// CheckHostPaths checks every hostPath volume of pod on the host side,
// before anything starts, with the Kubernetes type rules: Directory, File,
// Socket, CharDevice and BlockDevice must exist as such; DirectoryOrCreate
// and FileOrCreate are created when missing (a file's parent must exist);
// an unset type needs the path to exist. Every path must be readable by the
// user. The error names the volume and the path.
func CheckHostPaths(pod *corev1.Pod) error {
	for _, v := range pod.Spec.Volumes {
		hp := v.HostPath
		if hp == nil {
			continue
		}
		typ := corev1.HostPathUnset
		if hp.Type != nil {
			typ = *hp.Type
		}
		if err := checkHostPath(hp.Path, typ); err != nil {
			return &HostPathError{Volume: v.Name, Path: hp.Path, Err: err}
		}
	}
	return nil
}

func checkHostPath(path string, typ corev1.HostPathType) error {
	if !filepath.IsAbs(path) {
		return errors.New("not an absolute path")
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		switch typ {
		case corev1.HostPathDirectoryOrCreate:
			if err := os.MkdirAll(path, 0o755); err != nil {
				return fmt.Errorf("creating directory: %w", unwrapPath(err))
			}
		case corev1.HostPathFileOrCreate:
			f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return fmt.Errorf("creating file: %w", unwrapPath(err))
			}
			f.Close()
		default:
			return errors.New("no such file or directory")
		}
		fi, err = os.Stat(path)
	}
	if err != nil {
		return unwrapPath(err)
	}
	mode := fi.Mode()
	want := ""
	switch typ {
	case corev1.HostPathDirectory, corev1.HostPathDirectoryOrCreate:
		if !mode.IsDir() {
			want = "a directory"
		}
	case corev1.HostPathFile, corev1.HostPathFileOrCreate:
		if !mode.IsRegular() {
			want = "a regular file"
		}
	case corev1.HostPathSocket:
		if mode.Type() != fs.ModeSocket {
			want = "a socket"
		}
	case corev1.HostPathCharDev:
		if mode.Type() != fs.ModeDevice|fs.ModeCharDevice {
			want = "a character device"
		}
	case corev1.HostPathBlockDev:
		if mode.Type() != fs.ModeDevice {
			want = "a block device"
		}
	case corev1.HostPathUnset:
	default:
		return fmt.Errorf("unknown hostPath type %q", typ)
	}
	if want != "" {
		return fmt.Errorf("is not %s (type %s), it is %s", want, typ, describeMode(mode))
	}
	access := uint32(unix.R_OK)
	if mode.IsDir() {
		access |= unix.X_OK
	}
	if err := unix.Access(path, access); err != nil {
		return fmt.Errorf("cannot be read by this user: %w", err)
	}
	return nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func describeMode(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m.IsRegular():
		return "a regular file"
	case m.Type() == fs.ModeSocket:
		return "a socket"
	case m.Type() == fs.ModeDevice|fs.ModeCharDevice:
		return "a character device"
	case m.Type() == fs.ModeDevice:
		return "a block device"
	case m.Type() == fs.ModeNamedPipe:
		return "a named pipe"
	}
	return "of mode " + m.String()
}

package image

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// reserveSize is the room the store keeps on its disk for the metadata
// writes of a removal (see Removing). go.podman.io/storage rewrites
// layers.json, images.json, containers.json and mountpoints.json whole;
// a store with a few hundred layers writes a few hundred KiB.
const reserveSize = 1 << 20

// reserveName is the reserve file, in the store's root.
const reserveName = "podbox-reserve"

// NoSpaceError is a removal that failed for want of free space, even with
// the store's reserve released.
type NoSpaceError struct {
	Dir string // the store's root
	Err error
}

func (e *NoSpaceError) Error() string {
	return fmt.Sprintf("the disk of %s is full: %v", e.Dir, e.Err)
}

func (e *NoSpaceError) Unwrap() error { return e.Err }

// Hint says how to get out.
func (e *NoSpaceError) Hint() string {
	return "free some space on that file system (df -h " + e.Dir + "), or run `podbox system reset`, which deletes the store without rewriting it"
}

// Removing runs fn, which removes something from the store (a container,
// an image, a layer). go.podman.io/storage saves its JSON metadata with
// atomic writes (a new file, then rename) before and after it deletes a
// layer's files, so on a full disk nothing could ever be removed. When
// less than reserveSize is free, Removing first deletes the store's
// reserve file, which OpenStore made while there was room, then runs fn,
// then makes the reserve anew if the space is there. (Retrying fn after a
// failure instead would not do: a failed save leaves the store's memory
// ahead of its files.)
func (s *Store) Removing(fn func() error) error {
	released := false
	var sfs unix.Statfs_t
	if err := unix.Statfs(s.root, &sfs); err == nil && sfs.Bavail*uint64(sfs.Bsize) < reserveSize {
		p := filepath.Join(s.root, reserveName)
		if err := os.Remove(p); err != nil {
			logrus.Debugf("releasing the store's reserve %s: %v", p, err)
		} else {
			logrus.Infof("the disk of %s is full: removing with the store's reserve of %d KiB", s.root, reserveSize>>10)
			released = true
		}
	}
	err := fn()
	if released {
		s.ensureReserve()
	}
	if isNoSpace(err) {
		return &NoSpaceError{Dir: s.root, Err: err}
	}
	return err
}

func isNoSpace(err error) bool {
	return errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT)
}

// ensureReserve makes the reserve file if it is missing and there is room,
// with its blocks allocated (a sparse file would free nothing).
func (s *Store) ensureReserve() {
	p := filepath.Join(s.root, reserveName)
	if fi, err := os.Stat(p); err == nil && fi.Size() == reserveSize {
		return
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		logrus.Debugf("making the store's reserve %s: %v", p, err)
		return
	}
	err = unix.Fallocate(int(f.Fd()), 0, 0, reserveSize)
	if errors.Is(err, unix.EOPNOTSUPP) {
		_, err = f.Write(make([]byte, reserveSize))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		logrus.Debugf("making the store's reserve %s: %v", p, err)
		_ = os.Remove(p)
	}
}

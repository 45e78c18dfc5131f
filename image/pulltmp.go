package image

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/sirupsen/logrus"
	"go.podman.io/storage"
	"golang.org/x/sys/unix"
)

var pullSeq atomic.Int64

// beginPull makes the directory for one pull's blobs in transit,
// $XDG_DATA_HOME/podbox/tmp/PID-N, rather than go.podman.io/image's
// /var/tmp, and removes those of pulls whose process is gone (a pull
// killed with SIGKILL leaves its blobs behind). The directories also tell
// a failed pull whether other pulls are running (see dropNewLayers).
// end removes the directory.
func (s *Store) beginPull() (dir string, end func()) {
	base := filepath.Join(s.dataDir, "tmp")
	for _, e := range s.pullDirs(base) {
		if !e.alive {
			logrus.Debugf("removing the blobs of a dead pull, %s", e.name)
			_ = os.RemoveAll(filepath.Join(base, e.name))
		}
	}
	dir = filepath.Join(base, fmt.Sprintf("%d-%d", os.Getpid(), pullSeq.Add(1)))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		logrus.Debugf("cannot create %s, using the system's temporary directory: %v", dir, err)
		return "", func() {}
	}
	return dir, func() { _ = os.RemoveAll(dir) }
}

type pullDir struct {
	name  string
	alive bool
}

func (s *Store) pullDirs(base string) []pullDir {
	ents, err := os.ReadDir(base)
	if err != nil {
		return nil
	}
	var out []pullDir
	for _, e := range ents {
		p, _, _ := strings.Cut(e.Name(), "-")
		pid, err := strconv.Atoi(p)
		if err != nil {
			continue
		}
		out = append(out, pullDir{name: e.Name(), alive: alive(pid)})
	}
	return out
}

// layerIDs is the set of the store's layers.
func (s *Store) layerIDs() map[string]bool {
	ids := map[string]bool{}
	layers, err := s.store.Layers()
	if err != nil {
		return nil
	}
	for _, l := range layers {
		ids[l.ID] = true
	}
	return ids
}

// dropNewLayers deletes the layers a failed pull committed (go.podman.io/image
// commits each layer as it arrives, so a pull that fails at its third layer
// leaves the first two): those not in before that no image or container
// uses. If another pull runs (it may be about to use such a layer), it
// leaves them; the next pull of the image reuses them anyway.
func (s *Store) dropNewLayers(before map[string]bool, ownDir string) {
	if before == nil {
		return
	}
	for _, d := range s.pullDirs(filepath.Join(s.dataDir, "tmp")) {
		if d.alive && filepath.Join(s.dataDir, "tmp", d.name) != ownDir {
			logrus.Debugf("another pull (%s) runs: keeping the layers of the failed one", d.name)
			return
		}
	}
	for {
		layers, err := s.store.Layers()
		if err != nil {
			return
		}
		used := map[string]bool{}
		imgs, err := s.store.Images()
		if err != nil {
			return
		}
		for _, img := range imgs {
			used[img.TopLayer] = true
			for _, l := range img.MappedTopLayers {
				used[l] = true
			}
		}
		ctrs, err := s.store.Containers()
		if err != nil {
			return
		}
		for _, c := range ctrs {
			used[c.LayerID] = true
		}
		for _, l := range layers {
			used[l.Parent] = true // a parent stays while it has a child
		}
		var drop []storage.Layer
		for _, l := range layers {
			if !before[l.ID] && !used[l.ID] {
				drop = append(drop, l)
			}
		}
		if len(drop) == 0 {
			return
		}
		for _, l := range drop {
			logrus.Debugf("removing layer %.12s of the failed pull", l.ID)
			// A pull that filled the disk must still take its layers back.
			if err := s.Removing(func() error { return s.store.DeleteLayer(l.ID) }); err != nil {
				logrus.Debugf("removing layer %.12s: %v", l.ID, err)
				return
			}
		}
	}
}

// alive reports whether process pid exists and is not a zombie (a killed
// pull's child may wait a while for its new parent to reap it).
func alive(pid int) bool {
	if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	// pid (comm) STATE …: comm may hold spaces and parentheses.
	if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z'
	}
	return true
}

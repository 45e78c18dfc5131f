package pod

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/podbox/podbox/sandbox/podproto"
)

// watchVolumes evicts the pod once an on-disk emptyDir grows past its
// sizeLimit (Work.VolumeLimits), as the kubelet's eviction manager does
// (localStorageEviction): see the package doc.
func (p *podProc) watchVolumes() {
	wait := 2 * time.Second
	for {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-p.stopCh:
			t.Stop()
			return
		case <-p.haltCh:
			t.Stop()
			return
		}
		start := time.Now()
		for _, l := range p.w.VolumeLimits {
			used, err := diskUsage(l.Path)
			if err != nil {
				log.warnf("measuring volume %q: %v", l.Name, err)
				continue
			}
			if used > l.Bytes {
				msg := fmt.Sprintf(podproto.MessageEmptyDirLimit, l.Name, l.Limit)
				log.infof("volume %q uses %d bytes, over its sizeLimit %s: evicting the pod", l.Name, used, l.Limit)
				grace := 2 * time.Second
				p.halt(podproto.EventTypeWarning, podproto.ReasonEvicted, msg, &grace)
				return
			}
		}
		wait = max(2*time.Second, 10*time.Since(start))
	}
}

// diskUsage is what du counts under dir: the blocks of every file and
// directory, a file with several links once.
func diskUsage(dir string) (int64, error) {
	var total int64
	seen := map[uint64]bool{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed meanwhile
			}
			return err
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		if st.Nlink > 1 && !d.IsDir() {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		total += st.Blocks * 512
		return nil
	})
	return total, err
}

// writeSysctls sets the pod's sysctls in its own namespaces, through
// /proc/sys (the net.* ones are the network namespace of the writer).
func writeSysctls(list []podproto.Sysctl) error {
	for _, s := range list {
		path := "/proc/sys/" + strings.ReplaceAll(s.Name, ".", "/")
		if err := os.WriteFile(path, []byte(s.Value), 0); err != nil {
			return fmt.Errorf("setting sysctl %s=%s: %w", s.Name, s.Value, err)
		}
	}
	return nil
}

package pod

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Restart on change (the podbox.io/restart-on-change annotation,
// Container.WatchPaths): the pod's PID 1 watches the host paths of the
// named containers' hostPath mounts, so it works however the pod was
// started (up, up -d, up --watch), and restarts a container at once when a
// file under them changes, for interpreted languages. One inotify
// descriptor and one goroutine (plus one that closes it at the stop), only
// in a pod with the annotation. Directories are watched recursively, at
// most maxWatchDirs of them (past that a warning in the pod's log); a
// directory made later is watched when it appears. Names starting with "."
// (.git, editors' swap files), ending with "~", __pycache__ (Python writes
// it at import: it would restart the container it just started) and
// node_modules are ignored. Events are debounced watchDebounce after the
// last one, so an editor's save (temporary file, rename) or a `git
// checkout` is one restart; but at most watchMaxDelay after the first,
// so that a file written without a pause restarts too.

const (
	watchDebounce = 300 * time.Millisecond
	watchMaxDelay = 2 * time.Second // a file written without a pause still restarts
	maxWatchDirs  = 4096
	watchMask     = unix.IN_CLOSE_WRITE | unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO
)

// watchDir is one watched directory: the containers that watch all of it
// (a directory mount), and those that watch one name in it (a file mount).
type watchDir struct {
	path string
	all  map[*container]bool
	only map[string][]*container
}

type fileWatcher struct {
	p      *podProc
	fd     int
	dirs   map[int32]*watchDir
	warned bool
}

// watchFiles restarts the containers with WatchPaths when a file under
// one changes, until the pod stops.
func (p *podProc) watchFiles() {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		log.warnf("restart-on-change: inotify: %v", err)
		return
	}
	// Non-blocking, so reads go through the poller: a deadline ends the
	// debounce, and Close ends a read.
	f := os.NewFile(uintptr(fd), "inotify")
	defer f.Close()
	w := &fileWatcher{p: p, fd: fd, dirs: map[int32]*watchDir{}}
	for _, c := range p.ctrs {
		for _, path := range c.spec.WatchPaths {
			w.addRoot(c, path)
		}
	}
	log.debugf("restart-on-change: watching %d directories", len(w.dirs))
	go func() {
		select {
		case <-p.stopCh:
		case <-p.haltCh:
		}
		_ = f.SetReadDeadline(time.Now())
		f.Close()
	}()
	pending := map[*container]string{} // the first file that changed
	var first time.Time                // when it changed
	more := map[*container]int{}       // and how many more
	buf := make([]byte, 64<<10)
	for {
		n, err := f.Read(buf)
		if p.stopping() {
			return
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			for c, what := range pending {
				if k := more[c]; k > 0 {
					what += " and " + plural(k, "other file")
				}
				go c.restartForChange(what)
			}
			clear(pending)
			clear(more)
			first = time.Time{}
			_ = f.SetReadDeadline(time.Time{})
			continue
		}
		if err != nil {
			log.warnf("restart-on-change: reading inotify: %v", err)
			return
		}
		changed := false
		w.parse(buf[:n], func(c *container, path string) {
			changed = true
			if _, ok := pending[c]; !ok {
				pending[c] = path
			} else if path != pending[c] {
				more[c]++
			}
		})
		if changed {
			now := time.Now()
			if first.IsZero() {
				first = now
			}
			deadline := now.Add(watchDebounce)
			if last := first.Add(watchMaxDelay); last.Before(deadline) {
				deadline = last
			}
			_ = f.SetReadDeadline(deadline)
		}
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// parse calls changed for each container an event in buf concerns, with
// the path that changed; a new directory is watched too.
func (w *fileWatcher) parse(buf []byte, changed func(c *container, path string)) {
	for len(buf) >= unix.SizeofInotifyEvent {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[0]))
		end := unix.SizeofInotifyEvent + int(ev.Len)
		if end > len(buf) {
			return
		}
		name := strings.TrimRight(string(buf[unix.SizeofInotifyEvent:end]), "\x00")
		buf = buf[end:]
		if ev.Mask&unix.IN_Q_OVERFLOW != 0 {
			// Events were lost: every watched container.
			for _, d := range w.dirs {
				for c := range d.all {
					changed(c, d.path)
				}
			}
			continue
		}
		d := w.dirs[ev.Wd]
		if d == nil {
			continue
		}
		if ev.Mask&unix.IN_IGNORED != 0 {
			delete(w.dirs, ev.Wd) // removed
			continue
		}
		if name == "" || ignoredName(name) {
			continue
		}
		path := filepath.Join(d.path, name)
		if ev.Mask&unix.IN_ISDIR != 0 && ev.Mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0 && len(d.all) > 0 {
			w.addTree(path, d.all)
		}
		for c := range d.all {
			changed(c, path)
		}
		for _, c := range d.only[name] {
			changed(c, path)
		}
	}
}

// ignoredName: see Restart on change above.
func ignoredName(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") || name == "__pycache__" || name == "node_modules"
}

// addRoot watches path for c: a directory with its subdirectories, else
// (a file, or nothing yet) its name in its directory.
func (w *fileWatcher) addRoot(c *container, path string) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		w.addTree(path, map[*container]bool{c: true})
		return
	}
	// A file (or nothing yet): its name in its directory.
	d := w.add(filepath.Dir(path))
	if d == nil {
		return
	}
	if d.only == nil {
		d.only = map[string][]*container{}
	}
	name := filepath.Base(path)
	d.only[name] = append(d.only[name], c)
}

// addTree watches root and the directories under it for the containers
// in all. A root that is a symbolic link is followed (WalkDir does not),
// its paths still named under root.
func (w *fileWatcher) addTree(root string, all map[*container]bool) {
	target, err := filepath.EvalSymlinks(root)
	if err != nil {
		log.warnf("restart-on-change: watching %s: %v", root, err)
		return
	}
	_ = filepath.WalkDir(target, func(path string, e fs.DirEntry, err error) error {
		if err != nil || !e.IsDir() {
			return nil
		}
		path = root + strings.TrimPrefix(path, target)
		if path != root && ignoredName(e.Name()) {
			return filepath.SkipDir
		}
		d := w.add(path)
		if d == nil {
			if len(w.dirs) >= maxWatchDirs {
				return filepath.SkipAll
			}
			return filepath.SkipDir
		}
		if d.all == nil {
			d.all = map[*container]bool{}
		}
		for c := range all {
			d.all[c] = true
		}
		return nil
	})
}

// add watches directory dir; nil if it cannot.
func (w *fileWatcher) add(dir string) *watchDir {
	if len(w.dirs) >= maxWatchDirs {
		if !w.warned {
			w.warned = true
			log.warnf("restart-on-change: more than %d directories: %s and the rest are not watched", maxWatchDirs, dir)
		}
		return nil
	}
	wd, err := unix.InotifyAddWatch(w.fd, dir, watchMask|unix.IN_ONLYDIR)
	if err != nil {
		log.warnf("restart-on-change: watching %s: %v", dir, err)
		return nil
	}
	d := w.dirs[int32(wd)]
	if d == nil {
		d = &watchDir{path: dir}
		w.dirs[int32(wd)] = d
	}
	return d
}

// restartForChange restarts c at once because what changed: a running
// container is stopped as the kubelet kills one (a Killing event, preStop,
// its stop signal, SIGKILL after the grace period) and its loop starts it
// again without back-off; one waiting in back-off starts now; one that
// has finished stays so.
func (c *container) restartForChange(what string) {
	c.mu.Lock()
	created, dead, pending := c.created, c.dead, c.changed != ""
	running := created && dead != nil && !pending && !closed(dead)
	if running {
		c.changed = what
	}
	c.mu.Unlock()
	if running {
		c.kill(c.p.podGrace(), "Container %s: %s changed, will be restarted", c.spec.Name, what)
		return
	}
	if !created {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// takeChanged returns what changed if this run was stopped for it, and
// forgets it.
func (c *container) takeChanged() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	what := c.changed
	c.changed = ""
	return what
}

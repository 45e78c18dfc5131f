package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrWatchStdin reports `up --watch -f -`: standard input does not change.
var ErrWatchStdin = errors.New("--watch needs files: standard input (-f -) cannot be watched")

// watchDebounce is how long a burst of changes (an editor's write, rename
// and chmod) must be quiet before the files are applied again.
const watchDebounce = 200 * time.Millisecond

// watch is `up --watch`: it applies the files, follows the pods' logs,
// and applies again whenever one of the files changes; a file that does
// not load is reported and the pods run on as they are. The pods start
// as `up -d` starts them (they would outlive a killed watch, as
// detached pods); Ctrl-C stops the pods of the files and ends it.
func watch(ctx context.Context, in *interrupts, o UpOptions) (int, error) {
	for _, p := range o.ManifestPaths {
		if p == "-" {
			return 125, ErrWatchStdin
		}
	}
	fw, err := watchFiles(o.ManifestPaths)
	if err != nil {
		return 125, err
	}
	defer fw.close()
	in.takeOver()
	o.Detach = true
	var (
		mux     *logMux
		current = map[string]*podHandle{} // the pods of the files, as last applied
	)
	defer func() {
		if mux != nil {
			mux.close()
		}
	}()
	applyFiles := func() {
		f, err := loadManifests(o)
		if err != nil {
			fmt.Fprintf(o.Err, "podbox: %v (the pods run on as they are)\n", err)
			return
		}
		hs, steps, code, err := apply(ctx, f, o)
		if err != nil || code != 0 {
			fmt.Fprintf(o.Err, "podbox: %v\n", err)
			return
		}
		next := map[string]*podHandle{}
		var srcs []logSource
		keep := map[string]*follower{}
		if mux != nil {
			for _, fl := range mux.fs {
				keep[fl.src.dir] = fl
			}
		}
		var kept []*follower
		for i, s := range steps {
			h := hs[i]
			switch {
			case h == nil && current[s.pod.Name] != nil:
				h = current[s.pod.Name]
			case h == nil:
				h = adoptPod(s.pod, o.Store)
			default:
				go func() { // nobody else reads what a detached pod says
					for range h.events {
					}
				}()
			}
			next[s.pod.Name] = h
			if l := s.words(); l != "" {
				fmt.Fprintln(o.Out, l)
			} else {
				fmt.Fprintln(o.Out, s.pod.Name+": created")
			}
			for _, c := range allContainers(s.pod) {
				src := logSource{label: label(h, c.Name, len(steps)), dir: h.dirs.containerLogDir(c.Name)}
				if fl := keep[src.dir]; fl != nil && s.act == actUnchanged {
					fl.src.label = src.label
					kept = append(kept, fl)
					delete(keep, src.dir)
					continue
				}
				srcs = append(srcs, src)
			}
		}
		for _, fl := range keep {
			if fl.fh != nil {
				fl.fh.Close()
			}
		}
		mux = newLogMux(srcs, o.Out)
		mux.fs = append(kept, mux.fs...)
		for i, fl := range mux.fs {
			fl.colour = colours[i%len(colours)]
			mux.width = max(mux.width, len(fl.src.label))
		}
		current = next
	}
	applyFiles()
	fmt.Fprintf(o.Err, "watching %s for changes; Ctrl-C stops the pods\n", strings.Join(o.ManifestPaths, ", "))
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if mux != nil {
				mux.poll()
			}
		case <-fw.C:
			if mux != nil {
				mux.poll()
			}
			fmt.Fprintln(o.Err, "the files changed: applying them")
			applyFiles()
		case s := <-in.C:
			if !in.fresh(s) {
				continue
			}
			if mux != nil {
				mux.poll()
			}
			stopAll(current, o)
			return exitCode128(s), nil
		}
	}
}

// stopAll stops the pods as `down` does, all at once, saying so.
func stopAll(pods map[string]*podHandle, o UpOptions) {
	var wg sync.WaitGroup
	for n := range pods {
		fmt.Fprintf(o.Err, "stopping pod %s\n", n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := downOne(context.Background(), n, probePod(n), DownOptions{Store: o.Store}); err != nil {
				fmt.Fprintf(o.Err, "podbox: stopping pod %q: %v\n", n, err)
			}
		}()
	}
	wg.Wait()
}

// fileWatcher says, on C, that one of the watched manifests changed,
// once a burst of changes has been quiet for watchDebounce. It watches
// the files' directories, not the files: an editor that saves by
// writing a new file and renaming it over the old one replaces the inode
// a watch on the file would hold.
type fileWatcher struct {
	C   chan struct{}
	f   *os.File
	wds map[int32]watchedDir
}

// watchedDir is one directory inotify watches and the names in it that
// count ("" for every manifest file in it: -f DIR).
type watchedDir struct {
	names map[string]bool
	all   bool
}

func watchFiles(paths []string) (*fileWatcher, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("--watch: inotify: %w", err)
	}
	w := &fileWatcher{C: make(chan struct{}, 1), f: os.NewFile(uintptr(fd), "inotify"), wds: map[int32]watchedDir{}}
	const mask = unix.IN_CLOSE_WRITE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_CREATE | unix.IN_DELETE | unix.IN_MODIFY
	for _, p := range paths {
		dir, name, all := filepath.Dir(p), filepath.Base(p), false
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			dir, name, all = p, "", true
		}
		wd, err := unix.InotifyAddWatch(fd, dir, mask)
		if err != nil {
			w.f.Close()
			return nil, fmt.Errorf("--watch: watching %s: %w", dir, err)
		}
		d := w.wds[int32(wd)]
		if d.names == nil {
			d.names = map[string]bool{}
		}
		d.names[name] = true
		d.all = d.all || all
		w.wds[int32(wd)] = d
	}
	go w.run()
	return w, nil
}

func (w *fileWatcher) close() { w.f.Close() }

func (w *fileWatcher) run() {
	changed := make(chan struct{}, 1)
	go func() { // the debounce
		var timer <-chan time.Time
		for {
			select {
			case _, ok := <-changed:
				if !ok {
					return
				}
				timer = time.After(watchDebounce)
			case <-timer:
				timer = nil
				select {
				case w.C <- struct{}{}:
				default:
				}
			}
		}
	}()
	defer close(changed)
	buf := make([]byte, 64*1024)
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			return // closed
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			nameb := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			name := strings.TrimRight(string(nameb), "\x00")
			off += unix.SizeofInotifyEvent + int(ev.Len)
			d, ok := w.wds[ev.Wd]
			if !ok {
				continue
			}
			if d.names[name] || (d.all && isManifestName(name)) {
				select {
				case changed <- struct{}{}:
				default:
				}
			}
		}
	}
}

// isManifestName is what manifest.Load reads of a directory.
func isManifestName(name string) bool {
	switch filepath.Ext(name) {
	case ".yaml", ".yml", ".json":
		return !strings.HasPrefix(name, ".")
	}
	return false
}

package sandbox

// Finished pods kept for inspection (issue 11, item 8). A pod that
// finishes by itself (Succeeded or Failed) in a foreground `up` is not
// removed whole: as on a cluster, where a completed pod stays listed
// until it is deleted, `ps` lists it Completed or Error, and `logs`,
// `describe` and `get` answer for it, until `down` of it or the next `up`
// of the same name (which removes it first). Only what they read is kept:
// its data directory with the containers' logs and finished.json (the
// pod's status and events when it finished, as the control socket served
// them); its processes, mounts, storage containers, root filesystems,
// volumes and runtime directory go as for any pod. finished.json is the
// mark: the foreground `up` writes it when the pod says it finished and
// before it stops it, unless `down` is stopping the pod (its down mark),
// so a pod ended by Ctrl-C, SIGTERM or down is removed whole, as before.
// The cleanup role, garbage collection and a foreground `up` after the
// pod's exit all keep a marked pod's data directory (pruneFinished), and
// `down` and `up` forget the mark first (forgetFinished). `up -d` needs
// none of this: a pod of it that finished keeps its PID 1, which serves
// its status and logs until `down`.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
)

// finishedFile is the mark of a finished pod kept for inspection, and
// what it was when it finished (savedPod).
func (d Dirs) finishedFile() string { return filepath.Join(d.Data, "finished.json") }

// keptData are the entries of a kept pod's data directory that stay: the
// logs, the mark, and what `up` recorded of the manifest it came from
// (applied.json, for down -f).
var keptData = map[string]bool{"logs": true, "finished.json": true, "applied.json": true}

// keptFinished reports whether pod name is a finished pod kept for
// inspection: marked, and its process gone. Such a pod is not running: an
// `up` of its name creates it anew, `down` removes it, garbage collection
// leaves it (shared contract 4).
func keptFinished(name string) bool {
	if _, err := os.Stat(PodDirs(name).finishedFile()); err != nil {
		return false
	}
	return !podAlive(name)
}

// keepFinished marks the pod of dirs, which finished by itself, to be
// kept, with its status p and events evs; not if `down` is stopping it.
func keepFinished(dirs Dirs, p *corev1.Pod, evs []corev1.Event) error {
	if _, err := os.Stat(dirs.downMark()); err == nil {
		return nil
	}
	b, err := json.Marshal(savedPod{Pod: p, Events: evs})
	if err != nil {
		return err
	}
	return writeFileAtomic(dirs.finishedFile(), b)
}

// readFinished is what finished.json holds, or nil.
func readFinished(dirs Dirs) *savedPod {
	b, err := os.ReadFile(dirs.finishedFile())
	if err != nil {
		return nil
	}
	var s savedPod
	if json.Unmarshal(b, &s) != nil || s.Pod == nil {
		return nil
	}
	return &s
}

// forgetFinished removes the mark, so that the pod's cleanup removes it
// whole: for `down`, and `up` of the same name.
func forgetFinished(dirs Dirs) error {
	if err := os.Remove(dirs.finishedFile()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing %s: %w", dirs.finishedFile(), err)
	}
	return nil
}

// pruneFinished removes from a kept pod's data directory data all but
// keptData (the volumes above all), after proving it is a pod's
// directory (checkPodDir).
func pruneFinished(data string) error {
	ok, err := checkPodDir(data)
	if !ok || err != nil {
		return err
	}
	ents, err := os.ReadDir(data)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		if !keptData[e.Name()] {
			if err := os.RemoveAll(filepath.Join(data, e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// removeData removes a pod's data directory, or prunes it if the pod is
// kept (marked).
func removeData(data string) error {
	if _, err := os.Stat(filepath.Join(data, "finished.json")); err == nil {
		return pruneFinished(data)
	}
	return removePodDir(data)
}

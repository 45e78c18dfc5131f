package sandbox

// The cleanup helper (issue 10): the last thing a pod's PID 1 runs, once
// its containers are gone and their root filesystems and tmpfs unmounted.
// Removing the pod's storage containers needs go.podman.io/storage, which
// the pod's PID 1 must not link (its pages would be paid per pod for the
// pod's whole life), and removing its volumes needs a process inside the
// user namespace (their files belong to subordinate ids). So PID 1 runs
// podbox itself for a moment in this role, from inside the pod's
// namespaces, as its child: CleanupCommand is the command `up` computes and
// hands over in podproto.Work.Cleanup, CleanupMain the role.
//
// Order, as the pod's teardown did it before (issue 9): the storage
// containers first (mounts.RemoveRootfs under store.Removing, which frees
// the store's reserve on a full disk), then the data directory (the
// volumes, the tmpfs among them already unmounted by the pod, and the
// logs), then the runtime directory, both through removePodDir. A root
// filesystem that could not go keeps the runtime directory, so that ps
// still lists the pod and `down` tries again, and the exit code is 1; the
// pod's log (this process's stderr) says why.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/podbox/podbox/image"
	"github.com/podbox/podbox/mounts"
	"github.com/podbox/podbox/sandbox/podproto"
	"github.com/sirupsen/logrus"
)

// envCleanup chooses the cleanup role and carries its work (cleanupJob as
// JSON).
const envCleanup = "_PODBOX_CLEANUP"

// cleanupJob is what CleanupMain removes.
type cleanupJob struct {
	Pod   string             `json:"pod"`
	Run   string             `json:"run"`
	Data  string             `json:"data"`
	Store image.StoreOptions `json:"store"`
	IDs   []string           `json:"ids"` // storage container names
}

// CleanupCommand returns the command (argv, argv[0] the program's path)
// and its whole environment by which a pod's PID 1 runs podbox in the
// cleanup role at teardown, to remove the storage containers ids of pod,
// its volumes and its directories dirs, in the image store store. It runs
// podbox's own executable, so it has the store, whichever program runs the
// pod. nil if podbox's path is unknown: the pod's leftovers then wait for
// the next `up` or `down`, which remove a dead pod's.
func CleanupCommand(dirs Dirs, pod string, store image.StoreOptions, ids []string) (argv []string, env []string) {
	exe, err := os.Executable()
	if err != nil {
		logrus.Warnf("pod %q will not clean up after itself (podbox's path is unknown: %v): podbox down or the next up will", pod, err)
		return nil, nil
	}
	job, err := json.Marshal(cleanupJob{Pod: pod, Run: dirs.Run, Data: dirs.Data, Store: store, IDs: ids})
	if err != nil {
		return nil, nil // cannot happen: strings only
	}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k != podproto.EnvPodChild && k != envCleanup {
			env = append(env, kv)
		}
	}
	return []string{exe}, append(env, envCleanup+"="+string(job))
}

// IsCleanup reports whether this process was started in the cleanup role
// (CleanupCommand).
func IsCleanup() bool { return os.Getenv(envCleanup) != "" }

// CleanupMain runs the cleanup role: it removes what CleanupCommand named,
// logging to stderr (the pod's log), and returns 0 if all went, else 1.
func CleanupMain() int {
	s := os.Getenv(envCleanup)
	os.Unsetenv(envCleanup)
	logrus.SetOutput(os.Stderr)
	logrus.SetFormatter(&logrus.TextFormatter{DisableColors: true, FullTimestamp: true})
	logrus.SetLevel(logrus.InfoLevel)
	var j cleanupJob
	if err := json.Unmarshal([]byte(s), &j); err != nil {
		logrus.Errorf("[podbox:cleanup] reading what to remove: %v", err)
		return 1
	}
	if err := j.check(); err != nil {
		logrus.Errorf("[podbox:cleanup] %v", err)
		return 1
	}
	return j.run(func(remove func(*image.Store) error) error {
		store, err := image.OpenStore(j.Store)
		if err != nil {
			return err
		}
		defer store.Shutdown()
		return remove(store)
	})
}

// check refuses a job whose directories are not the pod's.
func (j *cleanupJob) check() error {
	if err := ValidatePodName(j.Pod); err != nil {
		return err
	}
	for _, d := range []string{j.Run, j.Data} {
		if d == "" || filepath.Base(d) != j.Pod {
			return fmt.Errorf("refusing to remove %q: not pod %q's directory", d, j.Pod)
		}
	}
	return nil
}

// run removes the storage containers through withStore (which opens the
// store and gives it to its argument), then the directories.
func (j *cleanupJob) run(withStore func(func(*image.Store) error) error) int {
	failed := false
	keepRun := false
	err := withStore(func(store *image.Store) error {
		var errs []error
		for _, id := range j.IDs {
			if err := store.Removing(func() error { return mounts.RemoveRootfs(store.Storage(), id) }); err != nil {
				errs = append(errs, fmt.Errorf("removing the root filesystem %s: %w", id, err))
			}
		}
		// Any other the pod may have left (they carry its name). Without
		// lockPods: no other pod of this name can be born while this one
		// lives (up checks under the lock), and garbage collection leaves
		// a live pod's containers alone.
		if _, err := removeContainersOf(store, j.Pod, nil); err != nil {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
	if err != nil {
		logrus.Warnf("[podbox:cleanup] %v; the pod's runtime directory stays for podbox down", err)
		failed, keepRun = true, true
	}
	if err := removeData(j.Data); err != nil { // a finished pod kept for inspection keeps its logs (finished.go)
		logrus.Warnf("[podbox:cleanup] removing %s: %v", j.Data, err)
		failed = true
	}
	if !keepRun {
		if err := removePodDir(j.Run); err != nil {
			logrus.Warnf("[podbox:cleanup] removing %s: %v", j.Run, err)
			failed = true
		}
	}
	if failed {
		return 1
	}
	return 0
}

package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/podbox/podbox/image"
	"github.com/podbox/podbox/mounts"
	"github.com/podbox/podbox/sandbox/manifest"
	"github.com/podbox/podbox/sandbox/userns"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// DownOptions say which pods to remove.
type DownOptions struct {
	Names         []string           // pods by name
	ManifestPaths []string           // or the pods of these manifest files or directories ("-": standard input)
	All           bool               // or every pod
	Store         image.StoreOptions // the image store (leftovers of dead pods)
	Out           io.Writer          // one line per pod removed
	// GracePeriod, if not nil, replaces the pods'
	// terminationGracePeriodSeconds (kubectl delete --grace-period): 0
	// kills at once. nil: each pod's own.
	GracePeriod *time.Duration
	// Timeout is how long to wait for a pod to stop before killing its
	// process outright (kubectl delete --timeout); 0: its grace period
	// plus 15 s.
	Timeout time.Duration
	// Volumes removes the PersistentVolumeClaims too: those the removed
	// pods mount, with ManifestPaths those of the files, with All every
	// one; never one that a pod still there mounts.
	Volumes bool
}

// Down stops pods and removes them: containers, root filesystems, volumes,
// logs, directories. A pod whose process died is cleaned up the same way.
// It must run inside podbox's user namespace: only there can the
// subuid-owned files of a pod's volumes be removed.
func Down(ctx context.Context, o DownOptions) error {
	if !userns.Inside() {
		return ErrNotInUserNS
	}
	for _, n := range o.Names {
		if err := ValidatePodName(n); err != nil {
			return err
		}
	}
	if err := checkPodsDirs(); err != nil {
		return err
	}
	var names, jobNames []string
	for _, n := range o.Names {
		// A name that is no pod's but a Job's (up -d) is the Job.
		if !probePod(n).exists && jobExists(n) {
			jobNames = append(jobNames, n)
			continue
		}
		names = append(names, n)
	}
	strict := true // a named pod that does not exist is an error
	claims := map[claimRef]bool{}
	var f *manifest.File
	if len(o.ManifestPaths) > 0 {
		var err error
		if f, err = manifest.LoadPods(o.ManifestPaths...); err != nil {
			return err
		}
		for _, j := range f.Jobs {
			jobNames = append(jobNames, j.Name)
		}
	}
	if o.All {
		var err error
		if jobNames, err = allJobNames(); err != nil {
			return err
		}
	}
	// A Job's controller goes first, so that it starts no pod more; then
	// its pods go with the others, then its directory (jobrole.go).
	jobPods, jobs, err := stopJobs(ctx, jobNames)
	if err != nil {
		return err
	}
	names = append(names, jobPods...)
	if f != nil {
		if names, err = filePods(f, names); err != nil {
			return err
		}
		claims = fileClaims(f)
		strict = false
	}
	if o.All {
		var err error
		if names, err = podNames(); err != nil {
			return err
		}
		if o.Volumes {
			if claims, err = allClaims(); err != nil {
				return err
			}
		}
		strict = false
	}
	names = uniq(names) // a Job's pod may be named too
	// Ask every pod to stop first, then wait: their grace periods overlap.
	type target struct {
		name string
		st   podProbe
		done chan error
	}
	var targets []*target
	var errs []error
	for _, n := range names {
		st := probePod(n)
		if !st.exists {
			// What a pod killed at the wrong moment may leave: storage
			// containers, and nothing else.
			if removed, err := removeOrphanContainers(o.Store, n); err != nil {
				errs = append(errs, fmt.Errorf("removing pod %q: %w", n, err))
			} else if removed > 0 {
				fmt.Fprintln(o.Out, n)
			} else if strict {
				errs = append(errs, fmt.Errorf("pod %q: %w", n, ErrPodNotFound))
			}
			continue
		}
		if st.spec != nil {
			podClaims(claims, st.spec)
		}
		t := &target{name: n, st: st, done: make(chan error, 1)}
		targets = append(targets, t)
		go func() { t.done <- downOne(ctx, t.name, t.st, o) }()
	}
	for _, t := range targets {
		if err := <-t.done; err != nil {
			if !strict && errors.Is(err, ErrPodRunning) {
				continue // started by another podbox while we looked
			}
			errs = append(errs, fmt.Errorf("removing pod %q: %w", t.name, err))
			continue
		}
		fmt.Fprintln(o.Out, t.name)
	}
	if o.All {
		if _, err := removeOrphanContainers(o.Store, ""); err != nil {
			errs = append(errs, err)
		}
	}
	for _, j := range jobs {
		if err := removeJobDir(j); err != nil {
			errs = append(errs, fmt.Errorf("removing job %q: %w", j, err))
			continue
		}
		fmt.Fprintln(o.Out, "job/"+j)
	}
	if o.Volumes {
		if err := removeClaims(claims, o.Out); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func downOne(ctx context.Context, name string, st podProbe, o DownOptions) error {
	so := o.Store
	dirs := PodDirs(name)
	if st.alive {
		pp, _ := livePodProcess(name)
		grace := 30 * time.Second
		if st.spec != nil && st.spec.Spec.TerminationGracePeriodSeconds != nil {
			grace = time.Duration(*st.spec.Spec.TerminationGracePeriodSeconds) * time.Second
		}
		secs := -1
		if o.GracePeriod != nil {
			grace = max(*o.GracePeriod, 0)
			secs = int(grace / time.Second)
		}
		timeout := grace + 15*time.Second
		if o.Timeout > 0 {
			timeout = o.Timeout
		}
		// For an `up` still starting this pod: its end is no crash.
		_ = os.WriteFile(dirs.downMark(), nil, 0o600)
		if err := newCtlClient(dirs.ctlSock()).stop(ctx, secs); err != nil {
			// The process lives but does not answer: PID 1 takes the
			// pod's processes with it.
			logrus.Warnf("pod %q: %v: killing its process %d", name, err, pp.PID)
			pp.signal(unix.SIGKILL)
		}
		deadline, killed := time.Now().Add(timeout), false
		for pp.alive() {
			if time.Now().After(deadline) {
				if killed {
					// SIGKILL ends a process unless it is stuck in the
					// kernel (D state): say so rather than wait on.
					return fmt.Errorf("%w: its process %d is still there %s after SIGKILL (see its state in /proc/%d/status); podbox down %s again once it has gone",
						ErrPodRunning, pp.PID, killWait, pp.PID, name)
				}
				logrus.Warnf("pod %q did not stop in %s: killing its process %d", name, timeout, pp.PID)
				pp.signal(unix.SIGKILL)
				deadline, killed = time.Now().Add(killWait), true
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	// A finished pod kept for inspection goes whole (finished.go).
	if err := forgetFinished(dirs); err != nil {
		return err
	}
	return cleanupIfDead(name, so)
}

// cleanupDead removes what a pod whose process is gone left behind: its
// storage containers (the mounts died with its mount namespace), runtime
// state, volumes and logs. The caller holds lockPods.
func cleanupDead(name string, st podProbe, so image.StoreOptions) error {
	dirs := PodDirs(name)
	_, errRun := os.Stat(dirs.Run)
	_, errData := os.Stat(dirs.Data)
	if errRun != nil && errData != nil {
		return nil // it cleaned up after itself
	}
	if errRun != nil && readFinished(dirs) != nil {
		// A finished pod kept for inspection that cleaned up after
		// itself: its storage containers went before its runtime dir.
		return pruneFinished(dirs.Data)
	}
	// Volumes and logs first: on a full disk they may be what frees it.
	// A finished pod kept for inspection keeps its logs (finished.go).
	var errs []error
	if err := removeData(dirs.Data); err != nil {
		errs = append(errs, err)
	}
	store, err := image.OpenStore(so)
	if err != nil {
		errs = append(errs, err)
	} else {
		if st.spec != nil {
			for _, c := range allContainers(st.spec) {
				// A failed removal is an error (issue 9): the pod's runtime
				// directory then stays, so that ps shows it and the next
				// down tries again.
				id := containerID(name, c.Name)
				err := store.Removing(func() error { return mounts.RemoveRootfs(store.Storage(), id) })
				if err != nil {
					errs = append(errs, fmt.Errorf("removing the root file system of container %q: %w", c.Name, err))
				}
			}
		}
		if _, err := removeContainersOf(store, name, nil); err != nil {
			errs = append(errs, err)
		}
		store.Shutdown()
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return removePodDir(dirs.Run)
}

// collectGarbage cleans up the pods whose process died, as DESIGN.md asks
// of every start. It holds lockPods, which every pod's creation holds
// until its pid file is written: so a pod without a live process here is
// dead, never one being born. It fails only if podbox's directories
// cannot be used (checkPodsDirs).
func collectGarbage(so image.StoreOptions) error {
	if err := checkPodsDirs(); err != nil {
		return err
	}
	unlock, err := lockPods()
	if err != nil {
		return err
	}
	defer unlock()
	names, err := podNames()
	if err != nil {
		return err
	}
	for _, n := range names {
		if podAlive(n) { // without asking it over its socket, under the lock
			continue
		}
		if _, err := os.Stat(PodDirs(n).Run); err != nil && keptFinished(n) {
			continue // kept for inspection, and clean (finished.go)
		}
		st := probePod(n)
		logrus.Infof("pod %q: its process is gone; removing what it left", n)
		if err := cleanupDead(n, st, so); err != nil {
			logrus.Warnf("cleaning up pod %q: %v", n, err)
		}
	}
	return nil
}

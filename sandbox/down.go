package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/podbox/podbox/image"
	"github.com/podbox/podbox/mounts"
	"github.com/podbox/podbox/sandbox/manifest"
	"github.com/podbox/podbox/sandbox/userns"
	"github.com/sirupsen/logrus"
)

// DownOptions say which pods to remove.
type DownOptions struct {
	Names        []string           // pods by name
	ManifestPath string             // or the pods of this manifest
	All          bool               // or every pod
	Store        image.StoreOptions // the image store (leftovers of dead pods)
	Out          io.Writer          // one line per pod removed
	// GracePeriod, if not nil, replaces the pods'
	// terminationGracePeriodSeconds (kubectl delete --grace-period): 0
	// kills at once. nil: each pod's own.
	GracePeriod *time.Duration
	// Timeout is how long to wait for a pod to stop before killing its
	// process outright (kubectl delete --timeout); 0: its grace period
	// plus 15 s.
	Timeout time.Duration
}

// Down stops pods and removes them: containers, root filesystems, volumes,
// logs, directories. A pod whose process died is cleaned up the same way.
// It must run inside podbox's user namespace: only there can the
// subuid-owned files of a pod's volumes be removed.
func Down(ctx context.Context, o DownOptions) error {
	if !userns.Inside() {
		return ErrNotInUserNS
	}
	names := o.Names
	strict := true // a named pod that does not exist is an error
	if o.ManifestPath != "" {
		f, err := manifest.Load(o.ManifestPath)
		if err != nil {
			return err
		}
		for _, p := range f.Pods {
			names = append(names, p.Name)
		}
		strict = false
	}
	if o.All {
		names = podNames()
		strict = false
	}
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
			if strict {
				errs = append(errs, fmt.Errorf("pod %q: %w", n, ErrPodNotFound))
			}
			continue
		}
		t := &target{name: n, st: st, done: make(chan error, 1)}
		targets = append(targets, t)
		go func() { t.done <- downOne(ctx, t.name, t.st, o) }()
	}
	for _, t := range targets {
		if err := <-t.done; err != nil {
			errs = append(errs, fmt.Errorf("removing pod %q: %w", t.name, err))
			continue
		}
		fmt.Fprintln(o.Out, t.name)
	}
	return errors.Join(errs...)
}

func downOne(ctx context.Context, name string, st podProbe, o DownOptions) error {
	so := o.Store
	dirs := PodDirs(name)
	if st.alive {
		pp, _ := readPidFile(dirs.pidFile())
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
		if err := newCtlClient(dirs.ctlSock()).stop(ctx, secs); err != nil {
			// The process lives but does not answer: PID 1 takes the
			// pod's processes with it.
			logrus.Warnf("pod %q: %v: killing its process %d", name, err, pp.PID)
			_ = syscall.Kill(pp.PID, syscall.SIGKILL)
		}
		deadline := time.Now().Add(timeout)
		for pp.alive() {
			if time.Now().After(deadline) {
				logrus.Warnf("pod %q did not stop in %s: killing its process %d", name, timeout, pp.PID)
				_ = syscall.Kill(pp.PID, syscall.SIGKILL)
				deadline = time.Now().Add(time.Hour)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return cleanupDead(name, st, so)
}

// cleanupDead removes what a pod whose process is gone left behind: its
// storage containers (the mounts died with its mount namespace), runtime
// state, volumes and logs.
func cleanupDead(name string, st podProbe, so image.StoreOptions) error {
	dirs := PodDirs(name)
	_, errRun := os.Stat(dirs.Run)
	_, errData := os.Stat(dirs.Data)
	if errRun != nil && errData != nil {
		return nil // it cleaned up after itself
	}
	var errs []error
	if st.spec != nil {
		store, err := image.OpenStore(so)
		if err != nil {
			errs = append(errs, err)
		} else {
			for _, c := range allContainers(st.spec) {
				if err := mounts.RemoveRootfs(store.Storage(), name+"-"+c.Name); err != nil {
					logrus.Debugf("removing the root filesystem of %s-%s: %v", name, c.Name, err)
				}
			}
			store.Shutdown()
		}
	}
	for _, d := range []string{dirs.Run, dirs.Data} {
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// collectGarbage cleans up the pods whose process died, as DESIGN.md asks
// of every start; a pod being started right now (no pid file yet, a young
// directory) is left alone.
func collectGarbage(so image.StoreOptions) {
	for _, n := range podNames() {
		dirs := PodDirs(n)
		st := probePod(n)
		if st.alive {
			continue
		}
		if _, err := os.Stat(dirs.pidFile()); err != nil {
			if fi, err := os.Stat(dirs.Run); err == nil && time.Since(fi.ModTime()) < time.Minute {
				continue
			}
		}
		logrus.Infof("pod %q: its process is gone; removing what it left", n)
		if err := cleanupDead(n, st, so); err != nil {
			logrus.Warnf("cleaning up pod %q: %v", n, err)
		}
	}
}

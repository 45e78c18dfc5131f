package pod

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/podbox/podbox/sandbox/podproto"
)

// Lifecycle hooks, as the kubelet runs them (pkg/kubelet/lifecycle and
// kuberuntime_container.go):
//
//   - postStart runs once the container has started; the container is not
//     Running until it is done. If it fails, the event is a Warning
//     FailedPostStartHook, the container is killed (Killing
//     "FailedPostStartHook", preStop included) and the restart policy
//     decides what follows. It ends early if the container exits or the
//     pod stops.
//   - preStop runs before the stop signal, within the grace period: what
//     it takes is taken from it (at least 2 s stay for the signal, as the
//     kubelet's minimum). It fails with a Warning FailedPreStopHook, and the
//     stop goes on. With a grace period of 0 it does not run.
//   - httpGet hooks fail only when the request cannot be made; the status
//     code does not count (the kubelet discards the response). exec hooks
//     fail with a non-zero exit. sleep waits, cut short by the end of the
//     grace period.
//   - The stop signal is lifecycle.stopSignal, else the image's
//     STOPSIGNAL, else SIGTERM (Container.StopSignal, from the CLI).

// minGraceAfterPreStop is what the stop signal keeps of the grace period
// after a long preStop, as the kubelet's minimumGracePeriodInSeconds.
const minGraceAfterPreStop = 2 * time.Second

// runHook runs hook a of the container within timeout and returns "" or
// the kubelet's message for its failure.
func (c *container) runHook(ctx context.Context, a *podproto.Action, timeout time.Duration) string {
	pod := fmt.Sprintf("%s_%s(%s)", c.p.w.Name, c.p.w.Namespace, c.p.w.UID)
	switch {
	case a.Sleep > 0:
		sleepCtx(ctx, min(a.Sleep, timeout))
		return ""
	case len(a.Exec) > 0:
		code, out, err := c.execCapture(ctx, a.Exec, timeout)
		if err == nil && code != 0 {
			err = fmt.Errorf("command '%s' exited with %d: %s", strings.Join(a.Exec, " "), code, strings.TrimRight(string(out), "\n"))
		}
		if err != nil {
			return fmt.Sprintf("Exec lifecycle hook (%v) for Container %q in Pod %q failed - error: %v, message: %q", a.Exec, c.spec.Name, pod, err, string(out))
		}
		return ""
	case a.HTTPGet != nil:
		if _, err := c.p.httpGet(ctx, a.HTTPGet, timeout); err != nil {
			return fmt.Sprintf("HTTP lifecycle hook (%s) for Container %q in Pod %q failed - error: %v", a.HTTPGet.Path, c.spec.Name, pod, err)
		}
		return ""
	case a.TCPSocket != nil:
		if ok, out := c.act(ctx, a, timeout); !ok {
			return fmt.Sprintf("TCP lifecycle hook for Container %q in Pod %q failed - error: %s", c.spec.Name, pod, out)
		}
		return ""
	}
	return ""
}

// postStart runs the container's postStart hook, if any, until it is done,
// the container has exited (dead is closed) or the pod stops; false if it
// failed.
func (c *container) postStart(dead <-chan struct{}) bool {
	a := c.spec.PostStart
	if a == nil {
		return true
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-dead:
		case <-c.p.stopCh:
		case <-ctx.Done():
		}
		cancel()
	}()
	// No timeout of its own, as the kubelet; a day bounds a stuck one.
	msg := c.runHook(ctx, a, 24*time.Hour)
	if msg == "" || ctx.Err() != nil {
		return true
	}
	c.p.state.events.record(time.Now(), podproto.EventTypeWarning, podproto.EventFailedPostStartHook, fieldPath(c.spec), "%s", msg)
	log.infof("container %q: postStart failed: %s", c.spec.Name, msg)
	return false
}

// preStop runs the container's preStop hook, if any, within grace, and
// returns what is left of grace for the stop signal. kill, when closed,
// cuts it short.
func (c *container) preStop(grace time.Duration, kill <-chan struct{}) time.Duration {
	a := c.spec.PreStop
	if a == nil || grace <= 0 {
		return grace
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	go func() {
		select {
		case <-kill:
		case <-ctx.Done():
		}
		cancel()
	}()
	if msg := c.runHook(ctx, a, grace); msg != "" {
		c.p.state.events.record(time.Now(), podproto.EventTypeWarning, podproto.EventFailedPreStopHook, fieldPath(c.spec), "%s", msg)
		log.infof("container %q: preStop failed: %s", c.spec.Name, msg)
	}
	return max(grace-time.Since(start), minGraceAfterPreStop)
}

// stopSignal is the signal that stops the container.
func (c *container) stopSignal() syscall.Signal {
	if c.spec.StopSignal > 0 {
		return syscall.Signal(c.spec.StopSignal)
	}
	return syscall.SIGTERM
}

// signal sends sig to the container through the runtime, or to pid if the
// runtime lost it.
func (c *container) signal(pid int, sig syscall.Signal) {
	if err := c.p.rt.Kill(context.Background(), c.spec.ID, sig); err != nil {
		// The runtime lost its state (someone removed it): the process
		// is still ours to signal, and its PID namespace dies with it.
		log.warnf("kill %s %s: %v; signalling pid %d", sig, c.spec.ID, err, pid)
		_ = syscall.Kill(pid, sig)
	}
}

// kill stops the running container on its own (a failed liveness or
// startup probe, a failed postStart), as the kubelet's killContainer: a
// Killing event with the message, preStop, the stop signal (SIGKILL at
// once if it cannot reach the container's PID 1), SIGKILL when grace is
// over. It returns once the container has exited, or at once if it is not
// running.
func (c *container) kill(grace time.Duration, format string, args ...any) {
	c.mu.Lock()
	created, pid, dead := c.created, c.pid, c.dead
	c.mu.Unlock()
	if !created || dead == nil {
		return
	}
	c.p.state.events.record(time.Now(), podproto.EventTypeNormal, podproto.EventKilling, fieldPath(c.spec), format, args...)
	left := c.preStop(grace, c.p.killCh)
	if closed(dead) {
		return // it exited during preStop
	}
	sig := c.stopSignal()
	if left <= 0 || stopSignalFate(pid, sig) != fateDelivered {
		sig = syscall.SIGKILL
	}
	log.infof("container %q: %s", c.spec.Name, fmt.Sprintf(format, args...))
	c.signal(pid, sig)
	t := time.NewTimer(left)
	defer t.Stop()
	select {
	case <-dead:
		return
	case <-t.C:
	case <-c.p.killCh:
	}
	for n := 1; ; n++ {
		c.signal(pid, syscall.SIGKILL)
		select {
		case <-dead:
			return
		case <-time.After(time.Second):
		}
		if n == stillAliveAfter {
			warnStillAlive(c.spec.Name, pid, n)
		}
	}
}

// stillAliveAfter is how many seconds of SIGKILL every second pass before
// the pod's log says a container will not die.
const stillAliveAfter = 10

// warnStillAlive says, once, that a container's process outlives SIGKILL
// (it waits in the kernel: a hung NFS or FUSE mount, a stuck device), and
// where to look; SIGKILL is sent again every second until it ends.
func warnStillAlive(name string, pid, secs int) {
	log.warnf("container %q: pid %d still there %d s after SIGKILL: see its state in /proc/%d/status (D: waiting in the kernel, for a mount or a device); SIGKILL again every second", name, pid, secs, pid)
}

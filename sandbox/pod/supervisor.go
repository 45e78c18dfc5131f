package pod

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/podbox/podbox/sandbox/podproto"
	"golang.org/x/sys/unix"
)

// The kubelet's restart back-off: 10 s doubling to 5 min, forgotten after a
// container ran 10 min.
var (
	backoffInitial = 10 * time.Second
	backoffMax     = 300 * time.Second
	backoffReset   = 10 * time.Minute
)

// container is one container of the pod and its supervisor. Its root
// filesystem and bundle were made by the CLI once; restarts reuse both (as
// the kubelet reuses the image, a restart gets a fresh runtime container:
// the old one is deleted and created again on the same rootfs).
type container struct {
	p    *podProc
	spec *podproto.Container

	mu      sync.Mutex
	created bool          // the runtime has the container
	pid     int           // its process, in the pod's PID namespace
	dead    chan struct{} // closed when this run's process has exited
	ran     bool          // the runtime had it once: delete before creating again
	changed string        // this run is being stopped because this file changed (filewatch.go)

	wake chan struct{} // a watched file changed: end the back-off now; nil without WatchPaths
}

// supervise runs the init containers in order, then the app containers in
// parallel. It closes started once every container that can start now has
// been tried once (started, or failed to): `up -d` returns then, as
// `kubectl apply` does, without waiting for an init container to finish or
// for a container that cannot start. So with init containers it closes
// once the first one runs. The app containers are created together, each
// from its own goroutine, none waiting for another to be tried.
func (p *podProc) supervise(started chan struct{}) {
	markStarted := sync.OnceFunc(func() { close(started) })
	defer markStarted()
	var apps []*container
	for _, c := range p.ctrs {
		if !c.spec.Init {
			apps = append(apps, c)
			continue
		}
		if c.spec.Sidecar {
			// Started in order, then it runs beside the rest.
			if !p.startLoop(c, markStarted) {
				return
			}
			continue
		}
		if ok := c.loop(nil, markStarted); !ok {
			return
		}
	}
	var tried sync.WaitGroup
	for _, c := range apps {
		tried.Add(1)
		p.sups.Add(1)
		go func() {
			defer p.sups.Done()
			c.loop(nil, sync.OnceFunc(tried.Done))
		}()
	}
	select {
	case <-waitDone(&tried):
	case <-p.stopCh:
		return
	}
	markStarted()
}

// startLoop runs sidecar c's loop in its own goroutine and waits until c
// runs, as the kubelet waits for a sidecar before the next init
// container; false if the pod is stopping. onTried is called once c has
// been tried once.
func (p *podProc) startLoop(c *container, onTried func()) bool {
	p.sups.Add(1)
	first := make(chan struct{})
	go func() {
		defer p.sups.Done()
		c.loop(sync.OnceFunc(func() { close(first) }), onTried)
	}()
	select {
	case <-first:
		return true
	case <-p.stopCh:
		return false
	}
}

// loop runs the container until it is done per the restart policy and
// reports whether it ended well (for an init container: exited 0).
// onStart, if not nil, is called once it has been started; onTried, if
// not nil, once its first attempt is over (started or failed to start);
// both are called, at the latest, when loop returns.
func (c *container) loop(onStart, onTried func()) bool {
	p := c.p
	policy := p.w.RestartPolicy
	backoff := backoffInitial
	tried := func() {
		if onTried != nil {
			onTried()
		}
	}
	defer tried()
	if onStart != nil {
		defer onStart()
	}
	started := func() {
		tried()
		if onStart != nil {
			onStart()
		}
		if c.spec.Init && !c.spec.Sidecar {
			p.note(podproto.ChildMsg{Event: podproto.EventRunning, Container: c.spec.Name, Init: true})
		}
	}
	for {
		if p.stopping() || (c.spec.Sidecar && p.sidecarsStopping()) {
			p.state.setFinal(c.spec.Name)
			return false
		}
		select {
		case <-c.wake: // a change before this run: it sees it
		default:
		}
		began := time.Now()
		code, reason, err := c.runOnce(started)
		tried()
		if err != nil {
			log.warnf("container %q: %v", c.spec.Name, err)
		}
		exit := podproto.ChildMsg{Event: podproto.EventExited, Container: c.spec.Name, Init: c.spec.Init, Code: code, Reason: reason}
		if reason == podproto.ReasonStartError && err != nil {
			exit.Message = err.Error()
		}
		if p.stopping() || (c.spec.Sidecar && p.sidecarsStopping()) {
			p.note(exit)
			p.state.setFinal(c.spec.Name)
			return false
		}
		if what := c.takeChanged(); what != "" {
			// Stopped because a watched file changed: at once, whatever
			// the restartPolicy, and no crash (no back-off).
			exit.RestartIn, exit.Changed = seconds(0), what
			p.note(exit)
			p.state.update(c.spec.Name, func(cs *podproto.ContainerStatus) {
				cs.LastTerminationState = cs.State
				cs.RestartCount++
			})
			continue
		}
		restart := false
		switch {
		case c.spec.Sidecar:
			restart = true
		case c.spec.Init:
			restart = code != 0 && policy != podproto.RestartNever
		case policy == podproto.RestartAlways:
			restart = true
		case policy == podproto.RestartOnFailure:
			restart = code != 0
		}
		if !restart {
			p.note(exit)
			if c.spec.Init && code != 0 {
				p.state.setFinal(c.spec.Name)
				p.state.failInit()
				return false
			}
			p.state.setFinal(c.spec.Name)
			return code == 0
		}
		if time.Since(began) > backoffReset {
			backoff = backoffInitial
		}
		exit.RestartIn = seconds(backoff)
		p.note(exit)
		p.state.events.record(time.Now(), podproto.EventTypeWarning, podproto.EventBackOff, fieldPath(c.spec),
			"Back-off restarting failed container %s in pod %s_%s(%s)", c.spec.Name, p.w.Name, p.w.Namespace, p.w.UID)
		p.state.update(c.spec.Name, func(cs *podproto.ContainerStatus) {
			cs.LastTerminationState = cs.State
			cs.State = podproto.ContainerState{Waiting: &podproto.StateWaiting{
				Reason:  podproto.ReasonCrashLoopBackOff,
				Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", backoff, c.spec.Name, p.w.Name),
			}}
		})
		if sleepOrStop(p, c, backoff) != nil {
			p.state.setFinal(c.spec.Name)
			return false
		}
		backoff = min(backoff*2, backoffMax)
		p.state.update(c.spec.Name, func(cs *podproto.ContainerStatus) { cs.RestartCount++ })
	}
}

// runOnce creates, starts and waits for the container, and deletes it from
// the runtime. Its output goes to the container's CRI log file.
func (c *container) runOnce(onStart func()) (code int, reason string, err error) {
	p := c.p
	ctx := context.Background()
	name := c.spec.Name
	containerID := p.rt.Name + "://" + c.spec.ID
	terminate := func(code int, reason, msg string, started time.Time) {
		if reason == podproto.ReasonStartError {
			p.state.events.record(time.Now(), podproto.EventTypeWarning, podproto.EventFailed, fieldPath(c.spec), "Error: %s", msg)
		}
		p.state.update(name, func(cs *podproto.ContainerStatus) {
			t := &podproto.StateTerminated{ExitCode: int32(code), Reason: reason, Message: msg,
				FinishedAt: time.Now(), ContainerID: containerID, StartedAt: started}
			cs.State = podproto.ContainerState{Terminated: t}
		})
	}
	if c.ran {
		// The last run's container: the runtime keeps its name until
		// deleted. A first create needs no delete: the runtime's state
		// dir is the pod's own and new.
		_ = p.rt.Delete(ctx, c.spec.ID, true)
	}
	var run int32
	if cs := p.state.containerStatus(name); cs != nil {
		run = cs.RestartCount
	}
	logw, err := openCRILog(c.spec.LogDir, c.spec.LogPath, run)
	if err != nil {
		terminate(128, podproto.ReasonStartError, err.Error(), time.Time{})
		return 128, podproto.ReasonStartError, err
	}
	defer logw.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		return 128, podproto.ReasonStartError, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return 128, podproto.ReasonStartError, err
	}
	devnull, _ := os.Open(os.DevNull)
	c.ran = true
	log.debugf("container %q: %s create %s", name, p.rt.Name, c.spec.ID)
	pid, err := p.rt.Create(ctx, c.spec.ID, c.spec.Bundle, devnull, outW, errW)
	devnull.Close()
	outW.Close()
	errW.Close()
	var copying sync.WaitGroup
	copying.Add(2)
	go func() { defer copying.Done(); logw.copyStream("stdout", outR); outR.Close() }()
	go func() { defer copying.Done(); logw.copyStream("stderr", errR); errR.Close() }()
	if err != nil {
		copying.Wait()
		_ = p.rt.Delete(ctx, c.spec.ID, true)
		terminate(128, podproto.ReasonStartError, err.Error(), time.Time{})
		return 128, podproto.ReasonStartError, fmt.Errorf("creating: %w", err)
	}
	exited := p.reaper.register(pid)
	var ws unix.WaitStatus
	dead := make(chan struct{})
	go func() { ws = <-exited; close(dead) }()
	p.state.events.record(time.Now(), podproto.EventTypeNormal, podproto.EventCreated, fieldPath(c.spec), "Created container %s", name)
	c.mu.Lock()
	c.created, c.pid, c.dead = true, pid, dead
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.created, c.pid, c.dead = false, 0, nil
		c.mu.Unlock()
	}()
	if p.stopping() {
		_ = p.rt.Delete(ctx, c.spec.ID, true)
		<-dead
		copying.Wait()
		return 137, podproto.ReasonError, errStopped
	}
	log.debugf("container %q: pid %d, %s start", name, pid, p.rt.Name)
	if err := p.rt.Start(ctx, c.spec.ID); err != nil {
		_ = p.rt.Delete(ctx, c.spec.ID, true)
		<-dead
		copying.Wait()
		terminate(128, podproto.ReasonStartError, err.Error(), time.Time{})
		return 128, podproto.ReasonStartError, fmt.Errorf("starting: %w", err)
	}
	began := time.Now()
	p.state.events.record(began, podproto.EventTypeNormal, podproto.EventStartedCtr, fieldPath(c.spec), "Started container %s", name)
	p.state.resetProbes(name)
	if c.postStart(dead) {
		c.running(ctx, began, containerID, dead, onStart)
	} else {
		c.kill(p.podGrace(), "FailedPostStartHook")
	}
	<-dead
	// The container's PID namespace died with its init, so the pipes
	// close; wait for the last lines, but not forever.
	waitTimeout(&copying, 2*time.Second)
	_ = p.rt.Delete(ctx, c.spec.ID, true)
	code = exitCode(ws)
	log.infof("container %q exited with %d", name, code)
	reason = podproto.ReasonCompleted
	if code != 0 {
		reason = podproto.ReasonError
	} else if !p.stopping() {
		p.state.events.record(time.Now(), podproto.EventTypeNormal, podproto.EventCompleted, fieldPath(c.spec), "Container %s completed", name)
	}
	terminate(code, reason, "", began)
	return code, reason, nil
}

// running marks the container Running and probes it until dead is closed;
// onStart is called once it is started (for a sidecar with a startupProbe,
// once that succeeded).
func (c *container) running(ctx context.Context, began time.Time, containerID string, dead <-chan struct{}, onStart func()) {
	p, name := c.p, c.spec.Name
	p.state.update(name, func(cs *podproto.ContainerStatus) {
		cs.State = podproto.ContainerState{Running: &podproto.StateRunning{StartedAt: began}}
		cs.ContainerID = containerID
		cs.ImageID = c.spec.ImageID
	})
	// A sidecar with a startupProbe lets the next init container start
	// once it has succeeded, as Kubernetes 1.29+.
	gate := c.spec.Sidecar && c.spec.Startup != nil
	if onStart != nil && !gate {
		onStart()
	}
	probeCtx, stopProbes := context.WithCancel(ctx)
	probing := make(chan struct{})
	go func() {
		defer close(probing)
		var onStarted func()
		if gate {
			onStarted = onStart
		}
		c.probes(probeCtx, began, onStarted)
	}()
	<-dead
	stopProbes()
	<-probing
}

// seconds says d for a user: "30 s".
func seconds(d time.Duration) string {
	return fmt.Sprintf("%d s", int(d.Round(time.Second)/time.Second))
}

// waitTimeout waits for wg, at most d.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	select {
	case <-waitDone(wg):
	case <-time.After(d):
	}
}

// waitDone returns a channel closed once wg is done.
func waitDone(wg *sync.WaitGroup) <-chan struct{} {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	return done
}

// stopContainers stops the pod's containers as the kubelet does: SIGTERM,
// then SIGKILL after terminationGracePeriodSeconds (or the grace period
// the stop request asked for), and tells a foreground `up` what it does.
func (p *podProc) stopContainers() {
	p.terminate(func(*container) bool { return true }, waitDone(&p.sups), true)
}

// stopSidecars stops the sidecars once every app container is done, as the
// kubelet does, so that the pod can finish; the caller closes sidecarsCh.
func (p *podProc) stopSidecars() {
	var wg sync.WaitGroup
	for _, c := range p.ctrs {
		if c.spec.Sidecar {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !p.state.isFinal(c.spec.Name) {
					<-p.state.wait()
				}
			}()
		}
	}
	p.terminate(func(c *container) bool { return c.spec.Sidecar }, waitDone(&wg), false)
}

func (p *podProc) sidecarsStopping() bool { return closed(p.sidecarsCh) }

// podGrace is the pod's terminationGracePeriodSeconds, 30 s by default.
func (p *podProc) podGrace() time.Duration {
	return time.Duration(p.w.GraceSeconds) * time.Second
}

// grace is the grace period a stop has now: the one a stop request asked
// for, else the pod's.
func (p *podProc) grace() time.Duration {
	p.stopMu.Lock()
	defer p.stopMu.Unlock()
	if p.stopGrace != nil {
		return *p.stopGrace
	}
	return p.podGrace()
}

// terminate stops the containers that which selects, until done is
// closed: SIGTERM, then SIGKILL once the grace period is over or kill is
// asked. A container whose PID 1 cannot get SIGTERM (no handler in a PID
// namespace's init, as a shell or sleep: the kernel discards it; or
// ignored) gets SIGKILL at once: waiting would change nothing but the time
// the stop takes (Podman's `kube down` does not wait either). report sends
// a foreground `up` who waits and who was killed.
func (p *podProc) terminate(which func(*container) bool, done <-chan struct{}, report bool) {
	start := time.Now()
	send := func(c *container, pid int, sig syscall.Signal) { c.signal(pid, sig) }
	running := func() map[*container]int {
		out := map[*container]int{}
		for _, c := range p.ctrs {
			if !which(c) {
				continue
			}
			c.mu.Lock()
			created, pid := c.created, c.pid
			c.mu.Unlock()
			if created {
				out[c] = pid
			}
		}
		return out
	}
	grace := p.grace()
	log.infof("stopping: the stop signals, SIGKILL after %s", grace)
	var waiting, killed []string
	for c, pid := range running() {
		name := c.spec.Name
		sig := c.stopSignal()
		if c.spec.PreStop != nil && grace > 0 {
			// preStop first, then the stop signal, within the grace
			// period.
			p.state.events.record(time.Now(), podproto.EventTypeNormal, podproto.EventKilling, fieldPath(c.spec), "Stopping container %s", name)
			go func() {
				c.preStop(grace, p.killCh)
				c.mu.Lock()
				still := c.created && c.pid == pid
				c.mu.Unlock()
				if !still {
					return // it exited during preStop
				}
				if stopSignalFate(pid, sig) != fateDelivered {
					sig = syscall.SIGKILL
				}
				send(c, pid, sig)
			}()
			waiting = append(waiting, name)
			continue
		}
		why := ""
		switch {
		case grace <= 0:
			why = "grace period 0"
		default:
			switch stopSignalFate(pid, sig) {
			case fateDropped:
				why = "it does not handle " + signalName(sig)
			case fateIgnored:
				why = "it ignores " + signalName(sig)
			}
		}
		if why != "" {
			p.state.events.record(time.Now(), podproto.EventTypeNormal, podproto.EventKilling, fieldPath(c.spec), "Stopping container %s: %s; killed at once", name, why)
			log.infof("container %q: %s: SIGKILL", name, why)
			send(c, pid, syscall.SIGKILL)
			killed = append(killed, name)
			continue
		}
		p.state.events.record(time.Now(), podproto.EventTypeNormal, podproto.EventKilling, fieldPath(c.spec), "Stopping container %s", name)
		send(c, pid, sig)
		waiting = append(waiting, name)
	}
	if report {
		sort.Strings(waiting)
		sort.Strings(killed)
		p.note(podproto.ChildMsg{Event: podproto.EventStopping, Waiting: waiting, Killed: killed, Grace: seconds(grace)})
	}
	for {
		grace = p.grace()
		select {
		case <-done:
			return
		case <-p.nudge:
			continue // a shorter grace period: count again from the start
		case <-p.killCh:
		case <-time.After(time.Until(start.Add(grace))):
		}
		break
	}
	log.infof("grace period of %s over (or kill asked): SIGKILL", grace)
	for n := 1; ; n++ {
		for c, pid := range running() {
			send(c, pid, syscall.SIGKILL)
		}
		select {
		case <-done:
			return
		case <-time.After(time.Second):
		}
		if n == stillAliveAfter {
			for c, pid := range running() {
				warnStillAlive(c.spec.Name, pid, n)
			}
		}
	}
}

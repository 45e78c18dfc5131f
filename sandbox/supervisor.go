package sandbox

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/podbox/podbox/image"
	"github.com/podbox/podbox/mounts"
	"github.com/podbox/podbox/sandbox/ocispec"
	"github.com/podbox/podbox/slirp/relay"
	"github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The kubelet's restart back-off: 10 s doubling to 5 min, forgotten after a
// container ran 10 min.
var (
	backoffInitial = 10 * time.Second
	backoffMax     = 300 * time.Second
	backoffReset   = 10 * time.Minute
)

// container is one container of the pod and its supervisor.
type container struct {
	p       *podProc
	spec    *corev1.Container
	init    bool
	sidecar bool   // an init container with restartPolicy Always
	id      string // runtime and storage name: <pod>-<container>
	rootfs  string
	bundle  string

	mu      sync.Mutex
	created bool // the runtime has the container
	pid     int  // its process, in the pod's PID namespace
}

// prepare mounts the container's root filesystem and writes its bundle once;
// restarts reuse both (as the kubelet reuses the image, a restart gets a
// fresh container: the runtime's one is deleted and created again).
func (c *container) prepare() error {
	p := c.p
	img := p.w.Images[c.spec.Name]
	rootfs, err := mounts.MountRootfs(p.store.Storage(), c.id, img.ID, containerMetadata(p.w.Pod.Name))
	if err != nil {
		return err
	}
	c.rootfs = rootfs
	p.state.events.recordPull(c, img)
	proc, err := image.ProcessFor(img.Config, p.w.Pod, c.spec, rootfs)
	if err != nil {
		return err
	}
	ms, err := mounts.ForContainer(c.spec, p.vols, p.etc)
	if err != nil {
		return err
	}
	spec, err := ocispec.Generate(ocispec.Options{
		Args: proc.Args, Env: proc.Env, Cwd: proc.Cwd,
		UID: proc.UID, GID: proc.GID, AdditionalGids: proc.AdditionalGids,
		Rootfs: rootfs, Mounts: ms, Container: c.spec, Pod: p.w.Pod,
		SeccompListener: p.seccompListener(), SeccompNotify: relay.SeccompAcceptSyscalls,
	})
	if err != nil {
		return err
	}
	c.bundle = p.w.Dirs.bundle(c.spec.Name)
	if err := os.MkdirAll(c.bundle, 0o700); err != nil {
		return err
	}
	return ocispec.WriteBundle(c.bundle, spec)
}

// supervise runs the init containers in order, then the app containers in
// parallel. It closes started once every container that can start now has
// been tried once (started, or failed to): `up -d` returns then, as
// `kubectl apply` does, without waiting for an init container to finish or
// for a container that cannot start. So with init containers it closes
// once the first one runs.
func (p *podProc) supervise(started chan struct{}) {
	markStarted := sync.OnceFunc(func() { close(started) })
	defer markStarted()
	pod := p.w.Pod
	for i := range pod.Spec.InitContainers {
		c := p.ctrs[pod.Spec.InitContainers[i].Name]
		if c.sidecar {
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
	for i := range pod.Spec.Containers {
		// Each app container is tried once before the next, but one
		// that cannot start does not hold the others up.
		c := p.ctrs[pod.Spec.Containers[i].Name]
		tried := make(chan struct{})
		p.sups.Add(1)
		go func() {
			defer p.sups.Done()
			c.loop(nil, sync.OnceFunc(func() { close(tried) }))
		}()
		select {
		case <-tried:
		case <-p.stopCh:
			return
		}
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
	policy := p.w.Pod.Spec.RestartPolicy
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
		if c.init && !c.sidecar {
			p.note(childMsg{Event: eventRunning, Container: c.spec.Name, Init: true})
		}
	}
	for {
		if p.stopping() || (c.sidecar && p.sidecarsStopping()) {
			p.state.setFinal(c.spec.Name)
			return false
		}
		began := time.Now()
		code, reason, err := c.runOnce(started)
		tried()
		if err != nil {
			logrus.Warnf("[podbox:pod] container %q: %v", c.spec.Name, err)
		}
		exit := childMsg{Event: eventExited, Container: c.spec.Name, Init: c.init, Code: code, Reason: reason}
		if reason == reasonStartError && err != nil {
			exit.Message = err.Error()
		}
		if p.stopping() || (c.sidecar && p.sidecarsStopping()) {
			p.note(exit)
			p.state.setFinal(c.spec.Name)
			return false
		}
		restart := false
		switch {
		case c.sidecar:
			restart = true
		case c.init:
			restart = code != 0 && policy != corev1.RestartPolicyNever
		case policy == corev1.RestartPolicyAlways:
			restart = true
		case policy == corev1.RestartPolicyOnFailure:
			restart = code != 0
		}
		if !restart {
			p.note(exit)
			if c.init && code != 0 {
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
		p.state.events.record(time.Now(), corev1.EventTypeWarning, eventBackOff, fieldPath(c),
			"Back-off restarting failed container %s in pod %s_%s(%s)", c.spec.Name, p.w.Pod.Name, p.state.namespace(), p.state.uid())
		p.state.update(c.spec.Name, func(cs *corev1.ContainerStatus) {
			cs.LastTerminationState = cs.State
			cs.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
				Reason:  reasonCrashLoopBackOff,
				Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", backoff, c.spec.Name, p.w.Pod.Name),
			}}
		})
		if sleepOrStop(p, c, backoff) != nil {
			p.state.setFinal(c.spec.Name)
			return false
		}
		backoff = min(backoff*2, backoffMax)
		p.state.update(c.spec.Name, func(cs *corev1.ContainerStatus) { cs.RestartCount++ })
	}
}

// runOnce creates, starts and waits for the container, and deletes it from
// the runtime. Its output goes to the container's CRI log file.
func (c *container) runOnce(onStart func()) (code int, reason string, err error) {
	p := c.p
	ctx := context.Background()
	name := c.spec.Name
	containerID := p.rt.Name + "://" + c.id
	terminate := func(code int, reason, msg string, started time.Time) {
		if reason == reasonStartError {
			p.state.events.record(time.Now(), corev1.EventTypeWarning, eventFailed, fieldPath(c), "Error: %s", msg)
		}
		p.state.update(name, func(cs *corev1.ContainerStatus) {
			t := &corev1.ContainerStateTerminated{ExitCode: int32(code), Reason: reason, Message: msg,
				FinishedAt: metav1.Now(), ContainerID: containerID}
			if !started.IsZero() {
				t.StartedAt = metav1.NewTime(started)
			}
			cs.State = corev1.ContainerState{Terminated: t}
		})
	}
	_ = p.rt.Delete(ctx, c.id, true) // a leftover of the last run
	logw, err := openCRILog(p.w.Dirs.LogPath(name))
	if err != nil {
		terminate(128, reasonStartError, err.Error(), time.Time{})
		return 128, reasonStartError, err
	}
	defer logw.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		return 128, reasonStartError, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return 128, reasonStartError, err
	}
	devnull, _ := os.Open(os.DevNull)
	pid, err := p.rt.Create(ctx, c.id, c.bundle, devnull, outW, errW)
	devnull.Close()
	outW.Close()
	errW.Close()
	var copying sync.WaitGroup
	copying.Add(2)
	go func() { defer copying.Done(); logw.copyStream("stdout", outR); outR.Close() }()
	go func() { defer copying.Done(); logw.copyStream("stderr", errR); errR.Close() }()
	if err != nil {
		copying.Wait()
		_ = p.rt.Delete(ctx, c.id, true)
		terminate(128, reasonStartError, err.Error(), time.Time{})
		return 128, reasonStartError, fmt.Errorf("creating: %w", err)
	}
	exited := p.reaper.register(pid)
	p.state.events.record(time.Now(), corev1.EventTypeNormal, eventCreated, fieldPath(c), "Created container %s", name)
	c.mu.Lock()
	c.created, c.pid = true, pid
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.created, c.pid = false, 0
		c.mu.Unlock()
	}()
	if p.stopping() {
		_ = p.rt.Delete(ctx, c.id, true)
		<-exited
		copying.Wait()
		return 137, reasonError, errStopped
	}
	if err := p.rt.Start(ctx, c.id); err != nil {
		_ = p.rt.Delete(ctx, c.id, true)
		<-exited
		copying.Wait()
		terminate(128, reasonStartError, err.Error(), time.Time{})
		return 128, reasonStartError, fmt.Errorf("starting: %w", err)
	}
	began := time.Now()
	p.state.events.record(began, corev1.EventTypeNormal, eventStarted, fieldPath(c), "Started container %s", name)
	p.state.update(name, func(cs *corev1.ContainerStatus) {
		cs.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(began)}}
		cs.ContainerID = containerID
		cs.ImageID = p.w.Images[name].Ref
		if cs.ImageID == "" {
			cs.ImageID = "sha256:" + p.w.Images[name].ID
		}
	})
	if onStart != nil {
		onStart()
	}
	ws := <-exited
	// The container's PID namespace died with its init, so the pipes
	// close; wait for the last lines, but not forever.
	waitTimeout(&copying, 2*time.Second)
	_ = p.rt.Delete(ctx, c.id, true)
	code = exitCode(ws)
	logrus.Infof("[podbox:pod] container %q exited with %d", name, code)
	reason = reasonCompleted
	if code != 0 {
		reason = reasonError
	} else if !p.stopping() {
		p.state.events.record(time.Now(), corev1.EventTypeNormal, eventCompleted, fieldPath(c), "Container %s completed", name)
	}
	terminate(code, reason, "", began)
	return code, reason, nil
}

// seconds says d for a user: "30 s".
func seconds(d time.Duration) string {
	return fmt.Sprintf("%d s", int(d.Round(time.Second)/time.Second))
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// stopContainers stops the pod's containers as the kubelet does: SIGTERM,
// then SIGKILL after terminationGracePeriodSeconds (or the grace period
// the stop request asked for), and tells a foreground `up` what it does.
func (p *podProc) stopContainers() {
	done := make(chan struct{})
	go func() { p.sups.Wait(); close(done) }()
	p.terminate(func(*container) bool { return true }, done, true)
}

// stopSidecars stops the sidecars once every app container is done, as the
// kubelet does, so that the pod can finish; the caller closes sidecarsCh.
func (p *podProc) stopSidecars() {
	var wg sync.WaitGroup
	for _, c := range p.ctrs {
		if c.sidecar {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !p.state.isFinal(c.spec.Name) {
					<-p.state.wait()
				}
			}()
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	p.terminate(func(c *container) bool { return c.sidecar }, done, false)
}

func (p *podProc) sidecarsStopping() bool {
	select {
	case <-p.sidecarsCh:
		return true
	default:
		return false
	}
}

// podGrace is the pod's terminationGracePeriodSeconds, 30 s by default.
func (p *podProc) podGrace() time.Duration {
	if g := p.w.Pod.Spec.TerminationGracePeriodSeconds; g != nil {
		return time.Duration(*g) * time.Second
	}
	return 30 * time.Second
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
	ctx := context.Background()
	start := time.Now()
	send := func(c *container, pid int, sig syscall.Signal) {
		if err := p.rt.Kill(ctx, c.id, sig); err != nil {
			// The runtime lost its state (someone removed it): the
			// process is still ours to signal, and its PID
			// namespace dies with it.
			logrus.Warnf("[podbox:pod] kill %s %s: %v; signalling pid %d", sig, c.id, err, pid)
			_ = syscall.Kill(pid, sig)
		}
	}
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
	logrus.Infof("[podbox:pod] stopping: SIGTERM, SIGKILL after %s", grace)
	var waiting, killed []string
	for c, pid := range running() {
		name := c.spec.Name
		why := ""
		switch {
		case grace <= 0:
			why = "grace period 0"
		default:
			switch stopSignalFate(pid, syscall.SIGTERM) {
			case fateDropped:
				why = "it does not handle SIGTERM"
			case fateIgnored:
				why = "it ignores SIGTERM"
			}
		}
		if why != "" {
			p.state.events.record(time.Now(), corev1.EventTypeNormal, eventKilling, fieldPath(c), "Stopping container %s: %s; killed at once", name, why)
			logrus.Infof("[podbox:pod] container %q: %s: SIGKILL", name, why)
			send(c, pid, syscall.SIGKILL)
			killed = append(killed, name)
			continue
		}
		p.state.events.record(time.Now(), corev1.EventTypeNormal, eventKilling, fieldPath(c), "Stopping container %s", name)
		send(c, pid, syscall.SIGTERM)
		waiting = append(waiting, name)
	}
	if report {
		sort.Strings(waiting)
		sort.Strings(killed)
		p.note(childMsg{Event: eventStopping, Waiting: waiting, Killed: killed, Grace: seconds(grace)})
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
	logrus.Infof("[podbox:pod] grace period of %s over (or kill asked): SIGKILL", grace)
	for {
		for c, pid := range running() {
			send(c, pid, syscall.SIGKILL)
		}
		select {
		case <-done:
			return
		case <-time.After(time.Second):
		}
	}
}

package sandbox

import (
	"context"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/podbox/podbox/image"
	"github.com/podbox/podbox/mounts"
	"github.com/podbox/podbox/sandbox/ocispec"
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
// parallel, and closes started once they all have been started once (or
// the pod ended before).
func (p *podProc) supervise(started chan struct{}) {
	var once sync.Once
	markStarted := func() { once.Do(func() { close(started) }) }
	defer markStarted()
	pod := p.w.Pod
	for i := range pod.Spec.InitContainers {
		c := p.ctrs[pod.Spec.InitContainers[i].Name]
		if c.sidecar {
			// Started in order, then it runs beside the rest.
			if !p.startLoop(c) {
				return
			}
			continue
		}
		if ok := c.loop(nil); !ok {
			return
		}
	}
	for i := range pod.Spec.Containers {
		if !p.startLoop(p.ctrs[pod.Spec.Containers[i].Name]) {
			return
		}
	}
	markStarted()
}

// startLoop runs c's loop in its own goroutine and waits until c has been
// started once; false if the pod is stopping.
func (p *podProc) startLoop(c *container) bool {
	p.sups.Add(1)
	first := make(chan struct{})
	go func() {
		defer p.sups.Done()
		c.loop(first)
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
// firstStart, if not nil, is closed once it has been started (or failed to).
func (c *container) loop(firstStart chan struct{}) bool {
	p := c.p
	policy := p.w.Pod.Spec.RestartPolicy
	backoff := backoffInitial
	closeFirst := func() {
		if firstStart != nil {
			close(firstStart)
			firstStart = nil
		}
	}
	defer closeFirst()
	for {
		if p.stopping() || (c.sidecar && p.sidecarsStopping()) {
			p.state.setFinal(c.spec.Name)
			return false
		}
		began := time.Now()
		code, reason, err := c.runOnce(closeFirst)
		if err != nil {
			logrus.Warnf("[podbox:pod] container %q: %v", c.spec.Name, err)
		}
		if p.stopping() || (c.sidecar && p.sidecarsStopping()) {
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
		p.state.events.record(time.Now(), corev1.EventTypeWarning, eventBackOff, fieldPath(c),
			"Back-off restarting failed container %s in pod %s_%s(%s)", c.spec.Name, p.w.Pod.Name, p.state.namespace(), p.state.uid())
		p.state.update(c.spec.Name, func(cs *corev1.ContainerStatus) {
			cs.LastTerminationState = cs.State
			cs.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
				Reason:  reasonCrashLoopBackOff,
				Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", backoff, c.spec.Name, p.w.Pod.Name),
			}}
			_ = reason
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

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// stopContainers stops the pod's containers as the kubelet does: SIGTERM,
// then SIGKILL after terminationGracePeriodSeconds.
func (p *podProc) stopContainers() {
	done := make(chan struct{})
	go func() { p.sups.Wait(); close(done) }()
	p.terminate(func(*container) bool { return true }, done)
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
	p.terminate(func(c *container) bool { return c.sidecar }, done)
}

func (p *podProc) sidecarsStopping() bool {
	select {
	case <-p.sidecarsCh:
		return true
	default:
		return false
	}
}

// terminate signals the containers that which selects, SIGTERM then SIGKILL
// after the grace period, until done is closed.
func (p *podProc) terminate(which func(*container) bool, done <-chan struct{}) {
	grace := 30 * time.Second
	if g := p.w.Pod.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = time.Duration(*g) * time.Second
	}
	ctx := context.Background()
	signalAll := func(sig syscall.Signal) {
		for _, c := range p.ctrs {
			if !which(c) {
				continue
			}
			c.mu.Lock()
			created, pid := c.created, c.pid
			c.mu.Unlock()
			if !created {
				continue
			}
			if err := p.rt.Kill(ctx, c.id, sig); err != nil {
				// The runtime lost its state (someone removed it): the
				// process is still ours to signal, and its PID
				// namespace dies with it.
				logrus.Warnf("[podbox:pod] kill %s %s: %v; signalling pid %d", sig, c.id, err, pid)
				_ = syscall.Kill(pid, sig)
			}
		}
	}
	logrus.Infof("[podbox:pod] stopping: SIGTERM, SIGKILL after %s", grace)
	for _, c := range p.ctrs {
		c.mu.Lock()
		created := c.created
		c.mu.Unlock()
		if which(c) && created {
			p.state.events.record(time.Now(), corev1.EventTypeNormal, eventKilling, fieldPath(c), "Stopping container %s", c.spec.Name)
		}
	}
	signalAll(syscall.SIGTERM)
	select {
	case <-done:
		return
	case <-time.After(grace):
	}
	logrus.Infof("[podbox:pod] grace period of %s over: SIGKILL", grace)
	for {
		signalAll(syscall.SIGKILL)
		select {
		case <-done:
			return
		case <-time.After(time.Second):
		}
	}
}

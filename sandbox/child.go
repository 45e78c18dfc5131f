package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"time"

	"github.com/podbox/podbox/image"
	"github.com/podbox/podbox/mounts"
	"github.com/podbox/podbox/sandbox/ociruntime"
	"github.com/podbox/podbox/sandbox/ociruntime/probe"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// ChildMain runs the pod's inner half, PID 1 of the pod, and returns its
// exit code. Its stderr is the pod's podbox.log.
func ChildMain() int {
	os.Unsetenv(envPodChild)
	logrus.SetOutput(os.Stderr)
	logrus.SetFormatter(&logrus.TextFormatter{DisableColors: true, FullTimestamp: true})
	for _, fd := range []int{fdWork, fdEvents, fdExit, fdNetDown} {
		unix.CloseOnExec(fd) // never into the runtime or a container
	}
	in := json.NewDecoder(os.NewFile(fdWork, "work"))
	events := &eventWriter{enc: json.NewEncoder(os.NewFile(fdEvents, "events"))}
	var w work
	if err := in.Decode(&w); err != nil {
		logrus.Errorf("[podbox:pod] reading the pod's work: %v", err)
		events.send(childMsg{Event: eventErrorMsg, Error: fmt.Sprintf("the pod's process could not read its work: %v", err)})
		return 125
	}
	keepPortsFromExec(&w)
	// The pod's log is a file: info at least, --log-level debug for more.
	logrus.SetLevel(logrus.InfoLevel)
	if lvl, err := logrus.ParseLevel(w.LogLevel); err == nil && lvl > logrus.InfoLevel {
		logrus.SetLevel(lvl)
	}
	p := &podProc{w: &w, events: events, stopCh: make(chan struct{}), sidecarsCh: make(chan struct{}), in: in,
		killCh: make(chan struct{}), nudge: make(chan struct{}, 1)}
	err := p.runReporting()
	if err != nil {
		logrus.Errorf("[podbox:pod] %v", err)
		events.send(childMsg{Event: eventErrorMsg, Error: err.Error()})
	}
	p.teardown()
	if err != nil {
		return 1
	}
	return 0
}

type eventWriter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (e *eventWriter) send(m childMsg) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_ = e.enc.Encode(m) // the parent may be gone (-d): fine
}

// podProc is the pod's PID 1.
type podProc struct {
	w      *work
	in     *json.Decoder
	events *eventWriter
	state  *podState
	reaper *reaper
	store  *image.Store
	rt     *ociruntime.Runtime
	vols   map[string]mounts.Volume
	etc    mounts.Etc
	undo   []func() error // teardown steps, run last first
	ctrs   map[string]*container
	ctl    *ctlServer

	stopOnce sync.Once
	stopCh   chan struct{} // closed when the pod is asked to stop
	sups     sync.WaitGroup

	killOnce  sync.Once
	killCh    chan struct{}  // closed when stopping must not wait any longer: SIGKILL now
	stopMu    sync.Mutex     // guards stopGrace
	stopGrace *time.Duration // a grace period the stop request asked for; nil: the pod's
	nudge     chan struct{}  // a stop request changed stopGrace

	sidecarsOnce sync.Once
	sidecarsCh   chan struct{} // closed when the app containers are all done
}

func (p *podProc) stop() {
	p.stopOnce.Do(func() {
		if p.state != nil {
			p.state.markDeleting(p.grace())
		}
		close(p.stopCh)
	})
}

// kill makes a stop not wait for the grace period (a second Ctrl-C).
func (p *podProc) kill() {
	p.stop()
	p.killOnce.Do(func() { close(p.killCh) })
}

// requestStop asks the pod to stop; grace, if not nil, shortens its grace
// period (never lengthens it), as a second `kubectl delete
// --grace-period` does.
func (p *podProc) requestStop(grace *time.Duration) {
	if grace != nil {
		p.stopMu.Lock()
		if p.stopGrace == nil || *grace < *p.stopGrace {
			p.stopGrace = grace
		}
		p.stopMu.Unlock()
		select {
		case p.nudge <- struct{}{}:
		default:
		}
	}
	p.stop()
}

// note tells a foreground `up` what happens, for its user; `up -d` has
// gone, and nobody reads the pipe.
func (p *podProc) note(m childMsg) {
	if p.w.Foreground {
		p.events.send(m)
	}
}

// runReporting runs the pod and turns a panic into an error that `up`
// reports, with the stack in the pod's log.
func (p *podProc) runReporting() (err error) {
	defer func() {
		if r := recover(); r != nil {
			logrus.Errorf("[podbox:pod] panic: %v\n%s", r, debug.Stack())
			err = fmt.Errorf("the pod's process failed: %v", r)
			p.stop()
		}
	}()
	return p.run()
}

func (p *podProc) stopping() bool {
	select {
	case <-p.stopCh:
		return true
	default:
		return false
	}
}

func (p *podProc) run() error {
	pod := p.w.Pod
	p.state = newPodState(pod)
	if err := p.setup(); err != nil {
		return err
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
	go func() {
		<-sigs
		logrus.Infof("[podbox:pod] signal: stopping")
		p.stop()
	}()
	// The network comes from the parent once slirp4netns runs.
	var m parentMsg
	if err := p.in.Decode(&m); err != nil {
		return fmt.Errorf("waiting for the network: %w", err)
	}
	if !m.NetworkReady {
		return fmt.Errorf("setting up the network: %s", m.Error)
	}
	go p.watchNetwork(m.SlirpPID)
	if err := p.forwardPorts(); err != nil {
		return err
	}
	go p.listenParent()
	started := make(chan struct{})
	p.sups.Add(1)
	go func() {
		defer p.sups.Done()
		p.supervise(started)
	}()
	select {
	case <-started:
	case <-p.stopCh:
	}
	p.events.send(childMsg{Event: eventStartedMsg, Phase: p.state.phase(), Errors: p.state.startErrors()})
	// Setup (the store, the manifest) is done: give its heap back, the
	// pod's PID 1 lives as long as the pod.
	debug.FreeOSMemory()
	// Report the end, then hold the status until asked to stop.
	for {
		ch := p.state.wait()
		if p.state.appsFinal() && !p.sidecarsStopping() {
			p.sidecarsOnce.Do(func() { close(p.sidecarsCh) })
			go p.stopSidecars()
		}
		if ph := p.state.phase(); podFinished(ph) && p.state.sidecarsFinal() {
			p.events.send(childMsg{Event: eventFinishedMsg, Phase: ph, Errors: p.state.startErrors()})
			break
		}
		select {
		case <-ch:
			continue
		case <-p.stopCh:
		}
		break
	}
	<-p.stopCh
	p.stopContainers()
	return nil
}

// listenParent waits for a stop request from a foreground `up`, or for its
// death: a foreground pod does not outlive its terminal.
func (p *podProc) listenParent() {
	for {
		var m parentMsg
		if err := p.in.Decode(&m); err != nil {
			if p.w.Foreground {
				logrus.Infof("[podbox:pod] the foreground podbox is gone: stopping")
				p.stop()
			}
			return
		}
		if m.Kill {
			p.kill()
		}
		if m.Stop {
			p.stop()
		}
	}
}

// watchNetwork waits until slirp4netns exits, whoever started it and
// however it dies: it holds the only write end of the pipe at fdNetDown,
// so a read there ends with EOF then. The pod keeps running without a way
// out; its status and events say so.
func (p *podProc) watchNetwork(pid int) {
	_ = unix.SetNonblock(fdNetDown, true) // wait in the poller, not on a thread
	f := os.NewFile(fdNetDown, "netdown")
	defer f.Close()
	_, _ = io.Copy(io.Discard, f)
	// Its exit status went to its parent (a gone `up -d`, or init), and
	// its log ends with its start: say what it means instead.
	msg := fmt.Sprintf("slirp4netns (pid %d) exited: the pod has lost its network (no egress, no DNS, no slirp4netns port forwarding); podbox down and up again to restore it", pid)
	logrus.Warnf("[podbox:pod] %s", msg)
	p.state.networkDown(msg)
}

// setup makes the pod's world: /proc, hostname, volumes, /etc files, the
// containers' root filesystems and bundles, the runtime, the control
// socket. Each step that needs undoing registers it.
func (p *podProc) setup() error {
	w := p.w
	pod := w.Pod
	_ = os.Chdir("/") // hold no directory of the user's busy
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	// A /proc of the pod's own PID namespace, for the runtime and for us.
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting /proc: %w", err)
	}
	if err := unix.Sethostname([]byte(mounts.Hostname(pod))); err != nil {
		return fmt.Errorf("setting the hostname: %w", err)
	}
	for _, d := range []string{w.Dirs.logDir(), w.Dirs.etcDir(), w.Dirs.runtimeRoot()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	vols, undo, err := mounts.Setup(pod, w.Dirs.Data)
	p.undo = append(p.undo, undo)
	if err != nil {
		return fmt.Errorf("setting up volumes: %w", err)
	}
	p.vols = vols
	if p.etc, err = mounts.WriteEtc(pod, w.Dirs.etcDir()); err != nil {
		return fmt.Errorf("writing /etc files: %w", err)
	}
	if p.store, err = image.OpenStore(w.Store); err != nil {
		return err
	}
	p.undo = append(p.undo, func() error { p.store.Shutdown(); return nil })
	ctx := context.Background()
	var rtRes probe.Result
	if p.rt, rtRes, err = probe.Find(ctx, w.Runtime); err != nil {
		return err
	}
	if rtRes.CgroupTmpfs { // podproto.Runtime.CgroupTmpfs, in the pod's own mount namespace
		if err := probe.HideCgroups(); err != nil {
			return err
		}
	}
	p.rt.Root = w.Dirs.runtimeRoot()
	p.ctrs = map[string]*container{}
	all := make([]*corev1.Container, 0, len(pod.Spec.InitContainers)+len(pod.Spec.Containers))
	for i := range pod.Spec.InitContainers {
		all = append(all, &pod.Spec.InitContainers[i])
	}
	for i := range pod.Spec.Containers {
		all = append(all, &pod.Spec.Containers[i])
	}
	for i, c := range all {
		init := i < len(pod.Spec.InitContainers)
		ctr := &container{p: p, spec: c, init: init, sidecar: init && isSidecar(c), id: containerID(pod.Name, c.Name)}
		// Listed before it is prepared: if preparing fails after its rootfs
		// was made, teardown still removes that.
		p.ctrs[c.Name] = ctr
		if err := ctr.prepare(); err != nil {
			return fmt.Errorf("preparing container %q: %w", c.Name, err)
		}
	}
	// From here on, PID 1 reaps everything; the runtime runs through it.
	p.reaper = newReaper()
	p.rt.Run = p.reaper.run
	p.ctl, err = serveCtl(w.Dirs.ctlSock(), p)
	if err != nil {
		return fmt.Errorf("serving the control socket: %w", err)
	}
	return nil
}

// teardown undoes setup, last first, and removes the pod's directories:
// the pod leaves nothing behind.
func (p *podProc) teardown() {
	if p.ctl != nil {
		p.ctl.close()
	}
	if p.reaper != nil {
		p.reaper.close()
	}
	keepRun := false // a rootfs that could not go keeps the runtime dir, so down retries (issue 9)
	for _, c := range p.ctrs {
		if c.rootfs != "" {
			if err := p.store.Removing(func() error { return mounts.RemoveRootfs(p.store.Storage(), c.id) }); err != nil {
				logrus.Warnf("[podbox:pod] removing the root filesystem of %q: %v", c.spec.Name, err)
				keepRun = true
			}
		}
	}
	for i := len(p.undo) - 1; i >= 0; i-- {
		if err := p.undo[i](); err != nil {
			logrus.Warnf("[podbox:pod] cleaning up: %v", err)
		}
	}
	_ = unix.Unmount("/proc", unix.MNT_DETACH)
	for _, d := range []string{p.w.Dirs.Data, p.w.Dirs.Run} {
		if keepRun && d == p.w.Dirs.Run {
			continue
		}
		if err := removePodDir(d); err != nil {
			logrus.Warnf("[podbox:pod] removing %s: %v", d, err)
		}
	}
}

var errStopped = errors.New("pod stopping")

// sleepOrStop waits d, or less if the pod (or, for a sidecar, the
// sidecars) must stop.
func sleepOrStop(p *podProc, c *container, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	var sidecars <-chan struct{}
	if c.sidecar {
		sidecars = p.sidecarsCh
	}
	select {
	case <-t.C:
		return nil
	case <-p.stopCh:
		return errStopped
	case <-sidecars:
		return errStopped
	}
}

func (p *podProc) snapshotPod() *corev1.Pod { return p.state.snapshot() }

// Package pod is the pod's PID 1: the process that lives as long as the
// pod, inside its namespaces. It holds the namespaces by being alive, reaps
// orphans, supervises the containers through the OCI runtime, keeps their
// CRI logs, their status and the pod's events, serves the control socket
// and the hostPorts, and at the end takes the pod down. Everything else
// (the manifest, the images, storage, the OCI specs, the runtime probe) is
// the CLI's: `up` computes it and hands it over as a podproto.Work.
//
//	up (CLI, in podbox's user namespace)        pod PID 1 (this package)
//	   clone NEWNS|NEWNET|NEWPID|NEWUTS|NEWIPC ─▶ Main
//	   slirp4netns (in parallel)
//	   rootfs, bundles, /etc, volume dirs
//	   Work ──────────────── fd 3 ─────────────▶ /proc, hostname, tmpfs
//	   mount fds ─────────── fd 7 ─────────────▶ move_mount onto each rootfs
//	   {networkReady} ────── fd 3 ─────────────▶ ports, ctl.sock, containers
//	   ◀───────────────────── fd 4 ───────────── {started} {running} {exited} …
//
// Decisions:
//
//   - Imports: the standard library, x/sys/unix, the runtime-spec types,
//     podproto, ociruntime and slirp/relay, nothing else (no Kubernetes
//     types, no go.podman.io, no logrus, no net/http): every page it maps
//     is paid per pod for the pod's whole life. Its status and events are
//     podproto types with the Kubernetes API's JSON names; the CLI decodes
//     them into corev1 types.
//   - Root filesystems: `up` creates and mounts each storage container in
//     its own mount namespace, clones the mount (open_tree with
//     OPEN_TREE_CLONE) and sends the descriptor over a SOCK_SEQPACKET
//     socket; the pod moves it onto Container.Rootfs (move_mount) in its
//     own mount namespace, so the mount goes with the pod even if it is
//     killed, and `up` unmounts its own at once. A restart reuses the same
//     rootfs, as the kubelet reuses the image: the runtime container is
//     deleted and created again on it.
//   - medium: Memory emptyDirs are tmpfs mounted here, in the pod's mount
//     namespace, on the directories `up` made.
//   - The reaper: PID 1 holds the namespaces by being alive, and reaps. One
//     goroutine handles SIGCHLD with wait4(-1); the OCI runtime runs through
//     it (Runtime.Run) under a lock that registers the pid before it can be
//     reaped, and a container's exit status arrives through it by the pid
//     from --pid-file. The cleanup helper runs through it too.
//   - Containers run with `create` + `start`; PID 1 holds their stdout and
//     stderr pipes and writes each line to the container's CRI log file
//     (`<RFC3339Nano> stdout|stderr F|P <line>`) under the pod's data
//     dir, kept until down. One file per run, named as the kubelet names
//     them: logs/<ctr>/<restartCount>.log; a restart opens the next one
//     and removes all but it and the previous run's, so `logs --previous`
//     has the last terminated instance and a crash-looping container does
//     not fill the disk with files; logs/<ctr>.log is a symbolic link to
//     the current one (renamed over, so never missing), for whoever tails
//     the file by hand. No runtime process stays per container.
//   - Lifecycle as the kubelet: init containers in order, each retried per
//     restartPolicy until it exits 0 (with Never, a failure fails the pod
//     and no app container starts); app containers in parallel, created
//     together, each from its own goroutine; back-off 10 s doubling to
//     300 s, reset after 10 min of running; a restarted container is a
//     fresh runtime container on the same rootfs. The status has the JSON of
//     a v1.PodStatus; the phase follows the kubelet's getPhase.
//   - `runc delete --force` runs only before creating a container again
//     after a run (and after a failed create or start), never before the
//     first create: the runtime's state dir is the pod's own and new, so
//     nothing can be there.
//   - Sidecars (init containers with restartPolicy Always, Kubernetes 1.28+)
//     start in their place among the init containers, the next one starting
//     once the sidecar runs; they restart whatever their exit, and are
//     stopped (SIGTERM, then SIGKILL after the grace period) once every app
//     container is done, so that the pod can finish. The pod's phase is
//     the app containers'.
//   - activeDeadlineSeconds counts from the pod process's start (the
//     kubelet's StartTime): past it the pod is Failed with the kubelet's
//     reason and message (DeadlineExceeded) at once, its containers are
//     stopped as at a stop but nothing restarts, and the pod keeps its
//     status until `down`, as any finished pod.
//   - emptyDir sizeLimit on disk (volumes.go): no filesystem quota is
//     there to bound a directory rootless (a loop-mounted filesystem needs
//     the host's root), so the pod measures each such volume as du does,
//     as the kubelet's eviction manager measures them, and past the limit
//     evicts itself as the kubelet does: the Evicted event, the pod Failed
//     with reason Evicted and the kubelet's message ("Usage of EmptyDir
//     volume "x" exceeds the limit "1Mi". "), its containers stopped
//     within 2 s (the kubelet's eviction grace: 0, raised to its 2 s
//     minimum) and not restarted. The measure runs every 2 s, or ten
//     times as long as the last walk took, so a big volume costs at most
//     a tenth of a core.
//   - securityContext.sysctls are written by this process into its own
//     network and IPC namespaces before any container runs, as a CRI
//     runtime sets them on the pod's sandbox (the containers share those
//     namespaces); runc refuses net.* in a container spec without a
//     network namespace of its own. Only the kubelet's safe sysctls get
//     here (package manifest refuses the rest).
//   - Stopping: SIGTERM through the runtime, SIGKILL after
//     terminationGracePeriodSeconds (or `down --grace-period N`, which
//     only ever shortens it, as a second `kubectl delete` does; 0 kills at
//     once). But a container whose PID 1 cannot get SIGTERM is killed at
//     once (stopsignal.go): the init of a PID namespace only receives the
//     signals it has a handler for (pid_namespaces(7)), so for a shell or
//     `sleep` as PID 1 — most manifests — the kernel discards SIGTERM and
//     the grace period would be 30 s of waiting for nothing. PID 1 reads
//     SigCgt/SigIgn/SigBlk and NSpid in its own /proc; the event is the
//     kubelet's Killing, "Stopping container web: it does not handle
//     SIGTERM; killed at once". A container sharing the pod's PID
//     namespace is no init: SIGTERM's default action applies and it gets
//     SIGTERM.
//   - Probes and lifecycle hooks as the kubelet runs them (probe.go,
//     hooks.go, action.go): one loop per probe and per run, thresholds as
//     its prober workers, readiness → Ready and the pod's conditions,
//     liveness/startup failure → kill and restart per policy with the
//     back-off; preStop before the stop signal within the grace period,
//     the signal from lifecycle.stopSignal or the image. Network probes
//     are made here, inside the pod's network namespace, so nothing is
//     needed in the image; HTTP/1.1 by hand (no net/http), HTTPS and gRPC
//     by a short-lived podbox in the probe role (Work.ProbeHelper): no
//     crypto/tls or HTTP/2 is linked here for the few pods that use them.
//     exec probes and hooks go through the runtime's exec, killed at the
//     timeout.
//   - Restart on change (filewatch.go; the podbox.io/restart-on-change
//     annotation, Container.WatchPaths): this process watches the named
//     containers' hostPath directories, so it works however the pod was
//     started (up, up -d, up --watch) and nothing on the host has to stay.
//     One inotify descriptor, recursive (at most 4096 directories),
//     debounced 300 ms; a change stops the container as the kubelet kills
//     one (Killing "Container web: /src/app.py changed, will be
//     restarted", preStop, its stop signal, the grace period) and starts
//     it again at once: restartCount counts it, as `kubectl get` shows a
//     restart, but it is no crash (no back-off, whatever the
//     restartPolicy); a container waiting in back-off starts at once. No
//     goroutine and no descriptor in a pod without the annotation.
//   - Events as the kubelet records them (Scheduled, Pulling/Pulled from
//     `up`'s Container.Pull, Created, Started, Completed, Failed, BackOff,
//     Killing, NetworkDown, Unhealthy, FailedPostStartHook,
//     FailedPreStopHook); repeats count on the first ("x4 over 2m");
//     at most 200 are kept, in memory.
//   - An exec whose client hangs up: the process gets SIGHUP, then SIGKILL
//     2 s later.
//   - The control socket speaks just enough HTTP/1.1 for net/http's client
//     (ctl.go): one request per connection, bounded headers and body, a
//     read deadline; POST /exec switches protocols and keeps the
//     *net.UnixConn for SCM_RIGHTS.
//   - Teardown: the containers are stopped, the root filesystems and tmpfs
//     unmounted, the control socket closed, then Work.Cleanup runs (the
//     podbox binary in its cleanup role) to remove the storage containers,
//     the volumes and both pod directories; if it fails (a rootfs that
//     could not go), the runtime directory stays and `down` tries again.
//   - Memory (issue 10: every byte here is paid per pod, for the pod's
//     life). Measured on an idle two-container pod, /proc/PID/smaps_rollup
//     of PID 1, the anonymous PSS averaged over 6 pods: Go's floor (a
//     program that only sleeps) is 0.64 MiB anonymous with 4 threads; the
//     runtime never ends a thread it started, and each keeps 48 KiB of
//     stacks (g0 and signal). So: GOMAXPROCS 1 (one P, one mcache; the pod
//     has no CPU-bound work), and the pipes to `up` (FDWork, FDEvents,
//     FDNetDown) non-blocking, so that their reads wait in the netpoller
//     instead of pinning a thread each (listenParent's read of FDWork lasts
//     the pod's life): 8.3 → 6.5 threads, 1692 → 1574 KiB anonymous, each
//     further pod 1690 → 1581 KiB. Tried and dropped (no gain, or worse):
//     SetGCPercent(10) after setup (the live heap is ~0.25 MiB; the rest
//     is spans and stacks), ending idle threads by exiting locked
//     goroutines (LockOSThread starts the template thread and the runtime
//     starts others to hand the P to: more memory), FreeOSMemory again
//     once the pod is quiet after a change (+160 KiB, measured twice).
//     The CRI log reads 4 KiB at a time, not 16 KiB (crilog.go).
//     The file-backed part, the program's pages, was 3.2 MiB of the first
//     pod's 4.8: setup and the runtime's start touch nearly all the binary
//     (and the kernel maps 64 KiB around each fault). Once the pod is quiet
//     for a second after a change, the status saver drops those mappings
//     (unmapProgram, MADV_DONTNEED on the binary's read-only mappings: the
//     pages stay in the page cache, shared and reclaimable, and fault back
//     in when used): first pod 4.8 → 2.6–2.7 MiB PSS (file 3.2 → 1.1),
//     six pods 12.8 → 11.7–11.9 MiB. Doing it also right after "started"
//     measured worse (the full GC and the rest of the start fault most of
//     it back, and its garbage stays).
//   - The log is podbox.log, this process's stderr: timestamped lines
//     "[podbox:pod] …", info and up (debug with --log-level debug); a Go
//     panic writes there too, where `up` looks for why the pod died.
package pod

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/podbox/podbox/sandbox/ociruntime"
	"github.com/podbox/podbox/sandbox/podproto"
	"golang.org/x/sys/unix"
)

// Main runs the pod's PID 1 and returns its exit code. Its stderr is the
// pod's podbox.log.
func Main() int {
	runtime.GOMAXPROCS(1)
	os.Unsetenv(podproto.EnvPodChild)
	for _, fd := range []int{podproto.FDWork, podproto.FDEvents, podproto.FDExit, podproto.FDNetDown, podproto.FDMounts} {
		unix.CloseOnExec(fd) // never into the runtime or a container
	}
	// Non-blocking, so that reading and writing them waits in the
	// netpoller: a blocking read pins an OS thread (listenParent's, for the
	// pod's life), and each thread keeps 48 KiB of stacks.
	_ = unix.SetNonblock(podproto.FDWork, true)
	_ = unix.SetNonblock(podproto.FDEvents, true)
	in := json.NewDecoder(os.NewFile(podproto.FDWork, "work"))
	events := &eventWriter{enc: json.NewEncoder(os.NewFile(podproto.FDEvents, "events"))}
	var w podproto.Work
	if err := in.Decode(&w); err != nil {
		log.errorf("reading the pod's work: %v", err)
		events.send(podproto.ChildMsg{Event: podproto.EventError, Error: fmt.Sprintf("the pod's process could not read its work: %v", err)})
		return 125
	}
	for _, pt := range w.Ports {
		unix.CloseOnExec(pt.FD)
	}
	log.setLevel(w.LogLevel)
	p := &podProc{w: &w, events: events, stopCh: make(chan struct{}), sidecarsCh: make(chan struct{}), haltCh: make(chan struct{}), in: in,
		killCh: make(chan struct{}), nudge: make(chan struct{}, 1)}
	err := p.runReporting()
	if err != nil {
		log.errorf("%v", err)
		events.send(podproto.ChildMsg{Event: podproto.EventError, Error: err.Error()})
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

func (e *eventWriter) send(m podproto.ChildMsg) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_ = e.enc.Encode(m) // the parent may be gone (-d): fine
}

// podProc is the pod's PID 1.
type podProc struct {
	w      *podproto.Work
	in     *json.Decoder
	events *eventWriter
	state  *podState
	reaper *reaper
	rt     *ociruntime.Runtime
	mounts []string       // what teardown unmounts, last first
	undo   []func() error // teardown steps, run last first
	ctrs   []*container   // init containers in order, then app containers
	byName map[string]*container
	ctl    *ctlServer

	stopOnce sync.Once
	stopCh   chan struct{} // closed when the pod is asked to stop
	haltCh   chan struct{} // closed when activeDeadlineSeconds is over or the pod is evicted: nothing (re)starts
	haltOnce sync.Once
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
func (p *podProc) note(m podproto.ChildMsg) {
	if p.w.Foreground {
		p.events.send(m)
	}
}

// runReporting runs the pod and turns a panic into an error that `up`
// reports, with the stack in the pod's log.
func (p *podProc) runReporting() (err error) {
	defer func() {
		if r := recover(); r != nil {
			log.errorf("panic: %v\n%s", r, debug.Stack())
			err = fmt.Errorf("the pod's process failed: %v", r)
			p.stop()
		}
	}()
	return p.run()
}

func (p *podProc) stopping() bool { return closed(p.stopCh) || closed(p.haltCh) }

// watchDeadline ends the pod once it has been active for d
// (activeDeadlineSeconds), as the kubelet's activeDeadlineHandler: the
// event and the pod's reason DeadlineExceeded, its containers stopped as
// at a stop (grace period, preStop) and not restarted, the pod Failed;
// the pod then holds its status like any finished pod, until `down`.
func (p *podProc) watchDeadline(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-p.stopCh:
		return
	}
	log.infof("activeDeadlineSeconds (%s) is over: stopping the containers", d)
	p.halt(podproto.EventTypeNormal, podproto.ReasonDeadlineExceeded, podproto.MessageDeadlineExceeded, nil)
}

// halt ends the pod for reason (DeadlineExceeded, Evicted): the event, the
// pod Failed with reason and message, its containers stopped as at a stop
// (within grace if not nil, else the pod's) and not restarted. Only the
// first halt acts.
func (p *podProc) halt(eventType, reason, message string, grace *time.Duration) {
	first := false
	p.haltOnce.Do(func() { first = true })
	if !first {
		return
	}
	p.state.events.record(time.Now(), eventType, reason, "", "%s", message)
	p.state.halted(reason, message)
	if grace != nil {
		p.stopMu.Lock()
		if p.stopGrace == nil || *grace < *p.stopGrace {
			p.stopGrace = grace
		}
		p.stopMu.Unlock()
	}
	close(p.haltCh)
	done := waitDone(&p.sups)
	p.terminate(func(*container) bool { return true }, done, false)
	<-done
	p.state.finalAll()
}

func (p *podProc) run() error {
	p.state = newPodState(p.w)
	if err := p.setup(); err != nil {
		return err
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
	go func() {
		<-sigs
		log.infof("signal: stopping")
		p.stop()
	}()
	// The network comes from the parent once slirp4netns runs.
	var m podproto.ParentMsg
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
	if d := p.w.ActiveDeadlineSeconds; d > 0 {
		go p.watchDeadline(time.Duration(d) * time.Second)
	}
	if len(p.w.VolumeLimits) > 0 {
		go p.watchVolumes()
	}
	for _, c := range p.ctrs {
		if c.wake != nil {
			go p.watchFiles()
			break
		}
	}
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
	p.events.send(podproto.ChildMsg{Event: podproto.EventStarted, Phase: p.state.phase(), Errors: p.state.startErrors()})
	// Setup is done: give its heap back, the pod's PID 1 lives as long as
	// the pod. (The status saver drops the program's pages once the pod is
	// quiet: unmapProgram.)
	debug.FreeOSMemory()
	// Report the end, then hold the status until asked to stop.
	for {
		ch := p.state.wait()
		if p.state.appsFinal() && !p.sidecarsStopping() {
			p.sidecarsOnce.Do(func() { close(p.sidecarsCh) })
			go p.stopSidecars()
		}
		if ph := p.state.phase(); podFinished(ph) && p.state.sidecarsFinal() && p.state.appsFinal() {
			p.events.send(podproto.ChildMsg{Event: podproto.EventFinished, Phase: ph, Errors: p.state.startErrors()})
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
		var m podproto.ParentMsg
		if err := p.in.Decode(&m); err != nil {
			if p.w.Foreground {
				log.infof("the foreground podbox is gone: stopping")
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
// however it dies: it holds the only write end of the pipe at FDNetDown,
// so a read there ends with EOF then. The pod keeps running without a way
// out; its status and events say so.
func (p *podProc) watchNetwork(pid int) {
	_ = unix.SetNonblock(podproto.FDNetDown, true) // wait in the poller, not on a thread
	f := os.NewFile(podproto.FDNetDown, "netdown")
	defer f.Close()
	_, _ = io.Copy(io.Discard, f)
	// Its exit status went to its parent (a gone `up -d`, or init), and
	// its log ends with its start: say what it means instead.
	msg := fmt.Sprintf("slirp4netns (pid %d) exited: the pod has lost its network (no egress, no DNS, no slirp4netns port forwarding); podbox down and up again to restore it", pid)
	log.warnf("%s", msg)
	p.state.networkDown(msg)
}

// setup makes the pod's world: /proc, hostname, the tmpfs volumes, the
// containers' root filesystems (from the CLI's mount descriptors), the
// runtime, the control socket. Each step that needs undoing registers it.
func (p *podProc) setup() error {
	w := p.w
	_ = os.Chdir("/") // hold no directory of the user's busy
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	// A /proc of the pod's own PID namespace, for the runtime and for us.
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting /proc: %w", err)
	}
	p.mounts = append(p.mounts, "/proc")
	if err := unix.Sethostname([]byte(w.Hostname)); err != nil {
		return fmt.Errorf("setting the hostname: %w", err)
	}
	if err := writeSysctls(w.Sysctls); err != nil {
		return err
	}
	if w.Runtime.CgroupTmpfs {
		if err := unix.Mount("tmpfs", "/sys/fs/cgroup", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0755,size=4k"); err != nil {
			return fmt.Errorf("mounting a tmpfs over /sys/fs/cgroup: %w", err)
		}
		p.mounts = append(p.mounts, "/sys/fs/cgroup")
	}
	for _, t := range w.Tmpfs {
		if err := unix.Mount("tmpfs", t.Path, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, t.Options); err != nil {
			return fmt.Errorf("mounting tmpfs on %s: %w", t.Path, err)
		}
		p.mounts = append(p.mounts, t.Path)
	}
	p.byName = map[string]*container{}
	for i := range w.Containers {
		c := &container{p: p, spec: &w.Containers[i]}
		if len(c.spec.WatchPaths) > 0 {
			c.wake = make(chan struct{}, 1)
		}
		p.ctrs = append(p.ctrs, c)
		p.byName[c.spec.Name] = c
		p.state.events.recordPull(c.spec)
	}
	if err := p.receiveRootfs(); err != nil {
		return err
	}
	p.rt = &ociruntime.Runtime{Name: w.Runtime.Name, Path: w.Runtime.Path, Root: w.Runtime.Root}
	// From here on, PID 1 reaps everything; the runtime runs through it.
	p.reaper = newReaper()
	p.rt.Run = p.reaper.run
	var err error
	p.ctl, err = serveCtl(w.Dirs, p)
	if err != nil {
		return fmt.Errorf("serving the control socket: %w", err)
	}
	return nil
}

// teardown undoes setup, last first, then runs the cleanup helper, which
// removes the storage containers, the volumes and the pod's directories:
// the pod leaves nothing behind.
func (p *podProc) teardown() {
	if p.ctl != nil {
		p.ctl.close()
	}
	for i := len(p.undo) - 1; i >= 0; i-- {
		if err := p.undo[i](); err != nil {
			log.warnf("cleaning up: %v", err)
		}
	}
	for i := len(p.mounts) - 1; i >= 0; i-- {
		if p.mounts[i] == "/proc" {
			continue // the runtime and the cleanup still use it
		}
		if err := unix.Unmount(p.mounts[i], unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			log.warnf("unmounting %s: %v", p.mounts[i], err)
		}
	}
	p.cleanup()
	if p.reaper != nil {
		p.reaper.close()
	}
	_ = unix.Unmount("/proc", unix.MNT_DETACH)
}

// cleanup runs Work.Cleanup through the reaper, its output into the pod's
// log.
func (p *podProc) cleanup() {
	if len(p.w.Cleanup) == 0 {
		return
	}
	cmd := exec.Command(p.w.Cleanup[0], p.w.Cleanup[1:]...)
	cmd.Env = p.w.CleanupEnv
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.Dir = "/"
	var err error
	if p.reaper != nil {
		err = p.reaper.run(cmd)
	} else {
		err = cmd.Run()
	}
	if err != nil {
		log.warnf("cleaning up the pod (%s): %v; its runtime directory stays for podbox down", p.w.Cleanup[0], err)
	}
}

var errStopped = errors.New("pod stopping")

// sleepOrStop waits d, or less if the pod (or, for a sidecar, the
// sidecars) must stop.
func sleepOrStop(p *podProc, c *container, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	var sidecars <-chan struct{}
	if c.spec.Sidecar {
		sidecars = p.sidecarsCh
	}
	select {
	case <-t.C:
		return nil
	case <-p.stopCh:
		return errStopped
	case <-p.haltCh:
		return errStopped
	case <-sidecars:
		return errStopped
	case <-c.wake:
		log.infof("container %q: a watched file changed: restarting now", c.spec.Name)
		return nil
	}
}

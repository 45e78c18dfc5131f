package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/podbox/podbox/image"
	"github.com/podbox/podbox/sandbox/manifest"
	"github.com/podbox/podbox/sandbox/ociruntime/probe"
	"github.com/podbox/podbox/sandbox/podproto"
	"github.com/podbox/podbox/sandbox/userns"
	"github.com/podbox/podbox/slirp"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// UpOptions say which pods to run and how.
type UpOptions struct {
	ManifestPaths []string           // required: YAML files or directories of Pods, workloads and the objects next to them (manifest.Load); "-": standard input
	Detach        bool               // return once every container has been started (or failed to) once
	Strict        bool               // a field podbox ignores is an error (the first of manifest.File.Ignored), not a warning
	Wait          bool               // with Detach: then wait until every container is ready, or the pod Succeeded
	WaitTimeout   time.Duration      // how long Wait waits; 0: DefaultWaitTimeout
	Runtime       string             // OCI runtime name or path; "": the first that works
	Store         image.StoreOptions // the image store
	LogLevel      string             // passed to the pod's process
	PortDriver    string             // builtin or slirp4netns for every pod; "": per pod (ports.go)
	StallTimeout  time.Duration      // pulls give up on a silent registry after it (image.PullOptions)
	Prune         bool               // remove the pods an earlier up of these files made that they no longer have (apply.go)
	Watch         bool               // foreground: apply again whenever a manifest file changes (watch.go)
	Out           io.Writer          // pod names (-d) or the containers' output; what reconcile did
	Err           io.Writer          // warnings and pull progress
}

// ErrPodRunning reports an up of a pod name that already runs.
var ErrPodRunning = errors.New("pod already running")

// ErrNotInUserNS reports Up, Down called outside podbox's user namespace.
var ErrNotInUserNS = errors.New("must run inside podbox's user namespace")

// Up runs the pods of a manifest. It must run inside podbox's user
// namespace. In the foreground it streams the containers' output until the
// pods finish or a signal comes (Ctrl-C, SIGTERM), then removes them, and
// returns 0 if every pod Succeeded, 1 if one Failed, 128+signal if
// interrupted. With Detach it returns 0 once every container has been
// started, or has failed to, once (an init container that waits, or a
// container that cannot start, does not hold it: ps shows them); with
// Wait, once every container is ready (*NotReadyError after WaitTimeout).
// Jobs run beside the pods as their controller would (job.go): exit 1 if
// one Failed; with Detach, in a controller process left running.
func Up(ctx context.Context, o UpOptions) (int, error) {
	if !userns.Inside() {
		return 125, ErrNotInUserNS
	}
	// Ctrl-C while pulling cancels the pull cleanly (the store stays
	// consistent); once the pods run, foreground stops them.
	in := notifyInterrupts(ctx)
	defer in.close()
	ctx = in.ctx
	if o.Watch {
		return watch(ctx, in, o)
	}
	f, err := loadManifests(o)
	if err != nil {
		return 125, err
	}
	// A Job's images are pulled and its runtime chosen before any pod
	// starts: a Job that cannot run leaves nothing half-built.
	jsteps, err := planJobs(f) // jobapply.go
	if err != nil {
		return 125, err
	}
	jf, err := applyJobs(ctx, f, jsteps, o)
	if err != nil {
		return 125, err
	}
	jobs, code, err := loadJobs(ctx, jf, o)
	if code != 0 || err != nil {
		return code, err
	}
	recreated := jobStepWords(jsteps)
	for _, r := range jobs {
		r.words = recreated[r.job.Name]
	}
	started, steps, code, err := apply(ctx, f, o)
	if code != 0 || err != nil {
		return code, err
	}
	for i, h := range started {
		if h == nil { // unchanged: followed and stopped as the others
			started[i] = adoptPod(steps[i].pod, o.Store)
		}
	}
	in.takeOver()
	if o.Detach && in.firstSignal() == nil {
		if o.Wait {
			if code, err := waitReady(started, o, in); code != 0 || err != nil {
				return code, err
			}
		}
		for i, h := range started {
			if l := steps[i].words(); l != "" {
				fmt.Fprintln(o.Out, l)
			} else {
				fmt.Fprintln(o.Out, h.name)
			}
		}
		return detachJobs(jobs, o)
	}
	reportSteps(o.Out, steps)
	for _, r := range jobs {
		if r.words != "" {
			fmt.Fprintln(o.Out, r.words)
		}
	}
	if len(jobs) > 0 {
		return foregroundJobs(started, jobs, o, in)
	}
	if len(f.Pods) == 0 {
		return 0, nil // only unchanged Jobs, under their controllers
	}
	return foreground(started, o, in)
}

// loadManifests loads the files of an up and prints their warnings.
func loadManifests(o UpOptions) (*manifest.File, error) {
	f, err := manifest.Load(o.ManifestPaths...)
	if err != nil {
		return nil, err
	}
	if o.Strict && len(f.Ignored) > 0 {
		return nil, strictError(f.Ignored)
	}
	for _, w := range f.Warnings {
		fmt.Fprintf(o.Err, "warning: %s\n", w)
	}
	if err := refuseCronJobs(f); err != nil {
		return nil, err
	}
	if len(f.Pods) == 0 && len(f.Jobs) == 0 {
		return nil, fmt.Errorf("%s: no Pod in the files", f.Path)
	}
	return f, nil
}

// loadJobs prepares the Jobs of f (prepareJobs) on the store, opened for
// them alone; 130 if interrupted.
func loadJobs(ctx context.Context, f *manifest.File, o UpOptions) ([]*jobRun, int, error) {
	if len(f.Jobs) == 0 {
		return nil, 0, nil
	}
	store, err := image.OpenStore(o.Store)
	if err != nil {
		return nil, 125, err
	}
	defer store.Shutdown()
	jobs, err := prepareJobs(ctx, store, f, o)
	if err != nil {
		if ctx.Err() != nil {
			return nil, 130, err
		}
		return nil, 125, err
	}
	return jobs, 0, nil
}

// createPods starts the pods of f (not running, checked by the caller):
// ports bound first, then pulls, then the pods.
func createPods(ctx context.Context, f *manifest.File, published []*corev1.Pod, o UpOptions) ([]*podHandle, int, error) {
	if err := slirp.CheckTun(); err != nil {
		return nil, 125, err
	}
	if _, err := slirp.Find(); err != nil {
		return nil, 125, err
	}
	// Ports before the pull: a port in use fails at once, nothing started.
	// A pod's ports are those of its copy in published (servicePorts),
	// with what the Services publish added.
	creating := map[string]bool{}
	for _, p := range f.Pods {
		creating[p.Namespace+"/"+p.Name] = true
	}
	var withPorts []*corev1.Pod
	for _, p := range published {
		if creating[p.Namespace+"/"+p.Name] {
			withPorts = append(withPorts, p)
		}
	}
	ports, err := bindPorts(withPorts, o.PortDriver)
	if err != nil {
		return nil, 125, err
	}
	defer closePorts(ports)
	store, err := image.OpenStore(o.Store)
	if err != nil {
		return nil, 125, err
	}
	defer store.Shutdown()
	return startPods(ctx, store, f, ports, o)
}

// startPods pulls the images, chooses the runtime and starts the pods, on
// the store `up` holds open until they run; it returns 125 or 130 with
// the error that stopped it (after stopping what it started).
func startPods(ctx context.Context, store *image.Store, f *manifest.File, ports map[string]*podPorts, o UpOptions) ([]*podHandle, int, error) {
	pods := f.Pods
	images, err := ensureImages(ctx, store, pods, f.Secrets, o)
	if ctx.Err() != nil {
		return nil, 130, fmt.Errorf("interrupted while pulling; nothing was started")
	}
	if err != nil {
		return nil, 125, err
	}
	// The runtime is chosen here, once: the pods' PID 1 does not probe.
	rt, how, err := probe.Find(ctx, o.Runtime)
	if err != nil {
		return nil, 125, err
	}
	chosen := chosenRuntime{rt: rt, cgroupTmpfs: how.CgroupTmpfs}
	var started []*podHandle
	for _, pod := range pods {
		if ctx.Err() != nil {
			break // interrupted: stop what runs, start nothing more
		}
		h, err := startPod(ctx, store, chosen, pod, f, images[pod.Name], ports[pod.Name], o)
		if err != nil {
			for _, h := range started {
				h.stopAndWait()
			}
			return nil, 125, fmt.Errorf("starting pod %q: %w", pod.Name, err)
		}
		started = append(started, h)
	}
	return started, 0, nil
}

// ensureImages pulls what is missing for every container, per its
// imagePullPolicy, and returns them by image reference.
func ensureImages(ctx context.Context, store *image.Store, pods []*corev1.Pod, secrets []*corev1.Secret, o UpOptions) (map[string]map[string]imageInfo, error) {
	// Storage containers whose pod is gone (killed before it could remove
	// them) are removed here, where the store is open anyway.
	if unlock, err := lockPods(); err == nil {
		if _, err := removeContainersOf(store, "", podAlive); err != nil {
			logrus.Warnf("removing the storage containers of pods that are gone: %v", err)
		}
		unlock()
	}
	out := map[string]map[string]imageInfo{}
	seen := map[string]imageInfo{} // one pull per image and policy per up
	for _, pod := range pods {
		out[pod.Name] = map[string]imageInfo{}
		creds, warning, err := podCredentials(pod, secrets)
		if err != nil {
			return nil, err
		}
		if warning != "" {
			fmt.Fprintf(o.Err, "warning: %s\n", warning)
		}
		for _, c := range allContainers(pod) {
			key := c.Image + "\x00" + string(c.ImagePullPolicy) + "\x00" + credentialsKey(creds)
			info, ok := seen[key]
			if !ok {
				var err error
				info, err = ensureImage(ctx, store, c, image.PullOptions{Out: o.Err, Policy: c.ImagePullPolicy, StallTimeout: o.StallTimeout, Credentials: creds})
				if err != nil {
					return nil, fmt.Errorf("pulling image %q for container %q: %w", c.Image, c.Name, err)
				}
				seen[key] = info
			}
			out[pod.Name][c.Name] = info
		}
	}
	return out, nil
}

// podHandle is a pod this `up` started.
type podHandle struct {
	name   string
	dirs   Dirs
	pod    *corev1.Pod
	store  image.StoreOptions
	cmd    *exec.Cmd
	toPod  *json.Encoder
	events chan podproto.ChildMsg
	exited chan struct{}
	// waitErr is how its process ended, once exited is closed.
	waitErr error
	// early are the messages that came before "started".
	early []podproto.ChildMsg
	// proc is the PID 1 of a pod this up did not start (adoptPod); cmd
	// is nil then.
	proc *podProcess
}

// startPod clones the pod's PID 1 into new namespaces, starts slirp4netns
// for it while it prepares the pod (root filesystems, bundles, /etc files,
// volumes), hands it the work and the root filesystems, then the network,
// and waits until its containers have started.
func startPod(ctx context.Context, store *image.Store, rt chosenRuntime, pod *corev1.Pod, objs *manifest.File, images map[string]imageInfo, ports *podPorts, o UpOptions) (*podHandle, error) {
	dirs := newPodDirs(pod.Name)
	// Until its pid file is written, the pod is created under lockPods:
	// no garbage collection can take it for a dead one.
	unlock, err := lockPods()
	if err != nil {
		return nil, err
	}
	locked := true
	defer func() {
		if locked {
			unlock()
		}
	}()
	if err := image.MkdirOwn(image.RunDir(), podsRunDir()); err != nil {
		return nil, err
	}
	if podAlive(pod.Name) {
		return nil, fmt.Errorf("%w: %s", ErrPodRunning, PodDirs(pod.Name).Run)
	}
	if st := probePod(pod.Name); st.exists {
		if err := cleanupDead(pod.Name, st, o.Store); err != nil {
			return nil, err
		}
	}
	for _, d := range []string{dirs.Run, dirs.Data} {
		if err := os.Mkdir(d, 0o700); err != nil {
			if errors.Is(err, os.ErrExist) {
				return nil, fmt.Errorf("%w: %s exists", ErrPodRunning, d)
			}
			return nil, err
		}
	}
	ok := false
	defer func() {
		if !ok {
			if locked {
				_ = dirs.remove()
			} else {
				_ = cleanupIfDead(pod.Name, o.Store)
			}
		}
	}()
	// The data dir is the registry of pods: it says where the runtime
	// dir is, for commands run with another XDG_RUNTIME_DIR.
	if err := writeFileAtomic(dirs.runRecord(), []byte(dirs.Run+"\n")); err != nil {
		return nil, err
	}
	if b, err := json.Marshal(pod); err == nil {
		_ = writeFileAtomic(dirs.manifestFile(), b)
	}
	if err := writeApplied(dirs, o.ManifestPaths, pod, objs); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(dirs.podLog(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	var pf podFiles
	if err := pf.open(); err != nil {
		return nil, err
	}
	defer pf.closeParentSide()
	// The lean podbox-pod of this build when there is one, else podbox
	// itself in the pod's role (podbinary.go).
	bin, why := PodBinary()
	env := os.Environ()
	if bin == "" {
		logrus.Debugf("pod %q: its process is podbox itself: %s", pod.Name, why)
		bin, env = "/proc/self/exe", append(env, podproto.EnvPodChild+"=1")
	}
	cmd := exec.Command(bin)
	cmd.Env = env
	cmd.Args = []string{podArgv0(pod.Name)}
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{pf.workR, pf.evW, pf.exitW, pf.netR, pf.mountsChild}
	// The hostPort sockets come last: their fds count from here.
	portFiles, portFDs := ports.files(podproto.FDFirstPort)
	cmd.ExtraFiles = append(cmd.ExtraFiles, portFiles...)
	// Its own session: a Ctrl-C on the terminal reaches `up`, which stops
	// the pod in order, not the pod directly.
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setsid:     true,
		Cloneflags: unix.CLONE_NEWNS | unix.CLONE_NEWNET | unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC,
	}
	if err := cmd.Start(); err != nil {
		pf.closeAll()
		return nil, fmt.Errorf("starting the pod's process: %w", err)
	}
	ports.close() // the pod holds them now
	// Only the pod writes events: with our copy closed, the pipe ends
	// when the pod's process does, whatever it sent. The same for the
	// other ends it holds.
	pf.closeChildSide()
	h := &podHandle{name: pod.Name, dirs: dirs, pod: pod, store: o.Store, cmd: cmd, toPod: json.NewEncoder(pf.workW),
		events: make(chan podproto.ChildMsg, 64), exited: make(chan struct{})}
	workW, evR := pf.workW, pf.evR
	pf.workW, pf.evR = nil, nil // the goroutines below close them
	go func() {
		h.waitErr = cmd.Wait()
		workW.Close()
		close(h.exited)
	}()
	go func() {
		defer evR.Close()
		dec := json.NewDecoder(evR)
		for {
			var m podproto.ChildMsg
			if err := dec.Decode(&m); err != nil {
				close(h.events)
				return
			}
			h.events <- m
		}
	}()
	// slirp4netns starts while the pod is prepared; reaped when it exits
	// (with the pod, by its exit-fd).
	type slirpResult struct {
		net *slirp.Network
		err error
	}
	slirpDone := make(chan slirpResult, 1)
	go func() {
		net, err := slirp.Start(slirp.Options{
			PID:               cmd.Process.Pid,
			ExitFD:            pf.exitR,
			HoldFD:            pf.netW,
			AllowHostLoopback: pod.Annotations[slirp.AnnotationAllowHostLoopback] == "true",
			LogPath:           dirs.slirpLog(),
			APISocket:         ports.slirpAPISocket(dirs),
			Ports:             ports.slirpSpecs(),
		})
		slirpDone <- slirpResult{net, err}
		if err == nil {
			_ = net.Cmd.Wait()
		}
	}()
	slirpStarted := false
	fail := func(err error) (*podHandle, error) {
		died := false
		select {
		case <-h.exited:
			died = true
		default:
			_ = cmd.Process.Kill()
			<-h.exited
		}
		if !slirpStarted {
			<-slirpDone // it ends with the pod
		}
		if died || errors.Is(err, os.ErrClosed) {
			// It died first (so a write to it failed): how it died is
			// the cause, not the write.
			return nil, h.diedError()
		}
		return nil, err
	}
	if err := writePidFile(dirs.pidFile(), cmd.Process.Pid); err != nil {
		return fail(err)
	}
	unlock()
	locked = false
	prep, err := preparePod(rt, pod, objs, images, dirs, o)
	if err != nil {
		return fail(err)
	}
	prep.work.Ports = portFDs
	if ports.bypass() && len(portFDs) > 0 {
		prep.work.SeccompAgent = filepath.Join(dirs.Run, "seccomp.sock")
	}
	if err := h.toPod.Encode(prep.work); err != nil {
		return fail(fmt.Errorf("handing the pod its work: %w", err))
	}
	if err := prep.sendRootfs(store, pf.mountsParent); err != nil {
		return fail(err)
	}
	if err := prep.fillTmpfs(cmd.Process.Pid, pf.mountsParent, h.exited); err != nil {
		return fail(err)
	}
	res := <-slirpDone
	slirpStarted = true
	if res.err != nil {
		_ = h.toPod.Encode(podproto.ParentMsg{Error: res.err.Error()})
		<-h.exited
		// The pod may have failed first (and slirp4netns then lost it).
		if m, open := <-h.events; open && m.Event == podproto.EventError {
			return nil, errors.New(m.Error)
		}
		return nil, res.err
	}
	// Only slirp4netns holds the write end now: EOF there is its end.
	pf.netW.Close()
	pf.netW = nil
	_ = os.WriteFile(dirs.slirpPidFile(), []byte(strconv.Itoa(res.net.Cmd.Process.Pid)+"\n"), 0o600)
	if err := h.toPod.Encode(podproto.ParentMsg{NetworkReady: true, SlirpPID: res.net.Cmd.Process.Pid}); err != nil {
		return fail(err)
	}
	for waiting := true; waiting; {
		select {
		case m, open := <-h.events:
			if !open {
				<-h.exited
				return nil, h.diedError()
			}
			if m.Event == podproto.EventError {
				<-h.exited
				return nil, errors.New(m.Error)
			}
			if m.Event != podproto.EventStarted {
				// What a foreground pod says for its user while it
				// starts: foreground prints it first.
				h.early = append(h.early, m)
				continue
			}
			waiting = false
			if o.Detach { // in the foreground, they come with the end
				for _, e := range m.Errors {
					fmt.Fprintf(o.Err, "pod %q: %s\n", pod.Name, e)
				}
			}
		case <-h.exited:
			// An error it sent may still be in the pipe.
			for m := range h.events {
				if m.Event == podproto.EventError {
					return nil, errors.New(m.Error)
				}
			}
			return nil, h.diedError()
		case <-ctx.Done():
			// Interrupted while it starts: the caller stops it like a
			// running pod, saying so.
			waiting = false
		}
	}
	ok = true
	return h, nil
}

// podFiles are the descriptors between `up`, the pod's PID 1 and
// slirp4netns (podproto's FD* numbers in the pod).
type podFiles struct {
	workR, workW *os.File // FDWork: up → pod
	evR, evW     *os.File // FDEvents: pod → up
	exitR, exitW *os.File // FDExit: slirp4netns's --exit-fd (it gets exitR)
	// netR, netW: FDNetDown; slirp4netns gets netW and never uses it, the
	// pod gets netR and sees EOF when slirp4netns dies. up closes both once
	// they are handed over, or the EOF would wait for it.
	netR, netW                *os.File
	mountsParent, mountsChild *os.File // FDMounts, a SOCK_SEQPACKET pair
}

func (f *podFiles) open() error {
	var err error
	if f.workR, f.workW, err = os.Pipe(); err != nil {
		return err
	}
	if f.evR, f.evW, err = os.Pipe(); err == nil {
		if f.exitR, f.exitW, err = os.Pipe(); err == nil {
			if f.netR, f.netW, err = os.Pipe(); err == nil {
				var fds [2]int
				if fds, err = unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0); err == nil {
					f.mountsParent = os.NewFile(uintptr(fds[0]), "mounts")
					f.mountsChild = os.NewFile(uintptr(fds[1]), "mounts")
				}
			}
		}
	}
	if err != nil {
		f.closeAll()
	}
	return err
}

func closeFiles(fs ...**os.File) {
	for _, f := range fs {
		if *f != nil {
			(*f).Close()
			*f = nil
		}
	}
}

// closeChildSide closes the ends the pod's process got, once it has them.
func (f *podFiles) closeChildSide() {
	closeFiles(&f.workR, &f.evW, &f.exitW, &f.netR, &f.mountsChild)
}

// closeParentSide closes what up still holds when startPod returns.
func (f *podFiles) closeParentSide() {
	closeFiles(&f.workW, &f.evR, &f.exitR, &f.netW, &f.mountsParent)
}

func (f *podFiles) closeAll() {
	f.closeChildSide()
	f.closeParentSide()
}

// stopAndWait asks the pod to stop and waits until its process is gone.
func (h *podHandle) stopAndWait() {
	_ = h.toPod.Encode(podproto.ParentMsg{Stop: true})
	<-h.exited
	h.cleanup()
}

// cleanup removes what the pod left if it died without removing it itself
// (it was killed): directories and storage containers.
func (h *podHandle) cleanup() {
	if err := cleanupIfDead(h.name, h.store); err != nil && !errors.Is(err, ErrPodRunning) {
		logrus.Warnf("pod %q: cleaning up: %v", h.name, err)
	}
}

// foreground streams the pods' output until they finish or a signal comes.
// The first signal stops the pods (their containers get SIGTERM and the
// grace period, or SIGKILL at once if SIGTERM cannot reach them) and says
// so; a second kills them at once; if a pod's process does not end within
// killWait after that, it is killed itself (the kernel takes its
// containers with it) and what it left is removed.
func foreground(pods []*podHandle, o UpOptions, in *interrupts) (int, error) {
	var srcs []logSource
	for _, h := range pods {
		for _, c := range allContainers(h.pod) {
			label := c.Name
			if len(pods) > 1 {
				label = h.name + "/" + c.Name
			}
			srcs = append(srcs, logSource{label: label, dir: h.dirs.containerLogDir(c.Name)})
		}
	}
	mux := newLogMux(srcs, o.Out)
	defer mux.close()
	// One channel for what the pods say and when they exit.
	type podEvent struct {
		h      *podHandle
		msg    podproto.ChildMsg
		exited bool
	}
	evs := make(chan podEvent, 8)
	for _, h := range pods {
		go func() {
			for _, m := range h.early {
				evs <- podEvent{h: h, msg: m}
			}
			for m := range h.events {
				evs <- podEvent{h: h, msg: m}
			}
			<-h.exited
			evs <- podEvent{h: h, exited: true}
		}()
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	code := 0
	stopping, killing := false, false
	var killTimer, noticeTimer <-chan time.Time
	said := map[*podHandle]bool{} // said what stopping it does
	onSignal := func(s os.Signal) {
		switch {
		case !stopping:
			stopping = true
			code = exitCode128(s)
			logrus.Infof("%s: stopping the pods", s)
			for _, h := range pods {
				_ = h.toPod.Encode(podproto.ParentMsg{Stop: true})
			}
			// A pod busy setting up answers later: say something.
			noticeTimer = time.After(time.Second)
		case !killing:
			killing = true
			for _, h := range pods {
				fmt.Fprintf(o.Err, "killing pod %s now\n", h.name)
				_ = h.toPod.Encode(podproto.ParentMsg{Stop: true, Kill: true})
			}
			killTimer = time.After(killWait)
		}
	}
	if s := in.firstSignal(); s != nil {
		// It came while the pods were starting.
		onSignal(s)
	}
	gone := map[*podHandle]bool{}
	for remaining := len(pods); remaining > 0; {
		select {
		case <-tick.C:
			mux.poll()
		case s := <-in.C:
			if in.fresh(s) {
				onSignal(s)
			}
		case <-noticeTimer:
			for _, h := range pods {
				if !said[h] && !gone[h] && !killing {
					fmt.Fprintf(o.Err, "stopping pod %s: waiting for its process (pid %d); Ctrl-C again to kill now\n", h.name, h.pid())
				}
			}
		case <-killTimer:
			for _, h := range pods {
				if !gone[h] {
					logrus.Warnf("pod %q: its process did not end: killing it", h.name)
					h.kill()
				}
			}
		case ev := <-evs:
			switch {
			case ev.exited:
				mux.poll()
				remaining--
				gone[ev.h] = true
				ev.h.cleanup()
			case ev.msg.Event == podproto.EventFinished:
				// Every line is in the files: print them before the
				// pod removes them.
				mux.poll()
				for _, e := range ev.msg.Errors {
					fmt.Fprintf(o.Err, "pod %q: %s\n", ev.h.name, e)
				}
				if ev.msg.Phase == podproto.PodFailed && code == 0 {
					code = 1
				}
				if !stopping {
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
					ctl := newCtlClient(ev.h.dirs.ctlSock())
					p, _ := ctl.pod(ctx) // nil: the phase alone
					if p != nil {
						// It finished by itself: keep it for ps, logs and
						// describe until down or the next up (finished.go).
						evs, _ := ctl.events(ctx)
						if err := keepFinished(ev.h.dirs, p, evs); err != nil {
							logrus.Warnf("pod %q: keeping it for inspection: %v", ev.h.name, err)
						}
					}
					cancel()
					fmt.Fprintln(o.Out, endWords(ev.h.name, ev.msg.Phase, p))
				}
				_ = ev.h.toPod.Encode(podproto.ParentMsg{Stop: true})
			case ev.msg.Event == podproto.EventStopping:
				mux.poll()
				if stopping && !killing && !said[ev.h] {
					said[ev.h] = true
					fmt.Fprintln(o.Err, stoppingWords(ev.h.name, ev.msg))
				}
			case ev.msg.Event == podproto.EventExited || ev.msg.Event == podproto.EventRunning:
				mux.poll()
				if !stopping {
					fmt.Fprintln(o.Out, noteWords(label(ev.h, ev.msg.Container, len(pods)), ev.msg))
				}
			}
		}
	}
	return code, nil
}

// killWait is how long a second Ctrl-C waits for a pod's process to kill
// its containers and clean up before it is killed itself, and how long
// `down` waits for a pod's process after SIGKILL before it gives up.
const killWait = 5 * time.Second

func label(h *podHandle, ctr string, pods int) string {
	if pods > 1 {
		return h.name + "/" + ctr
	}
	return ctr
}

// stoppingWords is what the first Ctrl-C prints: "stopping pod web: waiting
// for tomcat (SIGTERM sent, 30s grace period); Ctrl-C again to kill now".
func stoppingWords(pod string, m podproto.ChildMsg) string {
	var parts []string
	if len(m.Waiting) > 0 {
		parts = append(parts, fmt.Sprintf("waiting for %s (SIGTERM sent, %s grace period)", strings.Join(m.Waiting, ", "), m.Grace))
	}
	if len(m.Killed) > 0 {
		parts = append(parts, fmt.Sprintf("killed %s at once (SIGTERM cannot reach %s)", strings.Join(m.Killed, ", "), pronoun(len(m.Killed))))
	}
	s := "stopping pod " + pod
	if len(parts) > 0 {
		s += ": " + strings.Join(parts, "; ")
	}
	if len(m.Waiting) > 0 {
		s += "; Ctrl-C again to kill now"
	}
	return s
}

func pronoun(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

// endWords is the foreground's last line for a pod that finished by
// itself: "pod demo Succeeded", "pod demo Failed: web exited with code 1"
// (the first container, init ones first, that ended non-zero, from the
// pod's status p when there is one), "pod demo Failed: DeadlineExceeded".
func endWords(pod, phase string, p *corev1.Pod) string {
	s := "pod " + pod + " " + phase
	if phase != podproto.PodFailed || p == nil {
		return s
	}
	if p.Status.Reason != "" {
		return s + ": " + p.Status.Reason
	}
	for i, l := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, cs := range l {
			if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
				kind := ""
				if i == 0 {
					kind = "init container "
				}
				return fmt.Sprintf("%s: %s%s exited with code %d", s, kind, cs.Name, t.ExitCode)
			}
		}
	}
	return s
}

// noteWords is a foreground line about a container's life: "web exited
// with code 127; restarting in 10s".
func noteWords(ctr string, m podproto.ChildMsg) string {
	kind := ""
	if m.Init {
		kind = "init container "
	}
	var s string
	switch {
	case m.Changed != "":
		return ctr + " restarted: " + m.Changed + " changed"
	case m.Event == podproto.EventRunning:
		return kind + ctr + " is running; the next containers start once it exits 0"
	case m.Reason == reasonStartError:
		s = kind + ctr + " could not start"
		if m.Message != "" {
			s += ": " + m.Message
		}
	default:
		s = fmt.Sprintf("%s%s exited with code %d", kind, ctr, m.Code)
	}
	if m.RestartIn != "" {
		s += "; restarting in " + m.RestartIn + " (back-off)"
	}
	return s
}

package sandbox

// Jobs (issue 11 item 5): `up` runs a Job's pods as the Job controller
// would (jobctl.go decides, this file starts and watches the pods), named
// and labelled by manifest.JobPod.
//
// Decisions:
//
//   - In the foreground, `up` is the controller: it prints one line per
//     event of the Job ("job pi: pod pi-xk2c9 Succeeded (1/3)") besides its
//     containers' output, and ends with the Job's result ("job pi
//     Complete", "job pi Failed: BackoffLimitExceeded"), exit code 0 when
//     every Job Completed (and every bare pod Succeeded), 1 when one
//     Failed. Each pod goes as soon as it has finished, as a foreground
//     pod does; the Job's status is in the lines. Ctrl-C stops its pods
//     (as it stops bare pods: a second kills them) and exits 130. Bare Pods
//     in the same files run alongside; `up` ends when all the Jobs and all
//     the pods have: a long-running pod beside a Job keeps `up` running
//     once the Job's result is printed, until Ctrl-C.
//   - With -d, a controller process keeps the Job going after `up` has
//     returned (jobrole.go): podbox in the job role, in podbox's user
//     namespace, in its own session, argv "podbox-job:<job>". Its pods are
//     detached pods: a finished one stays listed (ps: Completed, Error) with
//     its logs until `down`, as a finished Job's pods stay on a cluster.
//   - A pod that could not be started (its hostPort taken, its image gone)
//     fails the Job at once (reason PodStartFailed, podbox's own): the
//     controller would retry for ever, which helps nobody on one machine.
//   - suspend: true, or parallelism 0, starts nothing: `up` says so in one
//     line, and the Job counts as done. ttlSecondsAfterFinished,
//     podFailurePolicy, successPolicy and backoffLimitPerIndex are not
//     honoured, and `up` warns so (jobWarnings): a foreground Job's pods
//     go when they finish, a detached Job's stay until `down`, which is
//     the user's TTL here; every failure counts against backoffLimit.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/podbox/podbox/image"
	"github.com/podbox/podbox/mounts"
	"github.com/podbox/podbox/sandbox/manifest"
	"github.com/podbox/podbox/sandbox/ociruntime/probe"
	"github.com/podbox/podbox/sandbox/podproto"
	"github.com/sirupsen/logrus"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// jobRun is one Job being run: its controller state and its pods.
type jobRun struct {
	job    *batchv1.Job
	f      *manifest.File
	o      UpOptions // o.Detach: its pods are detached pods (the job role)
	rt     chosenRuntime
	images map[string]imageInfo // by container name
	ctl    *jobCtl
	out    io.Writer // the Job's lines and (foreground) its containers' output
	errw   io.Writer
	// onChange, if not nil, is told of every change of the Job's status
	// (the job role saves it).
	onChange func(*jobCtl)

	procs   map[string]*podHandle // pods whose process lives
	running map[string]bool       // pods that have not finished
	mux     *logMux               // foreground: the containers' output
	muxOf   map[string][]*follower
	evs     chan jobPodEvent
	words   string // what up -d says of it: "" (job/<name>), or its reconcile line (jobapply.go)
}

type jobPodEvent struct {
	h      *podHandle
	msg    podproto.ChildMsg
	exited bool
}

// jobHold reports why a Job starts nothing ("" if it runs).
func jobHold(job *batchv1.Job) string {
	switch {
	case job.Spec.Suspend != nil && *job.Spec.Suspend:
		return "suspended (spec.suspend): nothing started"
	case job.Spec.Parallelism != nil && *job.Spec.Parallelism == 0:
		return "parallelism 0: nothing started"
	}
	return ""
}

// jobWarnings are the Job's fields that podbox does not honour, one line
// each, said at up.
func jobWarnings(job *batchv1.Job) []string {
	s := job.Spec
	var out []string
	say := func(field, what string) {
		out = append(out, fmt.Sprintf("job %q: spec.%s is not honoured: %s", job.Name, field, what))
	}
	if s.PodFailurePolicy != nil {
		say("podFailurePolicy", "every failed pod counts against backoffLimit")
	}
	if s.SuccessPolicy != nil {
		say("successPolicy", "the Job completes when every index has succeeded")
	}
	if s.BackoffLimitPerIndex != nil || s.MaxFailedIndexes != nil {
		say("backoffLimitPerIndex", "failures count against backoffLimit for the whole Job")
	}
	if s.TTLSecondsAfterFinished != nil {
		say("ttlSecondsAfterFinished", "a foreground Job's pods go when they finish; with -d they stay until podbox down")
	}
	return out
}

// prepareJobs pulls the images of the Jobs' pods on the store `up`
// holds, and chooses the runtime, before anything of them runs.
func prepareJobs(ctx context.Context, store *image.Store, f *manifest.File, o UpOptions) ([]*jobRun, error) {
	if len(f.Jobs) == 0 {
		return nil, nil
	}
	var runs []*jobRun
	var rt chosenRuntime
	for i, job := range f.Jobs {
		for _, w := range jobWarnings(job) {
			fmt.Fprintf(o.Err, "warning: %s\n", w)
		}
		if jobHold(job) != "" {
			runs = append(runs, &jobRun{job: job})
			continue
		}
		tmpl := manifest.JobPod(job, 0, 0)
		if err := mounts.CheckHostPaths(tmpl); err != nil {
			return nil, fmt.Errorf("job %q: %w", job.Name, err)
		}
		images, err := ensureImages(ctx, store, []*corev1.Pod{tmpl}, f.Secrets, o)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("interrupted while pulling; nothing was started: %w", ctx.Err())
		}
		if err != nil {
			return nil, fmt.Errorf("job %q: %w", job.Name, err)
		}
		if i == 0 || rt.rt == nil {
			r, how, err := probe.Find(ctx, o.Runtime)
			if err != nil {
				return nil, err
			}
			rt = chosenRuntime{rt: r, cgroupTmpfs: how.CgroupTmpfs}
		}
		runs = append(runs, &jobRun{job: job, f: f, o: o, rt: rt, images: images[tmpl.Name], out: o.Out, errw: o.Err})
	}
	return runs, nil
}

// run runs the Job until it has ended and its pods with it (detached:
// until its pods have finished), or until ctx ends (stopping them).
// sigs, in the foreground, are the interrupts: the first stops the pods,
// the second kills them. It returns 0 if the Job Completed, 1 if it
// Failed, 128+signal if it was interrupted.
func (r *jobRun) run(ctx context.Context, sigs <-chan os.Signal) int {
	if h := jobHold(r.job); h != "" {
		fmt.Fprintf(r.outw(), "job %s %s\n", r.job.Name, h)
		return 0
	}
	r.ctl = newJobCtl(r.job, time.Now())
	r.procs, r.running, r.muxOf = map[string]*podHandle{}, map[string]bool{}, map[string][]*follower{}
	r.evs = make(chan jobPodEvent, 16)
	if !r.o.Detach {
		r.mux = newLogMux(nil, r.out)
		defer r.mux.close()
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var poll <-chan time.Time // detached OnFailure: restart counts from the pods
	if r.o.Detach && r.ctl.onFailure {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		poll = t.C
	}
	code := 0
	stopping, killing, stopSent := false, false, false
	var killTimer <-chan time.Time
	said := map[string]bool{}
	wake := time.NewTimer(time.Hour)
	defer wake.Stop()
	r.changed()
	for {
		now := time.Now()
		r.ctl.decide(now)
		if (r.ctl.ended() || stopping) && !stopSent {
			stopSent = true
			for _, n := range r.ctl.activeNames() {
				if h := r.procs[n]; h != nil {
					_ = h.toPod.Encode(podproto.ParentMsg{Stop: true})
				}
			}
		}
		if !r.ctl.ended() && !stopping {
			slots, d := r.ctl.next(now)
			for _, s := range slots {
				if err := r.start(ctx, s); err != nil {
					r.ctl.startFailed(err.Error(), time.Now())
					break
				}
			}
			if len(slots) > 0 {
				r.changed()
			}
			if r.ctl.ended() {
				continue // stop what runs
			}
			if d > 0 {
				wake.Reset(d)
			}
		}
		if r.ctl.ended() || stopping {
			left := len(r.procs)
			if r.o.Detach {
				left = len(r.running)
			}
			if left == 0 {
				break
			}
		}
		select {
		case <-tick.C:
			r.poll()
		case <-wake.C:
		case <-poll:
			r.pollRestarts()
		case <-ctx.Done():
			if r.o.Detach {
				// The job role's SIGTERM (down): leave now; down takes
				// the pods, whose state is theirs.
				r.changed()
				return 130
			}
			if !stopping {
				stopping = true
				code = 130
			}
			ctx = context.Background() // once
		case s := <-sigs:
			switch {
			case !stopping:
				stopping = true
				code = exitCode128(s)
			case !killing:
				killing = true
				for _, h := range r.procs {
					fmt.Fprintf(r.errw, "killing pod %s now\n", h.name)
					_ = h.toPod.Encode(podproto.ParentMsg{Stop: true, Kill: true})
				}
				killTimer = time.After(killWait)
			}
		case <-killTimer:
			for _, h := range r.procs {
				logrus.Warnf("pod %q: its process did not end: killing it", h.name)
				_ = h.cmd.Process.Kill()
			}
		case ev := <-r.evs:
			r.handle(ev, stopping, killing, said)
		}
	}
	r.poll()
	r.changed()
	if stopping {
		return code
	}
	fmt.Fprintln(r.outw(), r.endWords())
	if r.ctl.cond == jobComplete {
		return 0
	}
	return 1
}

// outw is where the Job's lines go.
func (r *jobRun) outw() io.Writer {
	if r.out == nil {
		return io.Discard
	}
	return r.out
}

func (r *jobRun) changed() {
	if r.onChange != nil && r.ctl != nil {
		r.onChange(r.ctl)
	}
}

// endWords is the Job's last line: "job pi Complete", "job pi Failed:
// BackoffLimitExceeded".
func (r *jobRun) endWords() string {
	s := "job " + r.job.Name + " " + r.ctl.cond
	if r.ctl.cond == jobFailed {
		s += ": " + r.ctl.reason
		if r.ctl.reason == reasonPodStartFailed {
			s += ": " + r.ctl.message
		}
	}
	return s
}

// start starts the pod of slot s.
func (r *jobRun) start(ctx context.Context, s jobSlot) error {
	pod := manifest.JobPod(r.job, s.index, s.attempt)
	if podAlive(pod.Name) {
		return fmt.Errorf("pod %q: %w (podbox down %s)", pod.Name, ErrPodRunning, pod.Name)
	}
	ports, err := bindPorts([]*corev1.Pod{pod}, r.o.PortDriver)
	if err != nil {
		return fmt.Errorf("pod %s: %w", pod.Name, err)
	}
	defer closePorts(ports)
	store, err := image.OpenStore(r.o.Store)
	if err != nil {
		return err
	}
	o := r.o
	o.Out, o.Err = r.errw, r.errw
	h, err := startPod(ctx, store, r.rt, pod, r.f, r.images, ports[pod.Name], o)
	store.Shutdown()
	if err != nil {
		return fmt.Errorf("starting pod %q: %w", pod.Name, err)
	}
	r.ctl.podStarted(h.name, s)
	r.procs[h.name], r.running[h.name] = h, true
	if r.mux != nil {
		for _, c := range allContainers(pod) {
			f := r.mux.add(logSource{label: h.name + "/" + c.Name, dir: h.dirs.containerLogDir(c.Name)})
			r.muxOf[h.name] = append(r.muxOf[h.name], f)
		}
	}
	fmt.Fprintf(r.outw(), "job %s: pod %s started (%d active)\n", r.job.Name, h.name, len(r.ctl.active))
	go func() {
		for _, m := range h.early {
			r.evs <- jobPodEvent{h: h, msg: m}
		}
		for m := range h.events {
			r.evs <- jobPodEvent{h: h, msg: m}
		}
		<-h.exited
		r.evs <- jobPodEvent{h: h, exited: true}
	}()
	return nil
}

func (r *jobRun) poll() {
	if r.mux != nil {
		r.mux.poll()
	}
}

// handle is what a pod of the Job says or does.
func (r *jobRun) handle(ev jobPodEvent, stopping, killing bool, said map[string]bool) {
	h, now := ev.h, time.Now()
	r.poll()
	switch {
	case ev.exited:
		delete(r.procs, h.name)
		if r.running[h.name] {
			// Gone before it finished: stopped, or its process died.
			delete(r.running, h.name)
			if _, active := r.ctl.active[h.name]; active && !r.ctl.ended() && !stopping {
				r.ctl.podEnded(h.name, false, now)
				fmt.Fprintf(r.outw(), "job %s: pod %s Failed: its process ended %s\n", r.job.Name, h.name, r.failedNote())
			}
			r.changed()
		}
		h.cleanup()
		r.dropLogs(h.name)
	case ev.msg.Event == podproto.EventFinished:
		delete(r.running, h.name)
		ok := ev.msg.Phase == podproto.PodSucceeded
		_, active := r.ctl.active[h.name]
		ended := r.ctl.ended() // then the pod ends because it was stopped
		r.ctl.podEnded(h.name, ok, now)
		if active && !stopping && !ended {
			line := endWords(h.name, ev.msg.Phase, r.podStatus(h))
			if ok {
				fmt.Fprintf(r.outw(), "job %s: %s %s\n", r.job.Name, line, r.ctl.progress())
			} else {
				fmt.Fprintf(r.outw(), "job %s: %s %s\n", r.job.Name, line, r.failedNote())
			}
		}
		r.changed()
		if !r.o.Detach {
			_ = h.toPod.Encode(podproto.ParentMsg{Stop: true})
		}
	case ev.msg.Event == podproto.EventStopping:
		if stopping && !killing && !said[h.name] {
			said[h.name] = true
			fmt.Fprintln(r.errw, stoppingWords(h.name, ev.msg))
		}
	case ev.msg.Event == podproto.EventExited || ev.msg.Event == podproto.EventRunning:
		// An exit that ends the pod is in its end's line.
		if stopping || r.ctl.ended() || (ev.msg.Event == podproto.EventExited && ev.msg.RestartIn == "" && ev.msg.Reason != reasonStartError) {
			return
		}
		fmt.Fprintf(r.outw(), "job %s: pod %s: %s\n", r.job.Name, h.name, noteWords(ev.msg.Container, ev.msg))
		if ev.msg.Event == podproto.EventExited && ev.msg.RestartIn != "" {
			if p := r.ctl.active[h.name]; p != nil {
				r.ctl.podRestarted(h.name, p.restarts+1, now)
				r.changed()
			}
		}
	}
}

// failedNote is "(1 failed, backoffLimit 1; next pod in 10s)".
func (r *jobRun) failedNote() string {
	s := fmt.Sprintf("(%d failed, backoffLimit %d", r.ctl.failed, r.ctl.backoffLimit)
	if !r.ctl.ended() {
		if d := r.ctl.backoffAfter(r.ctl.failsSinceSuccess); d > 0 {
			s += "; next pod in " + d.String()
		}
	}
	return s + ")"
}

// podStatus asks a pod for its status (nil if it does not answer).
func (r *jobRun) podStatus(h *podHandle) *corev1.Pod {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	p, _ := newCtlClient(h.dirs.ctlSock()).pod(ctx)
	return p
}

// pollRestarts reads the restart counts of the running pods (a detached
// pod does not tell them).
func (r *jobRun) pollRestarts() {
	for n := range r.running {
		h := r.procs[n]
		if h == nil {
			continue
		}
		p := r.podStatus(h)
		if p == nil {
			continue
		}
		_, _, restarts := readyRestarts(p)
		if cur := r.ctl.active[n]; cur != nil && int(restarts) > cur.restarts {
			r.ctl.podRestarted(n, int(restarts), time.Now())
			r.changed()
		}
	}
}

// dropLogs stops following a pod's containers once it has gone.
func (r *jobRun) dropLogs(pod string) {
	if r.mux == nil {
		return
	}
	drop := map[*follower]bool{}
	for _, f := range r.muxOf[pod] {
		drop[f] = true
		if f.fh != nil {
			f.fh.Close()
			f.fh = nil
		}
	}
	delete(r.muxOf, pod)
	kept := r.mux.fs[:0]
	for _, f := range r.mux.fs {
		if !drop[f] {
			kept = append(kept, f)
		}
	}
	r.mux.fs = kept
}

// foregroundJobs runs the Jobs and the bare pods of a foreground `up`
// side by side, the interrupts going to all, and returns the exit code:
// 128+signal if interrupted, 1 if a Job or a pod Failed, else 0.
func foregroundJobs(pods []*podHandle, runs []*jobRun, o UpOptions, in *interrupts) (int, error) {
	podIn := &interrupts{C: make(chan os.Signal, 8)}
	if s := in.firstSignal(); s != nil {
		podIn.fresh(s)
	}
	jobSigs := make([]chan os.Signal, len(runs))
	for i := range runs {
		jobSigs[i] = make(chan os.Signal, 8)
		if s := in.firstSignal(); s != nil {
			jobSigs[i] <- s
		}
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-in.C:
				if !in.fresh(s) {
					continue
				}
				podIn.C <- s
				for _, c := range jobSigs {
					c <- s
				}
			case <-done:
				return
			}
		}
	}()
	type result struct {
		code int
		err  error
	}
	results := make(chan result, len(runs)+1)
	for i, r := range runs {
		go func() { results <- result{code: r.run(context.Background(), jobSigs[i])} }()
	}
	n := len(runs)
	if len(pods) > 0 {
		n++
		go func() {
			c, err := foreground(pods, o, podIn)
			results <- result{c, err}
		}()
	}
	code := 0
	var errs []error
	for ; n > 0; n-- {
		r := <-results
		errs = append(errs, r.err)
		if r.code > code {
			code = r.code
		}
	}
	if s := in.firstSignal(); s != nil {
		code = exitCode128(s)
	}
	return code, errors.Join(errs...)
}

// jobPodNames are the pods of podbox that Job job owns (by their
// ownerReferences), sorted.
func jobPodNames(job string) ([]string, error) {
	all, err := podNames()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range all {
		st := probePod(n)
		p := st.spec
		if p == nil {
			p = st.pod
		}
		if p != nil && ownedByJob(p, job) {
			out = append(out, n)
		}
	}
	return out, nil
}

func ownedByJob(p *corev1.Pod, job string) bool {
	for _, ref := range p.OwnerReferences {
		if ref.Kind == "Job" && ref.Name == job && strings.HasPrefix(ref.APIVersion, "batch/") {
			return true
		}
	}
	return false
}

// detachJobs starts the controller of every Job of an `up -d` and prints
// job/<name> for each.
func detachJobs(runs []*jobRun, o UpOptions) (int, error) {
	for _, r := range runs {
		if h := jobHold(r.job); h != "" {
			fmt.Fprintf(o.Err, "job %s %s\n", r.job.Name, h)
			continue
		}
		if err := startJobController(r, o); err != nil {
			return 125, err
		}
		if r.words != "" {
			fmt.Fprintln(o.Out, r.words)
		} else {
			fmt.Fprintln(o.Out, "job/"+r.job.Name)
		}
	}
	return 0, nil
}

// refuseCronJobs refuses the files' CronJobs (manifest.RefuseCronJobs
// says why and what to do).
func refuseCronJobs(f *manifest.File) error {
	return f.RefuseCronJobs()
}

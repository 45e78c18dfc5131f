package sandbox

// The job role: `up -d` of a Job leaves a controller process behind, as
// the cluster's job controller keeps a Job going after `kubectl apply`
// has returned. It is podbox itself (/proc/self/exe, so in podbox's user
// namespace, where pods are made), started by `up -d` in its own session
// with argv "podbox-job:<job>" and its work in _PODBOX_JOB; it reads the
// manifest files again (by absolute path: `-f -` cannot be used with a
// Job and -d), runs the Job with jobRun (its pods detached pods: they stay
// with their status and logs once finished) and exits when the Job has
// ended. It tells `up -d` on a pipe once its first pods have started (or
// why they could not), so that `up -d` fails as it does for a pod.
//
// Its state is a directory in podbox's data dir, <data>/jobs/<job>/: pid
// (pid and start time, as a pod's), status.json (a batch/v1 Job with its
// status: active, succeeded, failed, conditions; written on every
// change) and controller.log. `down -f FILE`, `down JOB` and `down --all` signal
// the controller (SIGTERM, only after proving through a pidfd that the
// process is it: start time, argv, owner, as a pod's PID 1 is proved),
// waits for it to end, takes the Job's pods down (found by their
// ownerReferences) and removes the directory. SIGTERM makes the
// controller leave at once without touching the pods: `down` takes them.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/podbox/podbox/image"
	"github.com/podbox/podbox/sandbox/manifest"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// envJob chooses the job role and carries its work (jobWork as JSON).
const envJob = "_PODBOX_JOB"

// jobWork is what the job role runs.
type jobWork struct {
	Job          string             `json:"job"`
	Manifests    []string           `json:"manifests"` // absolute paths
	Store        image.StoreOptions `json:"store"`
	Runtime      string             `json:"runtime,omitempty"`
	LogLevel     string             `json:"logLevel,omitempty"`
	PortDriver   string             `json:"portDriver,omitempty"`
	StallTimeout time.Duration      `json:"stallTimeout,omitempty"`
}

// ErrJobRunning reports an up -d of a Job whose controller still runs.
var ErrJobRunning = errors.New("job already running")

func jobsDataDir() string           { return filepath.Join(image.DataDir(), "jobs") }
func jobDir(name string) string     { return filepath.Join(jobsDataDir(), name) }
func jobArgv0(name string) string   { return "podbox-job:" + name }
func jobPidFile(name string) string { return filepath.Join(jobDir(name), "pid") }

// IsJobController reports whether this process was started in the job
// role (by `up -d` of a Job).
func IsJobController() bool { return os.Getenv(envJob) != "" }

// jobController returns the Job's controller process if it lives and is
// proved to be it (start time, argv, owner).
func jobController(name string) (podProcess, bool) {
	pp, err := readPidFile(jobPidFile(name))
	if err != nil || pp.PID <= 0 {
		return pp, false
	}
	return pp, pp.provedAs(jobArgv0(name)) && procState(pp.PID) != "Z"
}

// startJobController starts the job role for run's Job and waits until
// its first pods have started.
func startJobController(run *jobRun, o UpOptions) error {
	name := run.job.Name
	if err := ValidatePodName(name); err != nil {
		return err
	}
	var paths []string
	for _, p := range o.ManifestPaths {
		if p == "-" {
			return fmt.Errorf("job %q: -d with a Job needs its manifest in a file, not -f - (the Job's controller reads it again)", name)
		}
		a, err := filepath.Abs(p)
		if err != nil {
			return err
		}
		paths = append(paths, a)
	}
	if err := image.MkdirOwn(image.DataDir(), jobsDataDir()); err != nil {
		return err
	}
	dir := jobDir(name)
	if _, alive := jobController(name); alive {
		return fmt.Errorf("job %q: %w (podbox down -f FILE)", name, ErrJobRunning)
	}
	if err := removeJobDir(name); err != nil { // a Job that ended, its pods gone
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	if err := writeJobApplied(paths, run.job, run.f); err != nil { // what the next up compares (jobapply.go)
		_ = removeJobDir(name)
		return err
	}
	logf, err := os.OpenFile(filepath.Join(dir, "controller.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	w, err := json.Marshal(jobWork{Job: name, Manifests: paths, Store: o.Store, Runtime: o.Runtime,
		LogLevel: o.LogLevel, PortDriver: o.PortDriver, StallTimeout: o.StallTimeout})
	if err != nil {
		return err
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer readyR.Close()
	cmd := exec.Command("/proc/self/exe")
	cmd.Args = []string{jobArgv0(name)}
	cmd.Env = append(os.Environ(), envJob+"="+string(w))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{readyW}
	// Its own session: the terminal's Ctrl-C is not for it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	readyW.Close()
	if err != nil {
		_ = removeJobDir(name)
		return fmt.Errorf("starting the controller of job %q: %w", name, err)
	}
	pid := cmd.Process.Pid
	// up does not wait for it: it outlives up.
	go func() { _ = cmd.Wait() }()
	if err := writePidFile(jobPidFile(name), pid); err != nil {
		// Without its pid file no down could prove it ours and stop it.
		_ = cmd.Process.Kill()
		return fmt.Errorf("job %q: %w", name, err)
	}
	line, _ := bufio.NewReader(readyR).ReadString('\n')
	line = strings.TrimSpace(line)
	switch {
	case line == "ok":
		return nil
	case line == "":
		return fmt.Errorf("job %q: its controller ended before starting a pod: see %s", name, logf.Name())
	default:
		return fmt.Errorf("job %q: %s", name, line)
	}
}

// JobControllerMain runs the job role; its exit code is the Job's: 0
// Complete, 1 Failed (or could not run), 130 stopped.
func JobControllerMain() int {
	s := os.Getenv(envJob)
	os.Unsetenv(envJob)
	logrus.SetOutput(os.Stderr)
	logrus.SetFormatter(&logrus.TextFormatter{DisableColors: true, FullTimestamp: true})
	var w jobWork
	ready := os.NewFile(3, "ready")
	say := func(msg string) {
		if ready != nil {
			fmt.Fprintln(ready, msg)
			ready.Close()
			ready = nil
		}
	}
	fail := func(err error) int {
		logrus.Errorf("[podbox:job] %v", err)
		say(err.Error())
		return 1
	}
	if err := json.Unmarshal([]byte(s), &w); err != nil {
		return fail(fmt.Errorf("reading the job's work: %w", err))
	}
	if lvl, err := logrus.ParseLevel(w.LogLevel); err == nil {
		logrus.SetLevel(lvl)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
	defer cancel()
	f, err := manifest.Load(w.Manifests...)
	if err != nil {
		return fail(err)
	}
	var job *batchv1.Job
	for _, j := range f.Jobs {
		if j.Name == w.Job {
			job = j
		}
	}
	if job == nil {
		return fail(fmt.Errorf("job %q is no longer in %s", w.Job, strings.Join(w.Manifests, ", ")))
	}
	o := UpOptions{ManifestPaths: w.Manifests, Detach: true, Runtime: w.Runtime, Store: w.Store, LogLevel: w.LogLevel,
		PortDriver: w.PortDriver, StallTimeout: w.StallTimeout, Out: os.Stderr, Err: os.Stderr}
	store, err := image.OpenStore(o.Store)
	if err != nil {
		return fail(err)
	}
	one := *f
	one.Jobs = []*batchv1.Job{job}
	runs, err := prepareJobs(ctx, store, &one, o)
	store.Shutdown()
	if err != nil {
		return fail(err)
	}
	r := runs[0]
	r.onChange = func(c *jobCtl) {
		if len(c.active) > 0 || c.ended() {
			if c.reason == reasonPodStartFailed {
				say(c.message)
			}
			say("ok")
		}
		saveJobStatus(job, c)
	}
	code := r.run(ctx, nil)
	say("ok")
	logrus.Infof("[podbox:job] job %s ended: exit code %d", job.Name, code)
	return code
}

// saveJobStatus writes status.json: the Job with its status.
func saveJobStatus(job *batchv1.Job, c *jobCtl) {
	j := job.DeepCopy()
	j.TypeMeta = metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"}
	j.Status = c.status()
	b, err := json.Marshal(j)
	if err == nil {
		err = writeFileAtomic(filepath.Join(jobDir(job.Name), "status.json"), b)
	}
	if err != nil {
		logrus.Warnf("[podbox:job] saving the job's status: %v", err)
	}
}

// removeJobDir removes <data>/jobs/<name>, proving first that it is a
// directory of the user's, directly there, not a symbolic link.
func removeJobDir(name string) error {
	if err := ValidatePodName(name); err != nil {
		return err
	}
	dir := jobDir(name)
	fi, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	// The jobs directory itself must be podbox's, no symbolic link.
	if err := image.CheckDir(jobsDataDir()); err != nil {
		return fmt.Errorf("refusing to remove %s: %w", dir, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != os.Geteuid() || filepath.Dir(dir) != jobsDataDir() {
		return fmt.Errorf("refusing to remove %s: not a job directory of podbox's", dir)
	}
	return os.RemoveAll(dir)
}

// stopJobs stops the controllers of the named Jobs (those in the files
// of `down -f`, or every one with --all), waits until they have gone, and
// returns the Jobs' pods, for down to take, and the Jobs that had a
// directory.
func stopJobs(ctx context.Context, names []string) (pods, jobs []string, err error) {
	for _, n := range names {
		if err := ValidatePodName(n); err != nil {
			return nil, nil, err
		}
		if pp, alive := jobController(n); alive {
			pp.signalAs(jobArgv0(n), unix.SIGTERM)
			deadline, killed := time.Now().Add(killWait), false
			for {
				if _, alive := jobController(n); !alive {
					break
				}
				if time.Now().After(deadline) {
					if killed {
						// SIGKILL ends a process unless it is stuck in the
						// kernel (D state): say so rather than wait on, as
						// downOne does for a pod.
						return nil, nil, fmt.Errorf("job %q: %w: its controller %d is still there %s after SIGKILL (see its state in /proc/%d/status); podbox down %s again once it has gone",
							n, ErrJobRunning, pp.PID, killWait, pp.PID, n)
					}
					logrus.Warnf("job %q: its controller did not stop in %s: killing it (process %d)", n, killWait, pp.PID)
					pp.signalAs(jobArgv0(n), unix.SIGKILL)
					deadline, killed = time.Now().Add(killWait), true
				}
				select {
				case <-ctx.Done():
					return nil, nil, ctx.Err()
				case <-time.After(20 * time.Millisecond):
				}
			}
		}
		if _, err := os.Lstat(jobDir(n)); err == nil {
			jobs = append(jobs, n)
		}
		p, err := jobPodNames(n)
		if err != nil {
			return nil, nil, err
		}
		pods = append(pods, p...)
	}
	return pods, jobs, nil
}

// jobExists reports whether Job name has a directory (up -d).
func jobExists(name string) bool {
	_, err := os.Lstat(jobDir(name))
	return err == nil
}

// allJobNames are the Jobs that have a directory.
func allJobNames() ([]string, error) {
	ents, err := os.ReadDir(jobsDataDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && ValidatePodName(e.Name()) == nil {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// uniq drops the repeats of names, keeping their order.
func uniq(names []string) []string {
	seen := map[string]bool{}
	out := names[:0]
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

package sandbox

// The Job controller's decisions (issue 11 item 5), apart from the pods
// they start so that they can be tested alone: jobCtl is what the
// Kubernetes job controller keeps of a Job (its status: active, succeeded,
// failed, the conditions) and decides from it (which pod next, when, and
// when the Job has ended). job.go runs it on real pods.
//
// As the controller (pkg/controller/job/job_controller.go):
//
//   - completions set, NonIndexed: at most parallelism pods run at once,
//     never more than the completions still missing, until completions pods
//     have Succeeded.
//   - completions unset (a work queue): parallelism pods; once one has
//     Succeeded no new pod starts, and the Job is Complete when the others
//     have ended too.
//   - Indexed: one pod per index 0..completions-1 still to succeed, the
//     lowest first, at most parallelism at once; a failed index is tried
//     again (its next attempt).
//   - backoffLimit (default 6): the Job Fails (BackoffLimitExceeded) when
//     more pods have Failed than it allows, or, with restartPolicy
//     OnFailure, when the restarts of its running pods reach it (> 0 for
//     a limit of 0), as pastBackoffLimitOnFailure counts them.
//   - A replacement for a failed pod waits the controller's back-off:
//     10 s doubled for each failure since the last success, at most
//     6 min. PODBOX_JOB_BACKOFF replaces the 10 s (a Go duration: "1s");
//     the tests use it, so that a failing Job is quick to try twice.
//   - activeDeadlineSeconds counts from the Job's start: past it the Job
//     Fails (DeadlineExceeded) and its running pods are stopped.
//   - Pod names (manifest.JobPod): an Indexed Job's pod is (index,
//     attempt); a NonIndexed Job's n-th pod made is (n, 0), since any pod
//     may fill any completion. Either way the same file and the same
//     outcomes give the same names.

import (
	"os"
	"sort"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The job controller's back-off, and the API's default backoffLimit.
const (
	jobBackoffBase      = 10 * time.Second
	jobBackoffMax       = 6 * time.Minute
	defaultBackoffLimit = 6
)

// envJobBackoff replaces jobBackoffBase (tests).
const envJobBackoff = "PODBOX_JOB_BACKOFF"

// The Job conditions' reasons and messages, the controller's words.
const (
	jobComplete               = "Complete"
	jobFailed                 = "Failed"
	reasonBackoffLimit        = "BackoffLimitExceeded"
	messageBackoffLimit       = "Job has reached the specified backoff limit"
	reasonJobDeadline         = "DeadlineExceeded"
	messageJobDeadline        = "Job was active longer than specified deadline"
	reasonPodStartFailed      = "PodStartFailed" // podbox's own: a pod of the Job could not be started
	annotationCompletionIndex = batchv1.JobCompletionIndexAnnotation
)

// jobSlot is a pod to start: manifest.JobPod's index and attempt.
type jobSlot struct{ index, attempt int }

// jobPodState is one running pod of the Job.
type jobPodState struct {
	slot     jobSlot
	restarts int
}

// jobCtl is a Job's state and the controller's decisions on it.
type jobCtl struct {
	name         string
	completions  int // -1: unset
	parallelism  int
	backoffLimit int
	indexed      bool
	onFailure    bool
	deadline     time.Duration // 0: none
	backoff      time.Duration // the first failure's back-off

	started   time.Time
	active    map[string]*jobPodState // by pod name
	succeeded int
	failed    int
	doneIdx   map[int]bool // Indexed: the indexes that succeeded
	attempts  map[int]int  // the next attempt of an index
	seq       int          // NonIndexed: the next pod's index
	// failsSinceSuccess and lastFail make the back-off.
	failsSinceSuccess int
	lastFail          time.Time

	cond, reason, message string // cond: "", jobComplete or jobFailed
	finished              time.Time
}

func newJobCtl(job *batchv1.Job, now time.Time) *jobCtl {
	c := &jobCtl{name: job.Name, completions: -1, parallelism: 1, backoffLimit: defaultBackoffLimit,
		started: now, active: map[string]*jobPodState{}, doneIdx: map[int]bool{}, attempts: map[int]int{},
		backoff: jobBackoffBase}
	s := job.Spec
	if s.Completions != nil {
		c.completions = int(*s.Completions)
	}
	if s.Parallelism != nil {
		c.parallelism = int(*s.Parallelism)
	}
	if s.BackoffLimit != nil {
		c.backoffLimit = int(*s.BackoffLimit)
	}
	c.indexed = s.CompletionMode != nil && *s.CompletionMode == batchv1.IndexedCompletion
	c.onFailure = s.Template.Spec.RestartPolicy == corev1.RestartPolicyOnFailure
	if s.ActiveDeadlineSeconds != nil {
		c.deadline = time.Duration(*s.ActiveDeadlineSeconds) * time.Second
	}
	if d, err := time.ParseDuration(os.Getenv(envJobBackoff)); err == nil && d > 0 {
		c.backoff = d
	}
	return c
}

// ended reports whether the Job has a final condition.
func (c *jobCtl) ended() bool { return c.cond != "" }

// backoffAfter is the wait before a new pod after n failures since the
// last success.
func (c *jobCtl) backoffAfter(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	d := c.backoff
	for i := 1; i < n && d < jobBackoffMax; i++ {
		d *= 2
	}
	return min(d, jobBackoffMax)
}

// next returns the pods to start now, and how long until it should be
// asked again (0: when a pod ends), the back-off or the deadline.
func (c *jobCtl) next(now time.Time) ([]jobSlot, time.Duration) {
	if c.ended() {
		return nil, 0
	}
	var wake time.Duration
	if c.deadline > 0 {
		wake = c.started.Add(c.deadline).Sub(now)
	}
	soonest := func(d time.Duration) time.Duration {
		if wake <= 0 || d < wake {
			return d
		}
		return wake
	}
	if c.failsSinceSuccess > 0 {
		if left := c.lastFail.Add(c.backoffAfter(c.failsSinceSuccess)).Sub(now); left > 0 {
			return nil, soonest(left)
		}
	}
	free := c.parallelism - len(c.active)
	var out []jobSlot
	switch {
	case c.indexed:
		busy := map[int]bool{}
		for _, p := range c.active {
			busy[p.slot.index] = true
		}
		for i := 0; i < c.completions && len(out) < free; i++ {
			if !c.doneIdx[i] && !busy[i] {
				out = append(out, jobSlot{index: i, attempt: c.attempts[i]})
				c.attempts[i]++
			}
		}
		return out, wake
	case c.completions >= 0:
		free = min(free, c.completions-c.succeeded-len(c.active))
	case c.succeeded > 0:
		free = 0 // a work queue: one success ends it
	}
	for ; free > 0; free-- {
		out = append(out, jobSlot{index: c.seq})
		c.seq++
	}
	return out, wake
}

// podStarted records a pod of slot s as active.
func (c *jobCtl) podStarted(name string, s jobSlot) {
	c.active[name] = &jobPodState{slot: s}
}

// podEnded records the end of an active pod, Succeeded or not (Failed),
// and decides the Job.
func (c *jobCtl) podEnded(name string, succeeded bool, now time.Time) {
	p, ok := c.active[name]
	if !ok {
		return
	}
	delete(c.active, name)
	if succeeded {
		c.succeeded++
		c.failsSinceSuccess = 0
		if c.indexed {
			c.doneIdx[p.slot.index] = true
		}
	} else {
		c.failed++
		c.failsSinceSuccess++
		c.lastFail = now
	}
	c.decide(now)
}

// podRestarted records the restart count of an active pod (OnFailure).
func (c *jobCtl) podRestarted(name string, restarts int, now time.Time) {
	if p, ok := c.active[name]; ok && restarts > p.restarts {
		p.restarts = restarts
		c.decide(now)
	}
}

// startFailed ends the Job: a pod of it could not be started.
func (c *jobCtl) startFailed(msg string, now time.Time) {
	c.end(jobFailed, reasonPodStartFailed, msg, now)
}

// decide sets the Job's final condition when it has one, in the
// controller's order: the back-off limit, the deadline, completion.
func (c *jobCtl) decide(now time.Time) {
	if c.ended() {
		return
	}
	restarts := 0
	for _, p := range c.active {
		restarts += p.restarts
	}
	switch {
	case c.failed > c.backoffLimit,
		c.onFailure && restarts > 0 && restarts >= max(c.backoffLimit, 1):
		c.end(jobFailed, reasonBackoffLimit, messageBackoffLimit, now)
	case c.deadline > 0 && !now.Before(c.started.Add(c.deadline)):
		c.end(jobFailed, reasonJobDeadline, messageJobDeadline, now)
	case c.indexed && len(c.doneIdx) >= c.completions,
		!c.indexed && c.completions >= 0 && c.succeeded >= c.completions,
		c.completions < 0 && c.succeeded > 0 && len(c.active) == 0:
		c.end(jobComplete, "", "", now)
	}
}

func (c *jobCtl) end(cond, reason, msg string, now time.Time) {
	if !c.ended() {
		c.cond, c.reason, c.message, c.finished = cond, reason, msg, now
	}
}

// progress is "(2/3)", or "(2 succeeded)" for a work queue.
func (c *jobCtl) progress() string {
	if c.completions < 0 {
		return "(" + strconv.Itoa(c.succeeded) + " succeeded)"
	}
	n := c.succeeded
	if c.indexed {
		n = len(c.doneIdx)
	}
	return "(" + strconv.Itoa(n) + "/" + strconv.Itoa(c.completions) + ")"
}

// activeNames are the running pods, sorted.
func (c *jobCtl) activeNames() []string {
	var out []string
	for n := range c.active {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// status is the Job's status as the API has it.
func (c *jobCtl) status() batchv1.JobStatus {
	st := batchv1.JobStatus{
		Active:    int32(len(c.active)),
		Succeeded: int32(c.succeeded),
		Failed:    int32(c.failed),
	}
	st.StartTime = metaTime(c.started)
	if c.ended() {
		cond := batchv1.JobCondition{Type: batchv1.JobConditionType(c.cond), Status: corev1.ConditionTrue,
			Reason: c.reason, Message: c.message, LastProbeTime: *metaTime(c.finished), LastTransitionTime: *metaTime(c.finished)}
		st.Conditions = []batchv1.JobCondition{cond}
		if c.cond == jobComplete {
			st.CompletionTime = metaTime(c.finished)
		}
	}
	if c.indexed {
		var idx []int
		for i := range c.doneIdx {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		st.CompletedIndexes = indexRanges(idx)
	}
	return st
}

// indexRanges writes sorted indexes as the API's completedIndexes: "0-2,5".
func indexRanges(idx []int) string {
	s := ""
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if s != "" {
			s += ","
		}
		s += strconv.Itoa(idx[i])
		if j > i {
			s += "-" + strconv.Itoa(idx[j])
		}
		i = j + 1
	}
	return s
}

func metaTime(t time.Time) *metav1.Time {
	m := metav1.NewTime(t)
	return &m
}

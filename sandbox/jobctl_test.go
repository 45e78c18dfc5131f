package sandbox

import (
	"fmt"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

func testJob(completions, parallelism, backoff *int32, mode batchv1.CompletionMode, restart corev1.RestartPolicy) *batchv1.Job {
	j := &batchv1.Job{}
	j.Name = "pi"
	j.Spec.Completions, j.Spec.Parallelism, j.Spec.BackoffLimit = completions, parallelism, backoff
	if mode != "" {
		j.Spec.CompletionMode = &mode
	}
	j.Spec.Template.Spec.RestartPolicy = restart
	return j
}

func i32(n int32) *int32 { return &n }

// run plays a Job to its end: each started pod ends as outcome says (by
// its slot), pods ending in the order they started; it returns the Job's
// condition and reason, the most pods active at once, and the slots
// started.
func run(t *testing.T, c *jobCtl, outcome func(s jobSlot) bool) (cond, reason string, most int, slots []jobSlot) {
	t.Helper()
	now := time.Unix(1000, 0)
	type pod struct {
		name string
		slot jobSlot
	}
	var running []pod
	for step := 0; step < 100; step++ {
		start, wait := c.next(now)
		for _, s := range start {
			n := fmt.Sprintf("pod-%d-%d", s.index, s.attempt)
			c.podStarted(n, s)
			running = append(running, pod{n, s})
			slots = append(slots, s)
		}
		most = max(most, len(c.active))
		if c.ended() && len(running) == 0 {
			return c.cond, c.reason, most, slots
		}
		if len(running) == 0 {
			if wait <= 0 {
				t.Fatalf("nothing runs and nothing to wait for: %+v", c)
			}
			now = now.Add(wait)
			c.decide(now)
			continue
		}
		p := running[0]
		running = running[1:]
		c.podEnded(p.name, outcome(p.slot), now)
		if c.ended() {
			running = nil // the caller stops the rest
		}
	}
	t.Fatalf("no end after 100 steps")
	return
}

func TestJobCtl(t *testing.T) {
	ok := func(jobSlot) bool { return true }
	fail := func(jobSlot) bool { return false }
	for _, tc := range []struct {
		name           string
		job            *batchv1.Job
		outcome        func(jobSlot) bool
		cond, reason   string
		most, started  int
		succ, failures int
	}{
		{"completions 3 parallelism 2", testJob(i32(3), i32(2), nil, "", corev1.RestartPolicyNever), ok, jobComplete, "", 2, 3, 3, 0},
		{"defaults: one pod", testJob(nil, nil, nil, "", corev1.RestartPolicyNever), ok, jobComplete, "", 1, 1, 1, 0},
		{"work queue: parallelism pods, one success ends it", testJob(nil, i32(3), nil, "", corev1.RestartPolicyNever), ok, jobComplete, "", 3, 3, 3, 0},
		{"parallelism above completions", testJob(i32(2), i32(5), nil, "", corev1.RestartPolicyNever), ok, jobComplete, "", 2, 2, 2, 0},
		{"backoffLimit 1: two failures", testJob(nil, nil, i32(1), "", corev1.RestartPolicyNever), fail, jobFailed, reasonBackoffLimit, 1, 2, 0, 2},
		{"backoffLimit 0: one failure", testJob(i32(3), i32(2), i32(0), "", corev1.RestartPolicyNever), fail, jobFailed, reasonBackoffLimit, 2, 2, 0, 1},
		{"default backoffLimit 6: seven failures", testJob(nil, nil, nil, "", corev1.RestartPolicyNever), fail, jobFailed, reasonBackoffLimit, 1, 7, 0, 7},
		{"indexed 3 parallelism 2", testJob(i32(3), i32(2), nil, batchv1.IndexedCompletion, corev1.RestartPolicyNever), ok, jobComplete, "", 2, 3, 3, 0},
		{"indexed: index 1 fails once, then succeeds", testJob(i32(3), i32(3), nil, batchv1.IndexedCompletion, corev1.RestartPolicyNever),
			func(s jobSlot) bool { return s.index != 1 || s.attempt > 0 }, jobComplete, "", 3, 4, 3, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newJobCtl(tc.job, time.Unix(1000, 0))
			cond, reason, most, slots := run(t, c, tc.outcome)
			if cond != tc.cond || reason != tc.reason || most != tc.most || len(slots) != tc.started ||
				c.succeeded != tc.succ || c.failed != tc.failures {
				t.Errorf("got %s %q, at most %d active, %d started (%v), %d succeeded, %d failed; want %s %q, %d, %d, %d, %d",
					cond, reason, most, len(slots), slots, c.succeeded, c.failed, tc.cond, tc.reason, tc.most, tc.started, tc.succ, tc.failures)
			}
			seen := map[jobSlot]bool{}
			for _, s := range slots {
				if seen[s] {
					t.Errorf("slot %v started twice: pod names would clash", s)
				}
				seen[s] = true
			}
		})
	}
}

func TestJobCtlBackoff(t *testing.T) {
	t.Setenv(envJobBackoff, "")
	c := newJobCtl(testJob(nil, nil, i32(10), "", corev1.RestartPolicyNever), time.Unix(0, 0))
	now := time.Unix(0, 0)
	for i, want := range []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 320 * time.Second, 6 * time.Minute, 6 * time.Minute} {
		start, _ := c.next(now)
		if len(start) != 1 {
			t.Fatalf("failure %d: %d pods to start, want 1", i, len(start))
		}
		n := fmt.Sprint(i)
		c.podStarted(n, start[0])
		c.podEnded(n, false, now)
		if start, wait := c.next(now); len(start) != 0 || wait != want {
			t.Errorf("after %d failures: start %v, wait %s; want nothing for %s", i+1, start, wait, want)
		}
		if start, _ := c.next(now.Add(want - time.Millisecond)); len(start) != 0 {
			t.Errorf("after %d failures: a pod before the back-off is over", i+1)
		}
		now = now.Add(want)
	}
	t.Setenv(envJobBackoff, "1s")
	if c := newJobCtl(testJob(nil, nil, nil, "", corev1.RestartPolicyNever), now); c.backoffAfter(2) != 2*time.Second {
		t.Errorf("%s=1s: second back-off %s, want 2s", envJobBackoff, c.backoffAfter(2))
	}
}

func TestJobCtlOnFailureRestarts(t *testing.T) {
	for _, tc := range []struct {
		limit    *int32
		restarts int
		failed   bool
	}{
		{i32(0), 1, true},
		{i32(1), 1, true},
		{i32(3), 2, false},
		{i32(3), 3, true},
		{nil, 5, false},
		{nil, 6, true},
	} {
		c := newJobCtl(testJob(nil, nil, tc.limit, "", corev1.RestartPolicyOnFailure), time.Unix(0, 0))
		start, _ := c.next(time.Unix(0, 0))
		c.podStarted("p", start[0])
		c.podRestarted("p", tc.restarts, time.Unix(1, 0))
		if got := c.cond == jobFailed && c.reason == reasonBackoffLimit; got != tc.failed {
			t.Errorf("backoffLimit %v, %d restarts: failed %v, want %v", tc.limit, tc.restarts, got, tc.failed)
		}
	}
}

func TestJobCtlDeadline(t *testing.T) {
	j := testJob(nil, nil, nil, "", corev1.RestartPolicyNever)
	d := int64(5)
	j.Spec.ActiveDeadlineSeconds = &d
	c := newJobCtl(j, time.Unix(0, 0))
	start, wait := c.next(time.Unix(1, 0))
	if len(start) != 1 || wait != 4*time.Second {
		t.Fatalf("start %v, wake in %s; want one pod, 4s", start, wait)
	}
	c.podStarted("p", start[0])
	c.decide(time.Unix(4, 0))
	if c.ended() {
		t.Fatalf("ended before the deadline: %s", c.reason)
	}
	c.decide(time.Unix(5, 0))
	if c.cond != jobFailed || c.reason != reasonJobDeadline {
		t.Errorf("at the deadline: %s %s, want Failed DeadlineExceeded", c.cond, c.reason)
	}
	if st := c.status(); st.Active != 1 || len(st.Conditions) != 1 || st.Conditions[0].Message != messageJobDeadline {
		t.Errorf("status %+v", st)
	}
}

func TestIndexRanges(t *testing.T) {
	for _, tc := range []struct {
		in   []int
		want string
	}{{nil, ""}, {[]int{0}, "0"}, {[]int{0, 1, 2, 5, 7, 8}, "0-2,5,7-8"}} {
		if got := indexRanges(tc.in); got != tc.want {
			t.Errorf("indexRanges(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

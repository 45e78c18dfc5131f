package sandbox

import (
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestJobRunWords(t *testing.T) {
	j := testJob(i32(3), i32(2), i32(1), "", corev1.RestartPolicyNever)
	r := &jobRun{job: j, ctl: newJobCtl(j, time.Unix(0, 0))}
	r.ctl.podStarted("pi-a", jobSlot{})
	r.ctl.podEnded("pi-a", false, time.Unix(1, 0))
	if got, want := r.failedNote(), "(1 failed, backoffLimit 1; next pod in "+r.ctl.backoffAfter(1).String()+")"; got != want {
		t.Errorf("failedNote = %q, want %q", got, want)
	}
	r.ctl.podStarted("pi-b", jobSlot{index: 1})
	r.ctl.podEnded("pi-b", false, time.Unix(2, 0))
	if got, want := r.endWords(), "job pi Failed: BackoffLimitExceeded"; got != want {
		t.Errorf("endWords = %q, want %q", got, want)
	}
	if got, want := r.failedNote(), "(2 failed, backoffLimit 1)"; got != want {
		t.Errorf("failedNote after the end = %q, want %q", got, want)
	}
	ok := &jobRun{job: j, ctl: newJobCtl(j, time.Unix(0, 0))}
	for _, n := range []string{"a", "b", "c"} {
		ok.ctl.podStarted(n, jobSlot{})
		ok.ctl.podEnded(n, true, time.Unix(1, 0))
	}
	if got := ok.endWords() + " " + ok.ctl.progress(); got != "job pi Complete (3/3)" {
		t.Errorf("a complete Job: %q", got)
	}
}

func TestJobHoldAndWarnings(t *testing.T) {
	yes, zero, ttl := true, int32(0), int32(100)
	j := testJob(nil, nil, nil, "", corev1.RestartPolicyNever)
	if h := jobHold(j); h != "" {
		t.Errorf("a plain Job is held: %q", h)
	}
	j.Spec.Suspend = &yes
	if h := jobHold(j); !strings.HasPrefix(h, "suspended") {
		t.Errorf("suspend: %q", h)
	}
	j.Spec.Suspend, j.Spec.Parallelism = nil, &zero
	if h := jobHold(j); !strings.HasPrefix(h, "parallelism 0") {
		t.Errorf("parallelism 0: %q", h)
	}
	j.Spec.TTLSecondsAfterFinished = &ttl
	j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{}
	w := jobWarnings(j)
	if len(w) != 2 || !strings.Contains(w[0], "spec.podFailurePolicy") || !strings.Contains(w[1], "spec.ttlSecondsAfterFinished") {
		t.Errorf("warnings: %q", w)
	}
}

func TestOwnedByJob(t *testing.T) {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: "pi"}}}}
	if !ownedByJob(p, "pi") || ownedByJob(p, "p") {
		t.Errorf("ownedByJob")
	}
	p.OwnerReferences[0].Kind = "ReplicaSet"
	if ownedByJob(p, "pi") {
		t.Errorf("a ReplicaSet's pod is no Job's")
	}
}

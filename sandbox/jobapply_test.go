package sandbox

import (
	"slices"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestNormaliseJobDiff(t *testing.T) {
	a := testJob(i32(3), i32(2), i32(1), "", corev1.RestartPolicyNever)
	a.Spec.Template.Spec.Containers = []corev1.Container{{Name: "work", Image: "busybox"}}
	b := a.DeepCopy()
	b.UID, b.Status.Succeeded = "x", 3 // what a cluster adds: not compared
	if specHash(normaliseJob(a, nil)) != specHash(normaliseJob(b, nil)) {
		t.Fatal("the same Job hashes differently")
	}
	b.Spec.Completions = i32(2)
	b.Spec.Template.Spec.Containers[0].Image = "busybox:1"
	got := jobSpecDiff(normaliseJob(a, nil), normaliseJob(b, nil))
	want := []string{"spec.completions", "spec.template.spec.containers[0].image"}
	if !slices.Equal(got, want) {
		t.Errorf("jobSpecDiff = %q, want %q", got, want)
	}
	if w := (jobStep{job: b, act: actRecreate, changed: got[:1]}).words(); w != "job/pi: recreated (spec.completions changed)" {
		t.Errorf("words = %q", w)
	}
}

func TestJobColumns(t *testing.T) {
	now := time.Unix(1000, 0)
	j := testJob(i32(3), i32(2), nil, "", corev1.RestartPolicyNever)
	j.Status.StartTime = &metav1.Time{Time: now.Add(-70 * time.Second)}
	j.Status.Succeeded = 1
	if s, c := jobStatusWord(j), jobCompletions(j); s != "Running" || c != "1/3" {
		t.Errorf("running: %q %q", s, c)
	}
	j.Status.Succeeded = 3
	j.Status.CompletionTime = &metav1.Time{Time: now.Add(-60 * time.Second)}
	j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
	if s, c, d := jobStatusWord(j), jobCompletions(j), jobDuration(j, now); s != "Complete" || c != "3/3" || d != "10s" {
		t.Errorf("complete: %q %q %q", s, c, d)
	}
	p := testJob(nil, i32(2), nil, "", corev1.RestartPolicyNever)
	if c := jobCompletions(p); c != "0/1 of 2" {
		t.Errorf("no completions: %q", c)
	}
	p.Spec.Suspend = new(bool)
	*p.Spec.Suspend = true
	if s := jobStatusWord(p); s != "Suspended" {
		t.Errorf("suspended: %q", s)
	}
}

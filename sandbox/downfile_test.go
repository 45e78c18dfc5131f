package sandbox

import (
	"testing"

	"github.com/podbox/podbox/sandbox/manifest"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestOwnedByFile(t *testing.T) {
	f := &manifest.File{
		Jobs:     []*batchv1.Job{{ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "default"}}},
		CronJobs: []*batchv1.CronJob{{ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "default"}}},
	}
	owned := func(ns, kind, name string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, OwnerReferences: []metav1.OwnerReference{{Kind: kind, Name: name}}}}
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want bool
	}{
		{"the file's Job", owned("default", "Job", "pi"), true},
		{"namespace unset means default", owned("", "Job", "pi"), true},
		{"another namespace", owned("dev", "Job", "pi"), false},
		{"another Job", owned("default", "Job", "pie"), false},
		{"a CronJob's Job", owned("default", "Job", "nightly-29012345"), true},
		{"not a CronJob's Job name", owned("default", "Job", "nightly-x"), false},
		{"the CronJob itself", owned("default", "CronJob", "nightly"), true},
		{"a ReplicaSet of the same name", owned("default", "ReplicaSet", "pi"), false},
		{"no owner", &corev1.Pod{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ownedByFile(f, tc.pod); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

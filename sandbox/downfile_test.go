package sandbox

import (
	"testing"

	"github.com/podbox/podbox/sandbox/manifest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestOwnedByFile(t *testing.T) {
	f, err := manifest.Parse("f.yaml", []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: a, image: b}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: a, image: b}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec: {restartPolicy: Never, containers: [{name: a, image: b}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "@daily"
  jobTemplate:
    spec:
      template:
        spec: {restartPolicy: Never, containers: [{name: a, image: b}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	owners := fileOwners(f)
	t.Logf("owners: %v", owners)
	owned := func(ns, kind, name string, labels map[string]string) *corev1.Pod {
		yes := true
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Labels: labels,
			OwnerReferences: []metav1.OwnerReference{{Kind: kind, Name: name, Controller: &yes}}}}
	}
	hash := map[string]string{manifest.LabelPodTemplateHash: "old5hash"}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want bool
	}{
		{"the file's Job", owned("default", "Job", "pi", nil), true},
		{"namespace unset means default", owned("", "Job", "pi", nil), true},
		{"another namespace", owned("dev", "Job", "pi", nil), false},
		{"another Job", owned("default", "Job", "pie", nil), false},
		{"a CronJob's Job", owned("default", "Job", "nightly-29012345", nil), true},
		{"not a CronJob's Job name", owned("default", "Job", "nightly-x", nil), false},
		{"the CronJob itself", owned("default", "CronJob", "nightly", nil), true},
		{"an older template of the Deployment", owned("default", "ReplicaSet", "web-old5hash", hash), true},
		{"another Deployment's ReplicaSet", owned("default", "ReplicaSet", "webs-old5hash", hash), false},
		{"a ReplicaSet without the hash label", owned("default", "ReplicaSet", "web-old5hash", nil), false},
		{"a StatefulSet pod beyond today's replicas", owned("default", "StatefulSet", "db", nil), true},
		{"no owner", &corev1.Pod{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ownedByFile(f, owners, tc.pod); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

package sandbox

import (
	"reflect"
	"testing"
	"time"

	"github.com/podbox/podbox/sandbox/manifest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func applyTestPod(image string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "web", Image: image,
				EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}}},
		},
	}
}

func TestNormaliseIgnoresBookkeeping(t *testing.T) {
	a := applyTestPod("busybox:1.0")
	b := a.DeepCopy()
	b.UID = "1234"
	b.CreationTimestamp = metav1.Now()
	b.Status.Phase = corev1.PodRunning
	if specHash(normalise(a, nil)) != specHash(normalise(b, nil)) {
		t.Fatal("uid, creationTimestamp and status changed the hash")
	}
}

func TestSpecDiff(t *testing.T) {
	f := &manifest.File{ConfigMaps: []*corev1.ConfigMap{{ObjectMeta: metav1.ObjectMeta{Name: "cfg"}, Data: map[string]string{"a": "1", "b": "2"}}}}
	old := normalise(applyTestPod("busybox:1.0"), f)
	if got := specDiff(old, old); len(got) != 0 {
		t.Fatalf("same spec: %v", got)
	}
	if got, want := specDiff(old, normalise(applyTestPod("busybox:latest"), f)), []string{"containers[0].image"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("image: got %v, want %v", got, want)
	}
	f2 := &manifest.File{ConfigMaps: []*corev1.ConfigMap{{ObjectMeta: metav1.ObjectMeta{Name: "cfg"}, Data: map[string]string{"a": "3", "b": "4"}}}}
	if got, want := specDiff(old, normalise(applyTestPod("busybox:1.0"), f2)), []string{"configMap cfg"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("configMap: got %v, want %v", got, want)
	}
	p := applyTestPod("busybox:1.0")
	p.Labels = map[string]string{"app": "x"}
	if got, want := specDiff(old, normalise(p, f)), []string{"metadata.labels"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("labels: got %v, want %v", got, want)
	}
}

func TestChangedWords(t *testing.T) {
	if got := changedWords([]string{"a", "b", "c", "d", "e"}); got != "a, b, c and 2 more" {
		t.Fatal(got)
	}
}

func TestLockUpPerPod(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	unlock, err := lockUp([]string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	other := make(chan func(), 1)
	go func() {
		u, err := lockUp([]string{"c"}) // another pod: not held up
		if err != nil {
			t.Error(err)
		}
		other <- u
	}()
	select {
	case u := <-other:
		u()
	case <-time.After(5 * time.Second):
		t.Fatal("the lock of pod c waited for those of a and b")
	}
	same := make(chan func(), 1)
	go func() {
		u, _ := lockUp([]string{"b"})
		same <- u
	}()
	select {
	case <-same:
		t.Fatal("two ups held pod b at once")
	case <-time.After(200 * time.Millisecond):
	}
	unlock()
	select {
	case u := <-same:
		u()
	case <-time.After(5 * time.Second):
		t.Fatal("pod b's lock was not released")
	}
}

func TestOwnerKey(t *testing.T) {
	p := applyTestPod("busybox")
	if controllerKey(p) != "" {
		t.Fatal("a bare pod has no owner")
	}
	yes := true
	p.OwnerReferences = []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "x"}, {Kind: "Deployment", Name: "web", Controller: &yes}}
	if got := controllerKey(p); got != "Deployment web" {
		t.Fatal(got)
	}
	// A Deployment's pods are its ReplicaSet's: the rollout compares
	// Deployments, whatever the template's hash.
	p.OwnerReferences = []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-5d8f9c7b6", Controller: &yes}}
	p.Labels = map[string]string{manifest.LabelPodTemplateHash: "5d8f9c7b6"}
	if got := controllerKey(p); got != "Deployment web" {
		t.Fatal(got)
	}
}

func TestSpecDiffService(t *testing.T) {
	p := applyTestPod("busybox:1.0")
	p.Labels = map[string]string{"app": "web"}
	svc := func(typ corev1.ServiceType, nodePort int32) *manifest.File {
		return &manifest.File{Pods: []*corev1.Pod{p}, Services: []*corev1.Service{{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: p.Namespace},
			Spec: corev1.ServiceSpec{Type: typ, Selector: map[string]string{"app": "web"},
				Ports: []corev1.ServicePort{{Port: 80, NodePort: nodePort}}},
		}}}
	}
	old := normalise(p, svc(corev1.ServiceTypeNodePort, 30001))
	if got, want := specDiff(old, normalise(p, svc(corev1.ServiceTypeNodePort, 30002))), []string{"Service web"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("nodePort: got %v, want %v", got, want)
	}
	// A ClusterIP Service publishes nothing here: no part of the pod's spec.
	if specHash(normalise(p, svc(corev1.ServiceTypeClusterIP, 0))) != specHash(normalise(p, nil)) {
		t.Fatal("a ClusterIP Service changed the pod's hash")
	}
}

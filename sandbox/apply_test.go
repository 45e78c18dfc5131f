package sandbox

import (
	"reflect"
	"testing"

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

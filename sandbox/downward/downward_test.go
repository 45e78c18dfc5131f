package downward

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestAllowed(t *testing.T) {
	for _, tc := range []struct {
		paths []string
		path  string
		want  bool
	}{
		{EnvFieldPaths, "metadata.labels['app']", true},
		{EnvFieldPaths, "metadata.labels", false},
		{EnvFieldPaths, "metadata.labels['']", false},
		{EnvFieldPaths, "status.podIPs", true},
		{VolumeFieldPaths, "metadata.labels", true},
		{VolumeFieldPaths, "status.podIP", false},
		{VolumeFieldPaths, "metadata.annotations['a/b']", true},
	} {
		if got := Allowed(tc.paths, tc.path); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.path, got, tc.want)
		}
	}
}

func TestResourceValue(t *testing.T) {
	node := Node{CPU: resource.MustParse("2"), Memory: resource.MustParse("1Gi"), EphemeralStorage: resource.MustParse("10Gi")}
	c := &corev1.Container{Resources: corev1.ResourceRequirements{
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")},
		Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("100M")},
	}}
	for _, tc := range []struct {
		res, div, want string
	}{
		{"limits.cpu", "", "1"}, // 250m rounded up to a core
		{"limits.cpu", "1m", "250"},
		{"requests.cpu", "1m", "250"},    // defaulted from the limit
		{"limits.memory", "1Mi", "1024"}, // the node's
		{"requests.memory", "1Mi", "96"}, // 100M / 1Mi, rounded up
		{"requests.ephemeral-storage", "", "0"},
		{"limits.ephemeral-storage", "1Gi", "10"},
	} {
		ref := &corev1.ResourceFieldSelector{Resource: tc.res}
		if tc.div != "" {
			ref.Divisor = resource.MustParse(tc.div)
		}
		got, err := ResourceValue(c, ref, node)
		if err != nil || got != tc.want {
			t.Errorf("%s / %s: got %q, %v; want %q", tc.res, tc.div, got, err, tc.want)
		}
	}
	if _, err := ResourceValue(c, &corev1.ResourceFieldSelector{Resource: "limits.gpu"}, node); err == nil {
		t.Error("limits.gpu: no error")
	}
}

func TestThisNode(t *testing.T) {
	n := ThisNode(t.TempDir())
	if n.CPU.Value() < 1 || n.Memory.Value() < 1<<20 || n.EphemeralStorage.Value() < 1<<20 {
		t.Errorf("ThisNode: %+v", n)
	}
}

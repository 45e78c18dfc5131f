package sandbox

import (
	"github.com/podbox/podbox/sandbox/podproto"
	corev1 "k8s.io/api/core/v1"
)

// The reasons the pod's PID 1 sets in its status (package pod), as the CLI
// reads them.
const (
	reasonPodInitializing   = podproto.ReasonPodInitializing
	reasonContainerCreating = podproto.ReasonContainerCreating
	reasonCrashLoopBackOff  = podproto.ReasonCrashLoopBackOff
	reasonCompleted         = podproto.ReasonCompleted
	reasonGone              = podproto.ReasonGone
	reasonError             = podproto.ReasonError
	reasonStartError        = podproto.ReasonStartError
	reasonNetworkDown       = podproto.ReasonNetworkDown
)

func ptr[T any](v T) *T { return &v }

// podFinished reports whether the pod will run nothing more.
func podFinished(p corev1.PodPhase) bool {
	return p == corev1.PodSucceeded || p == corev1.PodFailed
}

// allContainers returns the init containers, then the app containers.
func allContainers(pod *corev1.Pod) []*corev1.Container {
	var all []*corev1.Container
	for i := range pod.Spec.InitContainers {
		all = append(all, &pod.Spec.InitContainers[i])
	}
	for i := range pod.Spec.Containers {
		all = append(all, &pod.Spec.Containers[i])
	}
	return all
}

// isSidecar reports whether init container c is a sidecar (Kubernetes
// 1.28+): restartPolicy Always, started in order with the init containers
// but running, and restarted, alongside the app containers.
func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

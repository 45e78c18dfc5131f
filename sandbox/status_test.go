package sandbox

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func testPod(policy corev1.RestartPolicy, inits, apps int) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{RestartPolicy: policy}}
	for i := 0; i < inits; i++ {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: "init" + string(rune('a'+i))})
	}
	for i := 0; i < apps; i++ {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "app" + string(rune('a'+i))})
	}
	return p
}

// withApp gives pod p's single app container state st, as PID 1 reports
// it, and phase.
func withApp(p *corev1.Pod, phase corev1.PodPhase, st corev1.ContainerState) *corev1.Pod {
	p.Status.Phase = phase
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: p.Spec.Containers[0].Name, State: st, Ready: st.Running != nil}}
	return p
}

func TestFollowDone(t *testing.T) {
	exited := func(code int32) corev1.ContainerState {
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}
	}
	if followDone(withApp(testPod(corev1.RestartPolicyOnFailure, 0, 1), corev1.PodRunning, exited(1)), "appa") {
		t.Error("OnFailure, exit 1: the container will restart")
	}
	pod := withApp(testPod(corev1.RestartPolicyOnFailure, 0, 1), corev1.PodRunning, exited(0))
	if !followDone(pod, "appa") {
		t.Error("OnFailure, exit 0: done")
	}
	if followDone(pod, "") {
		t.Error("the pod is not finished yet")
	}
}

// A pod whose slirp4netns died shows NetworkDown while it runs, and what
// its containers did once it finished, as kubectl does.
func TestNetworkDownStatus(t *testing.T) {
	down := func(p *corev1.Pod) *corev1.Pod {
		p.Status.Reason, p.Status.Message = reasonNetworkDown, "slirp4netns (pid 7) exited"
		return p
	}
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	if w := podStatusWord(withApp(testPod(corev1.RestartPolicyNever, 0, 1), corev1.PodRunning, running)); w != "Running" {
		t.Fatalf("before: %s", w)
	}
	if w := podStatusWord(down(withApp(testPod(corev1.RestartPolicyNever, 0, 1), corev1.PodRunning, running))); w != reasonNetworkDown {
		t.Errorf("STATUS %s, want %s", w, reasonNetworkDown)
	}
	done := corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: reasonCompleted}}
	if w := podStatusWord(down(withApp(testPod(corev1.RestartPolicyNever, 0, 1), corev1.PodSucceeded, done))); w != reasonCompleted {
		t.Errorf("finished pod: STATUS %s, want %s", w, reasonCompleted)
	}
}

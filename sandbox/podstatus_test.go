package sandbox

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPodStatusWord(t *testing.T) {
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	waiting := func(r string) corev1.ContainerState {
		return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: r}}
	}
	done := func(code int32, r string) corev1.ContainerState {
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: r}}
	}
	pod := func(phase corev1.PodPhase, inits, apps []corev1.ContainerState, conds ...corev1.PodConditionType) *corev1.Pod {
		p := &corev1.Pod{Status: corev1.PodStatus{Phase: phase}}
		for i, s := range inits {
			p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: "i" + string(rune('0'+i))})
			p.Status.InitContainerStatuses = append(p.Status.InitContainerStatuses, corev1.ContainerStatus{State: s})
		}
		for i, s := range apps {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "c" + string(rune('0'+i))})
			p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{State: s, Ready: s.Running != nil})
		}
		for _, c := range conds {
			p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: c, Status: corev1.ConditionTrue})
		}
		return p
	}
	podInit := waiting(reasonPodInitializing)
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{"first of two init containers runs", pod(corev1.PodPending, []corev1.ContainerState{running, podInit}, []corev1.ContainerState{podInit}), "Init:0/2"},
		{"second of two runs", pod(corev1.PodPending, []corev1.ContainerState{done(0, reasonCompleted), running}, []corev1.ContainerState{podInit}), "Init:1/2"},
		{"init container in back-off", pod(corev1.PodPending, []corev1.ContainerState{waiting(reasonCrashLoopBackOff)}, []corev1.ContainerState{podInit}), "Init:CrashLoopBackOff"},
		{"init container failed", pod(corev1.PodFailed, []corev1.ContainerState{done(3, reasonError)}, []corev1.ContainerState{podInit}), "Init:Error"},
		{"app container in back-off", pod(corev1.PodRunning, nil, []corev1.ContainerState{waiting(reasonCrashLoopBackOff)}), "CrashLoopBackOff"},
		{"running and ready", pod(corev1.PodRunning, nil, []corev1.ContainerState{running}, corev1.PodReady), "Running"},
		{"being created", pod(corev1.PodPending, nil, []corev1.ContainerState{waiting(reasonContainerCreating)}), "ContainerCreating"},
		{"completed", pod(corev1.PodSucceeded, nil, []corev1.ContainerState{done(0, reasonCompleted)}), "Completed"},
		{"failed", pod(corev1.PodFailed, nil, []corev1.ContainerState{done(1, reasonError)}), "Error"},
		{"one done, one still running and ready", pod(corev1.PodRunning, nil, []corev1.ContainerState{running, done(0, reasonCompleted)}, corev1.PodReady), "Running"},
		{"one done, one running, pod not ready", pod(corev1.PodRunning, nil, []corev1.ContainerState{running, done(0, reasonCompleted)}), "NotReady"},
		{"activeDeadlineSeconds ended it", func() *corev1.Pod {
			p := pod(corev1.PodFailed, nil, []corev1.ContainerState{done(137, reasonError)})
			p.Status.Reason = "DeadlineExceeded"
			return p
		}(), "DeadlineExceeded"},
		{"no reason: the exit code", pod(corev1.PodFailed, nil, []corev1.ContainerState{done(2, "")}), "ExitCode:2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := podStatusWord(tc.pod); got != tc.want {
				t.Errorf("podStatusWord = %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("stopping", func(t *testing.T) {
		p := pod(corev1.PodRunning, nil, []corev1.ContainerState{running}, corev1.PodReady)
		p.DeletionTimestamp = &metav1.Time{}
		if got := podStatusWord(p); got != "Terminating" {
			t.Errorf("podStatusWord = %q, want Terminating", got)
		}
	})
	t.Run("gone", func(t *testing.T) {
		p := &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodUnknown, Reason: "Gone"}}
		if got := podStatusWord(p); got != "Gone" {
			t.Errorf("podStatusWord = %q, want Gone", got)
		}
		// What it saved before it died does not count.
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reasonPodInitializing}}}}
		if got := podStatusWord(p); got != "Gone" {
			t.Errorf("podStatusWord with a saved waiting container = %q, want Gone", got)
		}
	})
}

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

func running(cs *corev1.ContainerStatus) {
	cs.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
}

func exited(code int32) func(*corev1.ContainerStatus) {
	return func(cs *corev1.ContainerStatus) {
		cs.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}
	}
}

func TestPodPhase(t *testing.T) {
	type step struct {
		ctr   string
		fn    func(*corev1.ContainerStatus)
		final bool
	}
	for _, tc := range []struct {
		name    string
		pod     *corev1.Pod
		steps   []step
		initErr bool
		want    corev1.PodPhase
		ready   bool
	}{
		{name: "nothing started", pod: testPod(corev1.RestartPolicyAlways, 0, 2), want: corev1.PodPending},
		{name: "init running", pod: testPod(corev1.RestartPolicyAlways, 1, 1),
			steps: []step{{"inita", running, false}}, want: corev1.PodPending},
		{name: "init done, app running", pod: testPod(corev1.RestartPolicyAlways, 1, 1),
			steps: []step{{"inita", exited(0), true}, {"appa", running, false}}, want: corev1.PodRunning, ready: true},
		{name: "init failed with Never", pod: testPod(corev1.RestartPolicyNever, 1, 1),
			steps: []step{{"inita", exited(3), true}}, initErr: true, want: corev1.PodFailed},
		{name: "one of two running", pod: testPod(corev1.RestartPolicyNever, 0, 2),
			steps: []step{{"appa", running, false}, {"appb", exited(0), true}}, want: corev1.PodRunning},
		{name: "all exited 0", pod: testPod(corev1.RestartPolicyNever, 0, 2),
			steps: []step{{"appa", exited(0), true}, {"appb", exited(0), true}}, want: corev1.PodSucceeded},
		{name: "one exited 1", pod: testPod(corev1.RestartPolicyNever, 0, 2),
			steps: []step{{"appa", exited(1), true}, {"appb", exited(0), true}}, want: corev1.PodFailed},
		{name: "Always: exited but restarting", pod: testPod(corev1.RestartPolicyAlways, 0, 1),
			steps: []step{{"appa", running, false}, {"appa", exited(0), false}}, want: corev1.PodRunning},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newPodState(tc.pod)
			for _, st := range tc.steps {
				s.update(st.ctr, st.fn)
				if st.final {
					s.setFinal(st.ctr)
				}
			}
			if tc.initErr {
				s.failInit()
			}
			p := s.snapshot()
			if p.Status.Phase != tc.want {
				t.Errorf("phase %s, want %s", p.Status.Phase, tc.want)
			}
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && (c.Status == corev1.ConditionTrue) != tc.ready {
					t.Errorf("Ready %s, want %v", c.Status, tc.ready)
				}
			}
		})
	}
}

func TestFollowDone(t *testing.T) {
	pod := testPod(corev1.RestartPolicyOnFailure, 0, 1)
	s := newPodState(pod)
	s.update("appa", exited(1))
	if followDone(s.snapshot(), "appa") {
		t.Error("OnFailure, exit 1: the container will restart")
	}
	s.update("appa", exited(0))
	if !followDone(s.snapshot(), "appa") {
		t.Error("OnFailure, exit 0: done")
	}
	if followDone(s.snapshot(), "") {
		t.Error("the pod is not finished yet")
	}
}

func TestNetworkDown(t *testing.T) {
	s := newPodState(testPod(corev1.RestartPolicyNever, 0, 1))
	s.update("appa", running)
	if w := podStatusWord(s.snapshot()); w != "Running" {
		t.Fatalf("before: %s", w)
	}
	s.networkDown("slirp4netns (pid 7) exited")
	p := s.snapshot()
	if w := podStatusWord(p); w != reasonNetworkDown {
		t.Errorf("STATUS %s, want %s", w, reasonNetworkDown)
	}
	if p.Status.Reason != reasonNetworkDown || p.Status.Message != "slirp4netns (pid 7) exited" {
		t.Errorf("reason %q, message %q", p.Status.Reason, p.Status.Message)
	}
	c := p.Status.Conditions[0]
	if c.Type != corev1.PodReadyToStartContainers || c.Status != corev1.ConditionFalse || c.Reason != reasonNetworkDown {
		t.Errorf("first condition %+v", c)
	}
	evs := s.events.list()
	if e := evs[len(evs)-1]; e.Type != corev1.EventTypeWarning || e.Reason != eventNetworkDown || e.Message != "slirp4netns (pid 7) exited" {
		t.Errorf("last event %+v", e)
	}
	// The condition stays through later changes; a finished pod shows what
	// its containers did, as kubectl does.
	s.update("appa", func(cs *corev1.ContainerStatus) {
		cs.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: reasonCompleted}}
	})
	s.setFinal("appa")
	p = s.snapshot()
	if p.Status.Conditions[0].Type != corev1.PodReadyToStartContainers {
		t.Errorf("condition lost: %+v", p.Status.Conditions)
	}
	if w := podStatusWord(p); w != reasonCompleted {
		t.Errorf("finished pod: STATUS %s, want %s", w, reasonCompleted)
	}
}

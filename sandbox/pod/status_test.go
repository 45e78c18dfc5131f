package pod

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/podbox/podbox/sandbox/podproto"
)

func testWork(policy string, inits, apps int) *podproto.Work {
	w := &podproto.Work{Name: "p", Namespace: "default", UID: "u1", NodeName: "host", RestartPolicy: policy,
		Metadata: map[string]json.RawMessage{"name": json.RawMessage(`"p"`)}, Spec: json.RawMessage(`{}`)}
	for i := 0; i < inits; i++ {
		w.Containers = append(w.Containers, podproto.Container{Name: "init" + string(rune('a'+i)), Init: true})
	}
	for i := 0; i < apps; i++ {
		w.Containers = append(w.Containers, podproto.Container{Name: "app" + string(rune('a'+i))})
	}
	return w
}

func running(cs *podproto.ContainerStatus) {
	cs.State = podproto.ContainerState{Running: &podproto.StateRunning{}}
}

func exited(code int32) func(*podproto.ContainerStatus) {
	return func(cs *podproto.ContainerStatus) {
		cs.State = podproto.ContainerState{Terminated: &podproto.StateTerminated{ExitCode: code}}
	}
}

func TestPodPhase(t *testing.T) {
	type step struct {
		ctr   string
		fn    func(*podproto.ContainerStatus)
		final bool
	}
	sidecarWork := testWork(podproto.RestartNever, 1, 1)
	sidecarWork.Containers[0].Sidecar = true
	for _, tc := range []struct {
		name    string
		work    *podproto.Work
		steps   []step
		initErr bool
		want    string
		ready   bool
	}{
		{name: "nothing started", work: testWork(podproto.RestartAlways, 0, 2), want: podproto.PodPending},
		{name: "init running", work: testWork(podproto.RestartAlways, 1, 1),
			steps: []step{{"inita", running, false}}, want: podproto.PodPending},
		{name: "init done, app running", work: testWork(podproto.RestartAlways, 1, 1),
			steps: []step{{"inita", exited(0), true}, {"appa", running, false}}, want: podproto.PodRunning, ready: true},
		{name: "init failed with Never", work: testWork(podproto.RestartNever, 1, 1),
			steps: []step{{"inita", exited(3), true}}, initErr: true, want: podproto.PodFailed},
		{name: "one of two running", work: testWork(podproto.RestartNever, 0, 2),
			steps: []step{{"appa", running, false}, {"appb", exited(0), true}}, want: podproto.PodRunning},
		{name: "all exited 0", work: testWork(podproto.RestartNever, 0, 2),
			steps: []step{{"appa", exited(0), true}, {"appb", exited(0), true}}, want: podproto.PodSucceeded},
		{name: "one exited 1", work: testWork(podproto.RestartNever, 0, 2),
			steps: []step{{"appa", exited(1), true}, {"appb", exited(0), true}}, want: podproto.PodFailed},
		{name: "Always: exited but restarting", work: testWork(podproto.RestartAlways, 0, 1),
			steps: []step{{"appa", running, false}, {"appa", exited(0), false}}, want: podproto.PodRunning},
		{name: "a running sidecar initializes", work: sidecarWork,
			steps: []step{{"inita", running, false}, {"appa", running, false}}, want: podproto.PodRunning, ready: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newPodState(tc.work)
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
				if c.Type == podproto.PodReady && (c.Status == podproto.ConditionTrue) != tc.ready {
					t.Errorf("Ready %s, want %v", c.Status, tc.ready)
				}
			}
		})
	}
}

func TestNetworkDown(t *testing.T) {
	s := newPodState(testWork(podproto.RestartNever, 0, 1))
	s.update("appa", running)
	s.networkDown("slirp4netns (pid 7) exited")
	p := s.snapshot()
	if p.Status.Reason != podproto.ReasonNetworkDown || p.Status.Message != "slirp4netns (pid 7) exited" {
		t.Errorf("reason %q, message %q", p.Status.Reason, p.Status.Message)
	}
	c := p.Status.Conditions[0]
	if c.Type != podproto.PodReadyToStartContainers || c.Status != podproto.ConditionFalse || c.Reason != podproto.ReasonNetworkDown {
		t.Errorf("first condition %+v", c)
	}
	evs := s.events.list()
	if e := evs[len(evs)-1]; e.Type != podproto.EventTypeWarning || e.Reason != podproto.EventNetworkDown || e.Message != "slirp4netns (pid 7) exited" {
		t.Errorf("last event %+v", e)
	}
	// The condition stays through later changes.
	s.update("appa", func(cs *podproto.ContainerStatus) {
		cs.State = podproto.ContainerState{Terminated: &podproto.StateTerminated{ExitCode: 0, Reason: podproto.ReasonCompleted}}
	})
	s.setFinal("appa")
	p = s.snapshot()
	if p.Status.Conditions[0].Type != podproto.PodReadyToStartContainers || p.Status.Phase != podproto.PodSucceeded {
		t.Errorf("condition lost or wrong phase: %s %+v", p.Status.Phase, p.Status.Conditions)
	}
}

// Past activeDeadlineSeconds the pod is Failed with the kubelet's reason,
// even when its container then exits 0.
func TestDeadlineExceeded(t *testing.T) {
	s := newPodState(testWork(podproto.RestartAlways, 0, 1))
	s.update("appa", running)
	s.halted(podproto.ReasonDeadlineExceeded, podproto.MessageDeadlineExceeded)
	if p := s.snapshot(); p.Status.Phase != podproto.PodFailed || p.Status.Reason != podproto.ReasonDeadlineExceeded ||
		p.Status.Message != "Pod was active on the node longer than the specified deadline" {
		t.Errorf("at the deadline: %s %q %q", p.Status.Phase, p.Status.Reason, p.Status.Message)
	}
	if s.appsFinal() {
		t.Error("apps final before they are stopped")
	}
	s.update("appa", func(cs *podproto.ContainerStatus) {
		cs.State = podproto.ContainerState{Terminated: &podproto.StateTerminated{ExitCode: 0, Reason: podproto.ReasonCompleted}}
	})
	s.finalAll()
	if p := s.snapshot(); p.Status.Phase != podproto.PodFailed || !s.appsFinal() {
		t.Errorf("stopped: phase %s, apps final %v", p.Status.Phase, s.appsFinal())
	}
}

// A snapshot does not change with the state after it (the control socket
// encodes it without the lock).
func TestSnapshotIsACopy(t *testing.T) {
	s := newPodState(testWork(podproto.RestartAlways, 0, 1))
	before := s.snapshot()
	s.update("appa", running)
	s.markDeleting(30 * time.Second)
	if before.Status.ContainerStatuses[0].State.Running != nil {
		t.Error("the snapshot's container status changed")
	}
	if _, ok := before.Metadata["deletionTimestamp"]; ok {
		t.Error("the snapshot's metadata changed")
	}
	after := s.snapshot()
	if string(after.Metadata["deletionGracePeriodSeconds"]) != "30" {
		t.Errorf("deletionGracePeriodSeconds %s", after.Metadata["deletionGracePeriodSeconds"])
	}
	var ts time.Time
	if err := json.Unmarshal(after.Metadata["deletionTimestamp"], &ts); err != nil {
		t.Errorf("deletionTimestamp: %v", err)
	}
}

func TestReadyFollowsProbes(t *testing.T) {
	w := testWork(podproto.RestartAlways, 0, 2)
	w.Containers[0].Readiness = &podproto.Probe{}
	w.Containers[0].Startup = &podproto.Probe{}
	s := newPodState(w)
	cond := func(typ string) string {
		for _, c := range s.snapshot().Status.Conditions {
			if c.Type == typ {
				return c.Status
			}
		}
		return ""
	}
	check := func(what string, ready0, started0 bool, podReady string) {
		t.Helper()
		st := s.snapshot().Status
		cs := st.ContainerStatuses[0]
		if cs.Ready != ready0 || cs.Started == nil || *cs.Started != started0 {
			t.Errorf("%s: appa ready %v started %v, want %v %v", what, cs.Ready, *cs.Started, ready0, started0)
		}
		if got := cond(podproto.PodReady); got != podReady || cond(podproto.ContainersReady) != podReady {
			t.Errorf("%s: Ready %s ContainersReady %s, want %s", what, got, cond(podproto.ContainersReady), podReady)
		}
	}
	s.update("appa", running)
	s.update("appb", running)
	check("running, startup pending", false, false, podproto.ConditionFalse)
	if !*s.snapshot().Status.ContainerStatuses[1].Started || !s.snapshot().Status.ContainerStatuses[1].Ready {
		t.Error("appb, without probes, is not started and ready once running")
	}
	s.setStarted("appa")
	check("started, readiness pending", false, true, podproto.ConditionFalse)
	s.setReady("appa", true)
	check("ready", true, true, podproto.ConditionTrue)
	s.setReady("appa", false)
	check("not ready again", false, true, podproto.ConditionFalse)
	s.resetProbes("appa")
	s.setReady("appa", true)
	check("restarted: startup again first", false, false, podproto.ConditionFalse)
}

// An eviction fails the pod with the kubelet's reason and message; a later
// halt does not change them.
func TestEvicted(t *testing.T) {
	s := newPodState(testWork(podproto.RestartAlways, 0, 1))
	s.update("appa", running)
	msg := fmt.Sprintf(podproto.MessageEmptyDirLimit, "scratch", "1Mi")
	s.halted(podproto.ReasonEvicted, msg)
	s.halted(podproto.ReasonDeadlineExceeded, podproto.MessageDeadlineExceeded)
	if p := s.snapshot(); p.Status.Phase != podproto.PodFailed || p.Status.Reason != "Evicted" ||
		p.Status.Message != `Usage of EmptyDir volume "scratch" exceeds the limit "1Mi". ` {
		t.Errorf("evicted: %s %q %q", p.Status.Phase, p.Status.Reason, p.Status.Message)
	}
}

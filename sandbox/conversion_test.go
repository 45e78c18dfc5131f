package sandbox

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/podbox/podbox/sandbox/podproto"
	corev1 "k8s.io/api/core/v1"
)

// strictDecode decodes b into v, failing on a field v does not have.
func strictDecode(t *testing.T, b []byte, v any) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
}

// The pod's PID 1 answers GET /pod, GET /events and writes status.json in
// podproto's types; the CLI decodes them into corev1's. Every field the pod
// fills must land in its corev1 field.
func TestPodprotoDecodesIntoCorev1(t *testing.T) {
	at := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	later := at.Add(time.Minute)
	started := true
	pp := &podproto.Pod{
		APIVersion: "v1", Kind: "Pod",
		Metadata: map[string]json.RawMessage{
			"name": json.RawMessage(`"web"`), "namespace": json.RawMessage(`"default"`), "uid": json.RawMessage(`"u1"`),
			"creationTimestamp": json.RawMessage(`"2026-11-28T10:00:00Z"`), "deletionTimestamp": json.RawMessage(`"2026-11-28T10:01:00Z"`),
			"deletionGracePeriodSeconds": json.RawMessage(`30`),
		},
		Spec: json.RawMessage(`{"nodeName":"host","restartPolicy":"Always","containers":[{"name":"app","image":"busybox"}]}`),
		Status: podproto.PodStatus{
			Phase: podproto.PodRunning, Message: "m", Reason: podproto.ReasonNetworkDown, HostIP: "127.0.0.1",
			PodIP: "10.0.2.100", PodIPs: []podproto.PodIP{{IP: "10.0.2.100"}}, StartTime: &at, QOSClass: "BestEffort",
			Conditions: []podproto.PodCondition{{Type: podproto.PodReadyToStartContainers, Status: podproto.ConditionFalse,
				LastTransitionTime: at, Reason: podproto.ReasonNetworkDown, Message: "gone"}},
			InitContainerStatuses: []podproto.ContainerStatus{{Name: "init", Image: "busybox", ImageID: "sha256:1",
				State: podproto.ContainerState{Terminated: &podproto.StateTerminated{ExitCode: 0, Reason: podproto.ReasonCompleted,
					StartedAt: at, FinishedAt: later, ContainerID: "runc://web-init"}}}},
			ContainerStatuses: []podproto.ContainerStatus{{Name: "app", Image: "busybox", ImageID: "sha256:2", ContainerID: "runc://web-app",
				Ready: true, RestartCount: 2, Started: &started,
				State: podproto.ContainerState{Running: &podproto.StateRunning{StartedAt: later}},
				LastTerminationState: podproto.ContainerState{Terminated: &podproto.StateTerminated{ExitCode: 137, Signal: 9,
					Reason: podproto.ReasonError, Message: "killed", StartedAt: at, FinishedAt: later}}}},
		},
	}
	b, err := json.Marshal(pp)
	if err != nil {
		t.Fatal(err)
	}
	var p corev1.Pod
	strictDecode(t, b, &p)
	st := p.Status
	if p.Name != "web" || p.UID != "u1" || p.Spec.NodeName != "host" || !p.CreationTimestamp.Time.Equal(at) ||
		p.DeletionTimestamp == nil || !p.DeletionTimestamp.Time.Equal(later) || *p.DeletionGracePeriodSeconds != 30 {
		t.Errorf("metadata, spec: %+v %+v", p.ObjectMeta, p.Spec)
	}
	if st.Phase != corev1.PodRunning || st.Reason != reasonNetworkDown || st.Message != "m" || st.PodIP != "10.0.2.100" ||
		len(st.PodIPs) != 1 || st.HostIP != "127.0.0.1" || !st.StartTime.Time.Equal(at) || st.QOSClass != corev1.PodQOSBestEffort {
		t.Errorf("status: %+v", st)
	}
	if c := st.Conditions[0]; c.Type != corev1.PodReadyToStartContainers || c.Status != corev1.ConditionFalse || !c.LastTransitionTime.Time.Equal(at) || c.Reason != reasonNetworkDown || c.Message != "gone" {
		t.Errorf("condition: %+v", c)
	}
	if ic := st.InitContainerStatuses[0]; ic.State.Terminated == nil || ic.State.Terminated.Reason != reasonCompleted || !ic.State.Terminated.FinishedAt.Time.Equal(later) || ic.State.Terminated.ContainerID != "runc://web-init" {
		t.Errorf("init container: %+v", ic)
	}
	cs := st.ContainerStatuses[0]
	if cs.State.Running == nil || !cs.State.Running.StartedAt.Time.Equal(later) || !cs.Ready || cs.RestartCount != 2 || cs.Started == nil || !*cs.Started ||
		cs.ContainerID != "runc://web-app" || cs.ImageID != "sha256:2" || cs.Image != "busybox" {
		t.Errorf("container: %+v", cs)
	}
	if lt := cs.LastTerminationState.Terminated; lt == nil || lt.ExitCode != 137 || lt.Signal != 9 || lt.Reason != reasonError || lt.Message != "killed" {
		t.Errorf("last state: %+v", cs.LastTerminationState)
	}
	if w := podStatusWord(&p); w != reasonNetworkDown {
		t.Errorf("STATUS %s", w)
	}

	ev := podproto.Event{APIVersion: "v1", Kind: "Event",
		Metadata:       podproto.EventMeta{Name: "web.1", Namespace: "default", CreationTimestamp: at},
		InvolvedObject: podproto.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web", UID: "u1", APIVersion: "v1", FieldPath: "spec.containers{app}"},
		Reason:         podproto.EventBackOff, Message: "Back-off", Source: podproto.EventSourceRef{Component: podproto.EventSource},
		FirstTimestamp: at, LastTimestamp: later, Count: 4, Type: podproto.EventTypeWarning, ReportingController: podproto.EventSource}
	b, err = json.Marshal(podproto.EventList{APIVersion: "v1", Kind: "List", Items: []podproto.Event{ev}})
	if err != nil {
		t.Fatal(err)
	}
	var l corev1.EventList
	strictDecode(t, b, &l)
	e := l.Items[0]
	if e.Name != "web.1" || e.InvolvedObject.FieldPath != "spec.containers{app}" || e.InvolvedObject.UID != "u1" || e.Count != 4 ||
		!e.FirstTimestamp.Time.Equal(at) || !e.LastTimestamp.Time.Equal(later) || e.Source.Component != podproto.EventSource ||
		e.ReportingController != podproto.EventSource || e.Type != corev1.EventTypeWarning || e.Reason != podproto.EventBackOff {
		t.Errorf("event: %+v", e)
	}

	b, err = json.Marshal(podproto.Saved{Pod: pp, Events: []podproto.Event{ev}})
	if err != nil {
		t.Fatal(err)
	}
	var saved savedPod
	strictDecode(t, b, &saved)
	if saved.Pod == nil || saved.Pod.Name != "web" || len(saved.Events) != 1 {
		t.Errorf("status.json: %+v", saved)
	}
}

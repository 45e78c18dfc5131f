package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/podbox/podbox/sandbox/podproto"
	corev1 "k8s.io/api/core/v1"
)

// The pod's PID 1 answers with podproto types; the CLI decodes them into
// corev1 types: that decoding is the conversion into v1.Pod and v1.Event
// (podproto's package doc). These tests fill every field podproto has,
// decode into the corev1 types refusing unknown fields (a JSON name
// Kubernetes does not have fails), then check that everything arrived: the
// corev1 value, encoded again, holds every key and value podproto sent.

func pt(t time.Time) *time.Time { return &t }
func pb(b bool) *bool           { return &b }

// Whole seconds: the Kubernetes API encodes its times to the second
// (metav1.Time), so that encoding them again gives the same text.
var (
	t0 = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	t1 = t0.Add(3 * time.Second)
	t2 = t0.Add(95 * time.Second)
)

func fullContainerStatus(name string) podproto.ContainerStatus {
	return podproto.ContainerStatus{
		Name: name,
		State: podproto.ContainerState{
			Waiting:    &podproto.StateWaiting{Reason: podproto.ReasonCrashLoopBackOff, Message: "back-off 20s restarting failed container=" + name},
			Running:    &podproto.StateRunning{StartedAt: t1},
			Terminated: &podproto.StateTerminated{ExitCode: 137, Signal: 9, Reason: podproto.ReasonError, Message: "killed", StartedAt: t1, FinishedAt: t2, ContainerID: "podbox://web-" + name},
		},
		LastTerminationState: podproto.ContainerState{
			Terminated: &podproto.StateTerminated{ExitCode: 1, Signal: 15, Reason: podproto.ReasonError, Message: "exit 1", StartedAt: t0, FinishedAt: t1, ContainerID: "podbox://web-" + name + "-0"},
			Waiting:    &podproto.StateWaiting{Reason: podproto.ReasonPodInitializing, Message: "m"},
			Running:    &podproto.StateRunning{StartedAt: t0},
		},
		Ready:        true,
		RestartCount: 4,
		Image:        "localhost:5000/busybox:latest",
		ImageID:      "localhost:5000/busybox@sha256:0123",
		ContainerID:  "podbox://web-" + name,
		Started:      pb(true),
	}
}

func fullPod() podproto.Pod {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	return podproto.Pod{
		APIVersion: "v1",
		Kind:       "Pod",
		Metadata: map[string]json.RawMessage{
			"name":                       raw(`"web"`),
			"namespace":                  raw(`"default"`),
			"uid":                        raw(`"0d6c4f1e-3a4b-4c5d-8e9f-0a1b2c3d4e5f"`),
			"creationTimestamp":          raw(`"2026-11-28T10:00:00Z"`),
			"deletionTimestamp":          raw(`"2026-11-28T10:01:35Z"`),
			"deletionGracePeriodSeconds": raw(`30`),
			"labels":                     raw(`{"app":"web"}`),
		},
		Spec: raw(`{"nodeName":"laptop","restartPolicy":"Always","containers":[{"name":"app","image":"localhost:5000/busybox:latest"}]}`),
		Status: podproto.PodStatus{
			Phase: podproto.PodRunning,
			Conditions: []podproto.PodCondition{
				{Type: podproto.PodReady, Status: podproto.ConditionFalse, LastTransitionTime: t1, Reason: "ContainersNotReady", Message: "containers with unready status: [app]"},
				{Type: podproto.PodReadyToStartContainers, Status: podproto.ConditionTrue, LastTransitionTime: t0},
			},
			Message:               "the network went down",
			Reason:                podproto.ReasonNetworkDown,
			HostIP:                "127.0.0.1",
			PodIP:                 "10.0.2.100",
			PodIPs:                []podproto.PodIP{{IP: "10.0.2.100"}},
			StartTime:             pt(t0),
			InitContainerStatuses: []podproto.ContainerStatus{fullContainerStatus("init")},
			ContainerStatuses:     []podproto.ContainerStatus{fullContainerStatus("app")},
			QOSClass:              "BestEffort",
		},
	}
}

func fullEvents() []podproto.Event {
	return []podproto.Event{{
		APIVersion:          "v1",
		Kind:                "Event",
		Metadata:            podproto.EventMeta{Name: "web.1879c5a2b3c4d5e6", Namespace: "default", CreationTimestamp: t0},
		InvolvedObject:      podproto.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web", UID: "0d6c4f1e", APIVersion: "v1", FieldPath: "spec.containers{app}"},
		Reason:              podproto.EventBackOff,
		Message:             "Back-off restarting failed container app in pod web_default",
		Source:              podproto.EventSourceRef{Component: podproto.EventSource},
		FirstTimestamp:      t0,
		LastTimestamp:       t2,
		Count:               4,
		Type:                podproto.EventTypeWarning,
		ReportingController: podproto.EventSource,
	}, {
		APIVersion:     "v1",
		Kind:           "Event",
		Metadata:       podproto.EventMeta{Name: "web.2"},
		InvolvedObject: podproto.ObjectReference{Kind: "Pod", Name: "web"},
		Reason:         podproto.EventScheduled,
		Type:           podproto.EventTypeNormal,
	}}
}

// allSet fails for every field of v that has its zero value: the fixtures
// must set everything podproto has, so that a field added to podproto
// without a Kubernetes JSON name fails here. Slices are checked by their
// first element.
func allSet(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	if v.IsZero() {
		t.Errorf("%s is not set in the test's fixture", path)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		allSet(t, v.Elem(), path)
	case reflect.Slice:
		if v.Type() != reflect.TypeOf(json.RawMessage(nil)) {
			allSet(t, v.Index(0), path+"[0]")
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			return
		}
		for i := 0; i < v.NumField(); i++ {
			allSet(t, v.Field(i), path+"."+v.Type().Field(i).Name)
		}
	}
}

// decodeStrict decodes b into v, refusing fields v's type does not have.
func decodeStrict(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

// subset reports where want (decoded JSON) is not contained in got: every
// key of an object with the same value, arrays element by element.
func subset(want, got any, path string) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %v, want an object", path, got)}
		}
		var diffs []string
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				diffs = append(diffs, fmt.Sprintf("%s.%s: missing (want %v)", path, k, wv))
				continue
			}
			diffs = append(diffs, subset(wv, gv, path+"."+k)...)
		}
		return diffs
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: got %v, want %d elements", path, got, len(w))}
		}
		var diffs []string
		for i := range w {
			diffs = append(diffs, subset(w[i], g[i], fmt.Sprintf("%s[%d]", path, i))...)
		}
		return diffs
	default:
		if !reflect.DeepEqual(want, got) {
			return []string{fmt.Sprintf("%s: got %v, want %v", path, got, want)}
		}
		return nil
	}
}

// arrives checks that what podproto encoded as sent arrives in the corev1
// value decoded from it: encoded again, it holds all of sent.
func arrives(t *testing.T, sent []byte, decoded any) {
	t.Helper()
	back, err := json.Marshal(decoded)
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	if err := json.Unmarshal(sent, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(back, &got); err != nil {
		t.Fatal(err)
	}
	for _, d := range subset(want, got, "") {
		t.Errorf("lost in the conversion: %s", d)
	}
}

func TestPodprotoPodIsV1Pod(t *testing.T) {
	p := fullPod()
	allSet(t, reflect.ValueOf(p), "Pod")
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var pod corev1.Pod
	if err := decodeStrict(b, &pod); err != nil {
		t.Fatalf("decoding into v1.Pod: %v\n%s", err, b)
	}
	arrives(t, b, &pod)

	// What describe, get and ps read, said plainly.
	st := pod.Status
	if pod.Name != "web" || pod.DeletionTimestamp == nil || !pod.DeletionTimestamp.Time.Equal(t2) || *pod.DeletionGracePeriodSeconds != 30 {
		t.Errorf("metadata: %+v", pod.ObjectMeta)
	}
	if st.Phase != corev1.PodRunning || st.StartTime == nil || !st.StartTime.Time.Equal(t0) || st.QOSClass != corev1.PodQOSBestEffort {
		t.Errorf("status: phase %q, startTime %v, qosClass %q", st.Phase, st.StartTime, st.QOSClass)
	}
	if c := st.Conditions[0]; c.Type != corev1.PodReady || c.Status != corev1.ConditionFalse || !c.LastTransitionTime.Time.Equal(t1) {
		t.Errorf("condition: %+v", c)
	}
	cs := st.ContainerStatuses[0]
	if cs.RestartCount != 4 || !cs.Ready || cs.Started == nil || !*cs.Started ||
		cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 137 || cs.State.Terminated.Signal != 9 ||
		!cs.State.Terminated.FinishedAt.Time.Equal(t2) || cs.State.Waiting.Reason != "CrashLoopBackOff" ||
		cs.LastTerminationState.Terminated == nil || cs.LastTerminationState.Terminated.ExitCode != 1 {
		t.Errorf("container status: %+v", cs)
	}
	if len(st.InitContainerStatuses) != 1 || st.InitContainerStatuses[0].Name != "init" || st.PodIPs[0].IP != "10.0.2.100" {
		t.Errorf("init container statuses %+v, podIPs %+v", st.InitContainerStatuses, st.PodIPs)
	}
}

func TestPodprotoEventsAreV1EventList(t *testing.T) {
	evs := fullEvents()
	allSet(t, reflect.ValueOf(evs), "Events")
	list := podproto.EventList{APIVersion: "v1", Kind: "EventList", Items: evs}
	b, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	var el corev1.EventList
	if err := decodeStrict(b, &el); err != nil {
		t.Fatalf("decoding into v1.EventList: %v\n%s", err, b)
	}
	arrives(t, b, &el)
	e := el.Items[0]
	if e.ReportingController != "podbox" || e.Source.Component != "podbox" || e.Count != 4 || e.Type != corev1.EventTypeWarning ||
		!e.FirstTimestamp.Time.Equal(t0) || !e.LastTimestamp.Time.Equal(t2) || e.InvolvedObject.FieldPath != "spec.containers{app}" {
		t.Errorf("event: %+v", e)
	}
	// An event with only a few fields set leaves the others empty, not
	// "0001-01-01": the omitzero times.
	if s := string(b); strings.Count(s, "0001-01-01") != 0 {
		t.Errorf("zero times encoded: %s", s)
	}
	if e := el.Items[1]; !e.FirstTimestamp.IsZero() || e.Count != 0 {
		t.Errorf("second event: %+v", e)
	}

	// status.json keeps the same events (podproto.Saved).
	saved, err := json.Marshal(podproto.Saved{Events: evs})
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Pod    *corev1.Pod    `json:"pod"`
		Events []corev1.Event `json:"events"`
	}
	if err := decodeStrict(saved, &back); err != nil || len(back.Events) != 2 || back.Events[0].Count != 4 {
		t.Errorf("status.json's events: %v, %+v", err, back.Events)
	}
}

// TestPodprotoTimesKeepNanoseconds: the pod's times are RFC 3339 with
// nanoseconds; metav1.Time reads them whole (it prints them to the second).
func TestPodprotoTimesKeepNanoseconds(t *testing.T) {
	at := time.Date(2026, 11, 28, 10, 0, 0, 123456789, time.UTC)
	b, err := json.Marshal(podproto.StateRunning{StartedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	var r corev1.ContainerStateRunning
	if err := decodeStrict(b, &r); err != nil {
		t.Fatal(err)
	}
	if !r.StartedAt.Time.Equal(at) {
		t.Errorf("startedAt %v, want %v", r.StartedAt.Time, at)
	}
}

package sandbox

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/podbox/podbox/sandbox/podproto"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// crashLoopPod is a pod's status as PID 1 serves it: an init container
// done, an app container waiting to restart after exit code 2.
func crashLoopPod(t *testing.T) *corev1.Pod {
	t.Helper()
	p := testPod(corev1.RestartPolicyAlways, 1, 1)
	p.Namespace = "default"
	p.UID = "u1"
	p.Spec.NodeName = "host"
	p.CreationTimestamp = metav1.Now()
	p.Spec.Containers[0].Image = "127.0.0.1:5000/busybox:latest"
	p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 8080, HostPort: 8001, Protocol: corev1.ProtocolTCP}}
	p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "work", MountPath: "/work", ReadOnly: true}}
	p.Spec.Volumes = []corev1.Volume{{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	now := metav1.Now()
	p.Status = corev1.PodStatus{
		Phase: corev1.PodRunning, HostIP: "127.0.0.1", PodIP: "10.0.2.100", PodIPs: []corev1.PodIP{{IP: "10.0.2.100"}},
		StartTime: &now, QOSClass: corev1.PodQOSBestEffort,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, LastTransitionTime: now},
			{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: now},
		},
		InitContainerStatuses: []corev1.ContainerStatus{{Name: "inita", Started: ptr(false),
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: reasonCompleted}}}},
		ContainerStatuses: []corev1.ContainerStatus{{
			Name: "appa", Image: p.Spec.Containers[0].Image, Started: ptr(false), RestartCount: 3,
			ContainerID: "runc://p-appa",
			ImageID:     "127.0.0.1:5000/busybox@sha256:" + strings.Repeat("a", 64),
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 2, Reason: reasonError, StartedAt: now, FinishedAt: now, ContainerID: "runc://p-appa"}},
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reasonCrashLoopBackOff}},
		}},
	}
	return p
}

func TestRenderPodsParsesBack(t *testing.T) {
	pod := crashLoopPod(t)
	for _, tc := range []struct {
		name   string
		output string
		parse  func([]byte, any) error
	}{
		{"yaml", "yaml", func(b []byte, v any) error { return yaml.UnmarshalStrict(b, v) }},
		{"json", "json", func(b []byte, v any) error {
			d := json.NewDecoder(bytes.NewReader(b))
			d.DisallowUnknownFields()
			return d.Decode(v)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := renderPods(&out, []*corev1.Pod{pod.DeepCopy()}, tc.output, true); err != nil {
				t.Fatal(err)
			}
			var got corev1.Pod
			if err := tc.parse(out.Bytes(), &got); err != nil {
				t.Fatalf("%s does not parse back as a v1.Pod: %v\n%s", tc.output, err, out.String())
			}
			if got.APIVersion != "v1" || got.Kind != "Pod" {
				t.Errorf("apiVersion/kind: %q/%q", got.APIVersion, got.Kind)
			}
			if got.UID == "" || got.CreationTimestamp.IsZero() || got.Spec.NodeName == "" {
				t.Errorf("metadata.uid %q, creationTimestamp %v, spec.nodeName %q: want them set", got.UID, got.CreationTimestamp, got.Spec.NodeName)
			}
			st := got.Status
			if st.Phase != corev1.PodRunning || st.PodIP != "10.0.2.100" || len(st.PodIPs) != 1 || st.HostIP != "127.0.0.1" || st.StartTime == nil {
				t.Errorf("status: phase %q podIP %q podIPs %v hostIP %q startTime %v", st.Phase, st.PodIP, st.PodIPs, st.HostIP, st.StartTime)
			}
			var conds []string
			for _, c := range st.Conditions {
				if c.LastTransitionTime.IsZero() {
					t.Errorf("condition %s has no lastTransitionTime", c.Type)
				}
				conds = append(conds, string(c.Type)+"="+string(c.Status))
			}
			if want := "PodScheduled=True,Initialized=True,ContainersReady=False,Ready=False"; strings.Join(conds, ",") != want {
				t.Errorf("conditions %s, want %s", strings.Join(conds, ","), want)
			}
			if len(st.ContainerStatuses) != 1 || len(st.InitContainerStatuses) != 1 {
				t.Fatalf("statuses: %d app, %d init", len(st.ContainerStatuses), len(st.InitContainerStatuses))
			}
			cs := st.ContainerStatuses[0]
			if cs.RestartCount != 3 || cs.LastTerminationState.Terminated == nil || cs.LastTerminationState.Terminated.ExitCode != 2 || cs.ContainerID != "runc://p-appa" {
				t.Errorf("container status: %+v", cs)
			}
		})
	}
}

func TestRenderPodsTable(t *testing.T) {
	pod := crashLoopPod(t)
	for _, tc := range []struct {
		output string
		want   []string
	}{
		{"", []string{"NAME   READY   STATUS             RESTARTS   AGE", "p      0/1     CrashLoopBackOff   3          0s"}},
		{"wide", []string{"IP           NODE", "10.0.2.100   " + pod.Spec.NodeName}},
		{"name", []string{"pod/p\n"}},
	} {
		t.Run("output="+tc.output, func(t *testing.T) {
			var out bytes.Buffer
			if err := renderPods(&out, []*corev1.Pod{pod.DeepCopy()}, tc.output, true); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("missing %q in\n%s", w, out.String())
				}
			}
		})
	}
}

func TestRenderPodsList(t *testing.T) {
	var out bytes.Buffer
	if err := renderPods(&out, []*corev1.Pod{crashLoopPod(t), crashLoopPod(t)}, "yaml", false); err != nil {
		t.Fatal(err)
	}
	var list corev1.PodList
	if err := yaml.UnmarshalStrict(out.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	if list.Kind != "List" || len(list.Items) != 2 || list.Items[1].Kind != "Pod" {
		t.Errorf("list: kind %q, %d items", list.Kind, len(list.Items))
	}
}

func TestDescribe(t *testing.T) {
	pod := crashLoopPod(t)
	yes := true
	pod.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-5d4f8", Controller: &yes}}
	pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-db-0"}}})
	now := time.Now()
	evs := []corev1.Event{{
		Type: corev1.EventTypeWarning, Reason: podproto.EventBackOff, Message: "Back-off restarting failed container appa in pod p",
		Count: 4, FirstTimestamp: metav1.NewTime(now.Add(-40 * time.Second)), LastTimestamp: metav1.NewTime(now.Add(-3 * time.Second)),
		Source: corev1.EventSource{Component: podproto.EventSource},
	}}
	var out bytes.Buffer
	describePod(&out, pod, evs, now)
	for _, re := range []string{
		`(?m)^Name: +p$`,
		`(?m)^IP: +10\.0\.2\.100$`,
		`(?m)^    Image ID: +127\.0\.0\.1:5000/busybox@sha256:a{64}$`,
		`(?m)^    Port: +8080/TCP\n    Host Port: +8001/TCP$`,
		`(?m)^    State: +Waiting\n      Reason: +CrashLoopBackOff$`,
		`(?m)^    Last State: +Terminated\n      Reason: +Error\n      Exit Code: +2$`,
		`(?m)^    Restart Count: +3$`,
		`(?m)^      /work from work \(ro\)$`,
		`(?m)^  Ready +False$`,
		`(?m)^    Type: +EmptyDir`,
		`(?m)^IPs:\n  IP: +10\.0\.2\.100\nControlled By: +ReplicaSet/web-5d4f8$`,
		`(?m)^    Type: +PersistentVolumeClaim \(a reference to a PersistentVolumeClaim in the same namespace\)\n    ClaimName: +data-db-0\n    ReadOnly: +false$`,
		`(?m)^  Warning  BackOff  3s \(x4 over 40s\)  podbox  Back-off restarting failed container appa in pod p$`,
	} {
		if !regexp.MustCompile(re).MatchString(out.String()) {
			t.Errorf("no match for %q in\n%s", re, out.String())
		}
	}
}

// A running sidecar counts in READY as kubectl 1.29+ shows it: 2/2 with the
// app container ready, 1/2 before the sidecar is ready; restarts of both.
func TestReadyRestartsSidecar(t *testing.T) {
	always, yes := corev1.ContainerRestartPolicyAlways, true
	p := &corev1.Pod{
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init"}, {Name: "log", RestartPolicy: &always}},
			Containers:     []corev1.Container{{Name: "web"}},
		},
		Status: corev1.PodStatus{
			InitContainerStatuses: []corev1.ContainerStatus{
				{Name: "init", Ready: true, RestartCount: 1},
				{Name: "log", Ready: true, Started: &yes, RestartCount: 2},
			},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "web", Ready: true, RestartCount: 3}},
		},
	}
	if ready, total, restarts := readyRestarts(p); ready != 2 || total != 2 || restarts != 6 {
		t.Errorf("got %d/%d restarts %d, want 2/2 restarts 6", ready, total, restarts)
	}
	p.Status.InitContainerStatuses[1].Ready = false
	if ready, total, _ := readyRestarts(p); ready != 1 || total != 2 {
		t.Errorf("sidecar not ready: got %d/%d, want 1/2", ready, total)
	}
}

// The foreground's last line for a pod that finished by itself.
func TestEndWords(t *testing.T) {
	failed := &corev1.Pod{Status: corev1.PodStatus{
		InitContainerStatuses: []corev1.ContainerStatus{{Name: "init", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}}},
		ContainerStatuses: []corev1.ContainerStatus{
			{Name: "side", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}},
			{Name: "web", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}},
		},
	}}
	deadline := &corev1.Pod{Status: corev1.PodStatus{Reason: podproto.ReasonDeadlineExceeded}}
	for _, c := range []struct {
		phase string
		p     *corev1.Pod
		want  string
	}{
		{podproto.PodSucceeded, nil, "pod demo Succeeded"},
		{podproto.PodFailed, failed, "pod demo Failed: web exited with code 1"},
		{podproto.PodFailed, deadline, "pod demo Failed: DeadlineExceeded"},
		{podproto.PodFailed, nil, "pod demo Failed"},
	} {
		if got := endWords("demo", c.phase, c.p); got != c.want {
			t.Errorf("endWords(%s) = %q, want %q", c.phase, got, c.want)
		}
	}
}

package sandbox

import (
	"fmt"
	"os"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
)

// Container state reasons, the kubelet's words.
const (
	reasonPodInitializing   = "PodInitializing"
	reasonContainerCreating = "ContainerCreating"
	reasonCrashLoopBackOff  = "CrashLoopBackOff"
	reasonCompleted         = "Completed"
	reasonGone              = "Gone" // podbox's own: the pod's process died
	reasonError             = "Error"
	reasonStartError        = "StartError"
	// reasonNetworkDown is the pod's status.reason once slirp4netns has
	// exited while the pod runs (ps shows it as the STATUS), and the reason
	// of its PodReadyToStartContainers=False condition.
	reasonNetworkDown = "NetworkDown"
)

// podState is the pod as the pod's PID 1 knows it: the manifest's Pod with
// a v1.PodStatus that the supervisors update. Every change wakes waiters.
type podState struct {
	mu      sync.Mutex
	pod     *corev1.Pod
	final   map[string]bool // container name → will not run again
	changed chan struct{}
	rev     int // counts changes, for the saver
	events  *eventLog
	netDown *corev1.PodCondition // set once slirp4netns has exited
}

// newPodState starts the status of pod: Pending, scheduled on this host.
// It runs before the pod's PID 1 sets its own hostname, so the hostname is
// the host's (the node's name).
func newPodState(pod *corev1.Pod) *podState {
	now := metav1.Now()
	p := pod.DeepCopy()
	if p.UID == "" {
		p.UID = uuid.NewUUID()
	}
	p.CreationTimestamp = now
	if p.Spec.NodeName == "" {
		p.Spec.NodeName, _ = os.Hostname()
	}
	p.Status = corev1.PodStatus{
		Phase:     corev1.PodPending,
		StartTime: &now,
		HostIP:    "127.0.0.1",
		PodIP:     "10.0.2.100",
		PodIPs:    []corev1.PodIP{{IP: "10.0.2.100"}},
		QOSClass:  corev1.PodQOSBestEffort,
	}
	for _, c := range p.Spec.InitContainers {
		p.Status.InitContainerStatuses = append(p.Status.InitContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reasonPodInitializing}},
		})
	}
	waiting := reasonContainerCreating
	if len(p.Spec.InitContainers) > 0 {
		waiting = reasonPodInitializing
	}
	for _, c := range p.Spec.Containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: waiting}},
		})
	}
	s := &podState{pod: p, final: map[string]bool{}, changed: make(chan struct{}), events: newEventLog(p)}
	s.recomputeLocked()
	s.events.record(now.Time, corev1.EventTypeNormal, eventScheduled, "", "Successfully assigned %s/%s to %s", p.Namespace, p.Name, p.Spec.NodeName)
	return s
}

// snapshot returns a copy of the pod with its status.
func (s *podState) snapshot() *corev1.Pod {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pod.DeepCopy()
}

// wait returns a channel closed at the next change.
func (s *podState) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// update runs fn on the status of container name and recomputes the pod.
func (s *podState) update(name string, fn func(cs *corev1.ContainerStatus)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, list := range [][]corev1.ContainerStatus{s.pod.Status.InitContainerStatuses, s.pod.Status.ContainerStatuses} {
		for i := range list {
			if list[i].Name == name {
				fn(&list[i])
			}
		}
	}
	s.recomputeLocked()
}

// setFinal marks container name as one that will not run again.
func (s *podState) setFinal(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.final[name] = true
	s.recomputeLocked()
}

// failInit marks the pod Failed by its init container: the app containers
// never start.
func (s *podState) failInit() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.pod.Spec.Containers {
		s.final[c.Name] = true
	}
	s.pod.Status.Reason = ""
	s.pod.Status.Phase = corev1.PodFailed
	s.recomputeLocked()
}

// markDeleting records that the pod was asked to stop, as the API server
// sets deletionTimestamp: ps shows it Terminating until it is gone.
func (s *podState) markDeleting(grace time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := metav1.Now()
	s.pod.DeletionTimestamp = &now
	s.pod.DeletionGracePeriodSeconds = ptr(int64(grace / time.Second))
	s.recomputeLocked()
}

func (s *podState) phase() corev1.PodPhase {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pod.Status.Phase
}

// recomputeLocked derives the phase and conditions from the container
// statuses, as the kubelet's getPhase does.
func (s *podState) recomputeLocked() {
	st := &s.pod.Status
	initDone := true
	initFailed := false
	for i, cs := range st.InitContainerStatuses {
		t := cs.State.Terminated
		if isSidecar(&s.pod.Spec.InitContainers[i]) {
			// A sidecar is done initializing once it has started.
			if cs.State.Running == nil && t == nil && cs.LastTerminationState.Terminated == nil {
				initDone = false
			}
			continue
		}
		if t == nil || t.ExitCode != 0 {
			initDone = false
		}
		if t != nil && t.ExitCode != 0 && s.final[cs.Name] {
			initFailed = true
		}
	}
	running, started, allFinal, allZero, ready := 0, 0, true, true, 0
	for _, cs := range st.ContainerStatuses {
		if cs.State.Running != nil {
			running++
			ready++
		}
		if cs.State.Running != nil || cs.State.Terminated != nil || cs.LastTerminationState.Terminated != nil {
			started++
		}
		if !s.final[cs.Name] {
			allFinal = false
		}
		if t := cs.State.Terminated; t == nil || t.ExitCode != 0 {
			allZero = false
		}
	}
	for i := range st.ContainerStatuses {
		st.ContainerStatuses[i].Ready = st.ContainerStatuses[i].State.Running != nil
		st.ContainerStatuses[i].Started = ptr(st.ContainerStatuses[i].State.Running != nil)
	}
	for i := range st.InitContainerStatuses {
		// Only a running sidecar is ready; a done init container is not.
		cs := &st.InitContainerStatuses[i]
		cs.Started = ptr(cs.State.Running != nil)
		cs.Ready = cs.State.Running != nil && isSidecar(&s.pod.Spec.InitContainers[i])
	}
	switch {
	case initFailed:
		st.Phase = corev1.PodFailed
	case !initDone:
		st.Phase = corev1.PodPending
	case allFinal && len(st.ContainerStatuses) > 0 && allZero:
		st.Phase = corev1.PodSucceeded
	case allFinal && len(st.ContainerStatuses) > 0:
		st.Phase = corev1.PodFailed
	case started > 0:
		st.Phase = corev1.PodRunning
	default:
		st.Phase = corev1.PodPending
	}
	allReady := ready == len(st.ContainerStatuses) && ready > 0
	st.Conditions = []corev1.PodCondition{
		condition(corev1.PodScheduled, true, st.Conditions),
		condition(corev1.PodInitialized, initDone, st.Conditions),
		condition(corev1.ContainersReady, allReady, st.Conditions),
		condition(corev1.PodReady, allReady, st.Conditions),
	}
	if s.netDown != nil {
		st.Conditions = append([]corev1.PodCondition{*s.netDown}, st.Conditions...)
	}
	s.rev++
	close(s.changed)
	s.changed = make(chan struct{})
}

// networkDown records that slirp4netns has exited: a Warning event, the
// pod's reason and message, and the condition the kubelet uses for a pod
// whose sandbox lost its network, PodReadyToStartContainers, as False
// (podbox adds that condition only then: Kubernetes has no pod condition
// for a network that went away under running containers, and
// NetworkUnavailable is a node's).
func (s *podState) networkDown(msg string) {
	s.events.record(time.Now(), corev1.EventTypeWarning, eventNetworkDown, "", "%s", msg)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.netDown = &corev1.PodCondition{Type: corev1.PodReadyToStartContainers, Status: corev1.ConditionFalse,
		LastTransitionTime: metav1.Now(), Reason: reasonNetworkDown, Message: msg}
	s.pod.Status.Reason, s.pod.Status.Message = reasonNetworkDown, msg
	s.recomputeLocked()
}

// revision counts the status's changes.
func (s *podState) revision() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rev
}

// condition returns the condition t, keeping its transition time from old
// when its status did not change.
func condition(t corev1.PodConditionType, ok bool, old []corev1.PodCondition) corev1.PodCondition {
	status := corev1.ConditionFalse
	if ok {
		status = corev1.ConditionTrue
	}
	for _, c := range old {
		if c.Type == t && c.Status == status {
			return c
		}
	}
	return corev1.PodCondition{Type: t, Status: status, LastTransitionTime: metav1.NewTime(time.Now())}
}

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

// startErrors lists the containers that could not be started, with why.
func (s *podState) startErrors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, cs := range append(s.pod.Status.InitContainerStatuses, s.pod.Status.ContainerStatuses...) {
		for _, st := range []corev1.ContainerState{cs.State, cs.LastTerminationState} {
			if t := st.Terminated; t != nil && t.Reason == reasonStartError {
				out = append(out, fmt.Sprintf("container %q could not start: %s", cs.Name, t.Message))
				break
			}
		}
	}
	return out
}

// isSidecar reports whether init container c is a sidecar (Kubernetes
// 1.28+): restartPolicy Always, started in order with the init containers
// but running, and restarted, alongside the app containers.
func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// appsFinal reports whether every app container is done for good.
func (s *podState) appsFinal() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.pod.Spec.Containers {
		if !s.final[c.Name] {
			return false
		}
	}
	return true
}

// isFinal reports whether container name will not run again.
func (s *podState) isFinal(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.final[name]
}

// sidecarsFinal reports whether every sidecar has stopped for good.
func (s *podState) sidecarsFinal() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.pod.Spec.InitContainers {
		if c := &s.pod.Spec.InitContainers[i]; isSidecar(c) && !s.final[c.Name] {
			return false
		}
	}
	return true
}

func (s *podState) namespace() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pod.Namespace
}

func (s *podState) uid() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.pod.UID)
}

package pod

import (
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"sync"
	"time"

	"github.com/podbox/podbox/sandbox/podproto"
)

// podState is the pod as its PID 1 knows it: the manifest's metadata and
// spec as the CLI sent them, and a status (v1.PodStatus's JSON) that the
// supervisors update. Every change wakes waiters.
type podState struct {
	mu       sync.Mutex
	meta     map[string]json.RawMessage
	spec     json.RawMessage
	status   podproto.PodStatus
	ctrs     []podproto.Container // init containers, then app containers
	final    map[string]bool      // container name → will not run again
	started  map[string]bool      // container name → its startupProbe succeeded in this run
	ready    map[string]bool      // container name → its readinessProbe says ready
	changed  chan struct{}
	rev      int // counts changes, for the saver
	events   *eventLog
	netDown  *podproto.PodCondition // set once slirp4netns has exited
	deleting bool
	// haltReason and haltMessage: the pod was ended by activeDeadlineSeconds
	// (DeadlineExceeded) or an eviction (Evicted): Failed with them.
	haltReason, haltMessage string
}

// newPodState starts the status of the pod w describes: Pending, scheduled
// on this host (the CLI filled uid, creationTimestamp and nodeName).
func newPodState(w *podproto.Work) *podState {
	now := time.Now()
	st := podproto.PodStatus{
		Phase:     podproto.PodPending,
		StartTime: &now,
		HostIP:    "127.0.0.1",
		PodIP:     podIP,
		PodIPs:    []podproto.PodIP{{IP: podIP}},
		QOSClass:  "BestEffort",
	}
	inits := 0
	for _, c := range w.Containers {
		if c.Init {
			inits++
		}
	}
	waiting := podproto.ReasonContainerCreating
	if inits > 0 {
		waiting = podproto.ReasonPodInitializing
	}
	for _, c := range w.Containers {
		cs := podproto.ContainerStatus{Name: c.Name, Image: c.Image}
		if c.Init {
			cs.State.Waiting = &podproto.StateWaiting{Reason: podproto.ReasonPodInitializing}
			st.InitContainerStatuses = append(st.InitContainerStatuses, cs)
			continue
		}
		cs.State.Waiting = &podproto.StateWaiting{Reason: waiting}
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
	s := &podState{meta: maps.Clone(w.Metadata), spec: w.Spec, status: st, ctrs: w.Containers,
		final: map[string]bool{}, started: map[string]bool{}, ready: map[string]bool{}, changed: make(chan struct{}), events: newEventLog(w)}
	if s.meta == nil {
		s.meta = map[string]json.RawMessage{}
	}
	s.recomputeLocked()
	s.events.record(now, podproto.EventTypeNormal, podproto.EventScheduled, "", "Successfully assigned %s/%s to %s", w.Namespace, w.Name, w.NodeName)
	return s
}

// snapshot returns a copy of the pod with its status. The states in it are
// never changed in place, only replaced, so copying the lists is enough.
func (s *podState) snapshot() *podproto.Pod {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	st.Conditions = append([]podproto.PodCondition(nil), st.Conditions...)
	st.InitContainerStatuses = append([]podproto.ContainerStatus(nil), st.InitContainerStatuses...)
	st.ContainerStatuses = append([]podproto.ContainerStatus(nil), st.ContainerStatuses...)
	return &podproto.Pod{APIVersion: "v1", Kind: "Pod", Metadata: maps.Clone(s.meta), Spec: s.spec, Status: st}
}

// wait returns a channel closed at the next change.
func (s *podState) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// update runs fn on the status of container name and recomputes the pod.
func (s *podState) update(name string, fn func(cs *podproto.ContainerStatus)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cs := s.findLocked(name); cs != nil {
		fn(cs)
	}
	s.recomputeLocked()
}

func (s *podState) findLocked(name string) *podproto.ContainerStatus {
	for _, list := range [][]podproto.ContainerStatus{s.status.InitContainerStatuses, s.status.ContainerStatuses} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

// containerStatus returns a copy of container name's status, nil if none.
func (s *podState) containerStatus(name string) *podproto.ContainerStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cs := s.findLocked(name); cs != nil {
		c := *cs
		return &c
	}
	return nil
}

// resetProbes forgets the probes' results: the container starts again.
func (s *podState) resetProbes(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.started, name)
	delete(s.ready, name)
	s.recomputeLocked()
}

// setStarted records that container name counts as started in this run
// (its startupProbe succeeded, or it has none).
func (s *podState) setStarted(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.started[name] = true
	s.recomputeLocked()
}

// setReady records container name's readinessProbe result.
func (s *podState) setReady(name string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ready[name] == ok {
		return
	}
	s.ready[name] = ok
	s.recomputeLocked()
}

// setFinal marks container name as one that will not run again.
func (s *podState) setFinal(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.final[name] = true
	s.recomputeLocked()
}

// halted marks the pod Failed for reason (DeadlineExceeded, Evicted); the
// first reason stays.
func (s *podState) halted(reason, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.haltReason == "" {
		s.haltReason, s.haltMessage = reason, message
	}
	s.recomputeLocked()
}

// finalAll records that no container will run again.
func (s *podState) finalAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.ctrs {
		s.final[c.Name] = true
	}
	s.recomputeLocked()
}

// failInit marks the pod Failed by its init container: the app containers
// never start.
func (s *podState) failInit() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.ctrs {
		if !c.Init {
			s.final[c.Name] = true
		}
	}
	s.status.Reason = ""
	s.status.Phase = podproto.PodFailed
	s.recomputeLocked()
}

// markDeleting records that the pod was asked to stop, as the API server
// sets deletionTimestamp: ps shows it Terminating until it is gone.
func (s *podState) markDeleting(grace time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts, _ := json.Marshal(time.Now().UTC().Format(time.RFC3339))
	s.meta["deletionTimestamp"] = ts
	s.meta["deletionGracePeriodSeconds"] = json.RawMessage(strconv.FormatInt(int64(grace/time.Second), 10))
	s.deleting = true
	s.recomputeLocked()
}

func (s *podState) phase() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status.Phase
}

// recomputeLocked derives the phase and conditions from the container
// statuses, as the kubelet's getPhase does.
func (s *podState) recomputeLocked() {
	st := &s.status
	initDone := true
	initFailed := false
	sidecar := map[string]bool{}
	spec := map[string]*podproto.Container{}
	for i, c := range s.ctrs {
		sidecar[c.Name] = c.Sidecar
		spec[c.Name] = &s.ctrs[i]
	}
	// Started and Ready as the kubelet: started once running and its
	// startupProbe (if any) succeeded; ready once started and its
	// readinessProbe (if any) says so.
	probed := func(cs *podproto.ContainerStatus) {
		c := spec[cs.Name]
		running := cs.State.Running != nil
		started := running && (c == nil || c.Startup == nil || s.started[cs.Name])
		cs.Started = ptr(started)
		cs.Ready = started && (c == nil || c.Readiness == nil || s.ready[cs.Name])
	}
	for i := range st.ContainerStatuses {
		probed(&st.ContainerStatuses[i])
	}
	for i := range st.InitContainerStatuses {
		// Only a running sidecar is ready; a done init container is not.
		cs := &st.InitContainerStatuses[i]
		probed(cs)
		cs.Ready = cs.Ready && sidecar[cs.Name]
	}
	for _, cs := range st.InitContainerStatuses {
		t := cs.State.Terminated
		if sidecar[cs.Name] {
			// A sidecar is done initializing once it has started.
			if !*cs.Started && t == nil && cs.LastTerminationState.Terminated == nil {
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
	started, allFinal, allZero, ready := 0, true, true, 0
	for _, cs := range st.ContainerStatuses {
		if cs.Ready {
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
	switch {
	case initFailed:
		st.Phase = podproto.PodFailed
	case !initDone:
		st.Phase = podproto.PodPending
	case allFinal && len(st.ContainerStatuses) > 0 && allZero:
		st.Phase = podproto.PodSucceeded
	case allFinal && len(st.ContainerStatuses) > 0:
		st.Phase = podproto.PodFailed
	case started > 0:
		st.Phase = podproto.PodRunning
	default:
		st.Phase = podproto.PodPending
	}
	if s.haltReason != "" {
		// As the kubelet: Failed at once, whatever the containers do.
		st.Phase = podproto.PodFailed
		st.Reason, st.Message = s.haltReason, s.haltMessage
	}
	allReady := ready == len(st.ContainerStatuses) && ready > 0
	conds := []podproto.PodCondition{
		condition(podproto.PodScheduled, true, st.Conditions),
		condition(podproto.PodInitialized, initDone, st.Conditions),
		condition(podproto.ContainersReady, allReady, st.Conditions),
		condition(podproto.PodReady, allReady, st.Conditions),
	}
	if s.netDown != nil {
		conds = append([]podproto.PodCondition{*s.netDown}, conds...)
	}
	st.Conditions = conds
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
	s.events.record(time.Now(), podproto.EventTypeWarning, podproto.EventNetworkDown, "", "%s", msg)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.netDown = &podproto.PodCondition{Type: podproto.PodReadyToStartContainers, Status: podproto.ConditionFalse,
		LastTransitionTime: time.Now(), Reason: podproto.ReasonNetworkDown, Message: msg}
	s.status.Reason, s.status.Message = podproto.ReasonNetworkDown, msg
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
func condition(t string, ok bool, old []podproto.PodCondition) podproto.PodCondition {
	status := podproto.ConditionFalse
	if ok {
		status = podproto.ConditionTrue
	}
	for _, c := range old {
		if c.Type == t && c.Status == status {
			return c
		}
	}
	return podproto.PodCondition{Type: t, Status: status, LastTransitionTime: time.Now()}
}

func ptr[T any](v T) *T { return &v }

// podFinished reports whether the pod will run nothing more.
func podFinished(phase string) bool {
	return phase == podproto.PodSucceeded || phase == podproto.PodFailed
}

// startErrors lists the containers that could not be started, with why.
func (s *podState) startErrors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, cs := range append(append([]podproto.ContainerStatus(nil), s.status.InitContainerStatuses...), s.status.ContainerStatuses...) {
		for _, st := range []podproto.ContainerState{cs.State, cs.LastTerminationState} {
			if t := st.Terminated; t != nil && t.Reason == podproto.ReasonStartError {
				out = append(out, fmt.Sprintf("container %q could not start: %s", cs.Name, t.Message))
				break
			}
		}
	}
	return out
}

// appsFinal reports whether every app container is done for good.
func (s *podState) appsFinal() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.ctrs {
		if !c.Init && !s.final[c.Name] {
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
	for _, c := range s.ctrs {
		if c.Sidecar && !s.final[c.Name] {
			return false
		}
	}
	return true
}

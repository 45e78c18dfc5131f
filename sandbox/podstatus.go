package sandbox

import (
	"fmt"

	"github.com/podbox/podbox/sandbox/podproto"
	corev1 "k8s.io/api/core/v1"
)

// podStatusWord is the STATUS column of ps and get, computed as kubectl's
// `get pods` does (printPod in kubernetes pkg/printers/internalversion):
// the pod's reason, else its phase; while it initializes, the first init
// container that is not done decides (Init:1/2, Init:CrashLoopBackOff,
// Init:Error); then the last app container with a waiting or terminated
// reason (CrashLoopBackOff, ContainerCreating, Completed, Error); Running
// again if one still runs; Terminating once a stop was asked. Gone and
// Starting are podbox's own reasons for a pod it cannot ask.
func podStatusWord(p *corev1.Pod) string {
	st := p.Status
	reason := string(st.Phase)
	if st.Reason != "" {
		reason = st.Reason
	}
	if st.Reason == reasonGone {
		// Its process died: the container statuses it saved are no
		// longer true (kubectl likewise shows Unknown for NodeLost).
		return reasonGone
	}
	if st.Reason == podproto.ReasonDeadlineExceeded || st.Reason == podproto.ReasonEvicted {
		// activeDeadlineSeconds ended it, or an emptyDir's sizeLimit
		// evicted it: that is the story, not how its killed containers
		// ended (kubectl get shows DeadlineExceeded, Evicted for such a
		// pod on a cluster).
		return st.Reason
	}
	initializing := false
	for i, cs := range st.InitContainerStatuses {
		if i < len(p.Spec.InitContainers) && isSidecar(&p.Spec.InitContainers[i]) && cs.Started != nil && *cs.Started {
			continue // a sidecar that runs does not hold initialization up
		}
		switch t, w := cs.State.Terminated, cs.State.Waiting; {
		case t != nil && t.ExitCode == 0:
			continue
		case t != nil:
			switch {
			case t.Reason != "":
				reason = "Init:" + t.Reason
			case t.Signal != 0:
				reason = fmt.Sprintf("Init:Signal:%d", t.Signal)
			default:
				reason = fmt.Sprintf("Init:ExitCode:%d", t.ExitCode)
			}
		case w != nil && w.Reason != "" && w.Reason != reasonPodInitializing:
			reason = "Init:" + w.Reason
		default:
			reason = fmt.Sprintf("Init:%d/%d", i, len(p.Spec.InitContainers))
		}
		initializing = true
		break
	}
	if !initializing || podConditionTrue(st, corev1.PodInitialized) {
		hasRunning := false
		for i := len(st.ContainerStatuses) - 1; i >= 0; i-- {
			cs := st.ContainerStatuses[i]
			switch t, w := cs.State.Terminated, cs.State.Waiting; {
			case w != nil && w.Reason != "":
				reason = w.Reason
			case t != nil && t.Reason != "":
				reason = t.Reason
			case t != nil && t.Signal != 0:
				reason = fmt.Sprintf("Signal:%d", t.Signal)
			case t != nil:
				reason = fmt.Sprintf("ExitCode:%d", t.ExitCode)
			case cs.Ready && cs.State.Running != nil:
				hasRunning = true
			}
		}
		if reason == reasonCompleted && hasRunning {
			reason = "NotReady"
			if podConditionTrue(st, corev1.PodReady) {
				reason = string(corev1.PodRunning)
			}
		}
	}
	if p.DeletionTimestamp != nil && !podFinished(st.Phase) && st.Reason == "" {
		reason = "Terminating"
	}
	return reason
}

func podConditionTrue(st corev1.PodStatus, t corev1.PodConditionType) bool {
	for _, c := range st.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

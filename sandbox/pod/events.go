package pod

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/podbox/podbox/sandbox/podproto"
)

// maxEvents bounds the events a pod keeps; the oldest go first.
const maxEvents = 200

// eventLog is the pod's events as its PID 1 records them: v1.Events (in
// JSON) about the pod or one of its containers. An event equal to an
// earlier one (same type, reason, object and message) is counted on it, as
// the kubelet's event aggregation does, so a crash loop is one BackOff line
// "x5 over 2m".
type eventLog struct {
	mu    sync.Mutex
	ref   podproto.ObjectReference
	items []podproto.Event
	seq   int
	rev   int // counts changes, for the saver
}

func newEventLog(w *podproto.Work) *eventLog {
	return &eventLog{ref: podproto.ObjectReference{
		Kind: "Pod", APIVersion: "v1", Namespace: w.Namespace, Name: w.Name, UID: w.UID,
	}}
}

// record adds an event at time at about the container at fieldPath ("" for
// the pod itself: see fieldPath).
func (l *eventLog) record(at time.Time, typ, reason, fieldPath, format string, args ...any) {
	if l == nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rev++
	for i := range l.items {
		e := &l.items[i]
		if e.Type == typ && e.Reason == reason && e.InvolvedObject.FieldPath == fieldPath && e.Message == msg {
			e.Count++
			e.LastTimestamp = at
			// Keep them in the order of their last occurrence.
			ev := *e
			l.items = append(append(l.items[:i:i], l.items[i+1:]...), ev)
			return
		}
	}
	l.seq++
	ref := l.ref
	ref.FieldPath = fieldPath
	l.items = append(l.items, podproto.Event{
		APIVersion: "v1",
		Kind:       "Event",
		Metadata: podproto.EventMeta{
			Name:              l.ref.Name + "." + strconv.FormatInt(at.UnixNano(), 16) + strconv.Itoa(l.seq),
			Namespace:         l.ref.Namespace,
			CreationTimestamp: at,
		},
		InvolvedObject:      ref,
		Reason:              reason,
		Message:             msg,
		Source:              podproto.EventSourceRef{Component: podproto.EventSource},
		FirstTimestamp:      at,
		LastTimestamp:       at,
		Count:               1,
		Type:                typ,
		ReportingController: podproto.EventSource,
	})
	if len(l.items) > maxEvents {
		l.items = append([]podproto.Event(nil), l.items[len(l.items)-maxEvents:]...)
	}
}

// list returns a copy of the events, oldest first.
func (l *eventLog) list() []podproto.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]podproto.Event(nil), l.items...)
}

func (l *eventLog) revision() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rev
}

// fieldPath names a container in an event, as the kubelet does:
// spec.containers{NAME} or spec.initContainers{NAME}.
func fieldPath(c *podproto.Container) string {
	if c.Init {
		return "spec.initContainers{" + c.Name + "}"
	}
	return "spec.containers{" + c.Name + "}"
}

// recordPull records the Pulling and Pulled events of container c from how
// `up` got its image.
func (l *eventLog) recordPull(c *podproto.Container) {
	if pr := c.Pull; pr != nil {
		l.record(pr.Start, podproto.EventTypeNormal, podproto.EventPulling, fieldPath(c), "Pulling image %q", c.Image)
		l.record(pr.End, podproto.EventTypeNormal, podproto.EventPulled, fieldPath(c), "Successfully pulled image %q in %s", c.Image, pr.End.Sub(pr.Start).Round(time.Millisecond))
		return
	}
	l.record(time.Now(), podproto.EventTypeNormal, podproto.EventPulled, fieldPath(c), "Container image %q already present on machine", c.Image)
}

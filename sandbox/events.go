package sandbox

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/podbox/podbox/image"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Event reasons, the kubelet's words.
const (
	eventScheduled = "Scheduled"
	eventPulling   = "Pulling"
	eventPulled    = "Pulled"
	eventCreated   = "Created"
	eventStarted   = "Started"
	eventKilling   = "Killing"
	eventBackOff   = "BackOff"
	eventFailed    = "Failed"
	eventCompleted = "Completed"
	// eventNetworkDown (Warning): slirp4netns exited while the pod runs.
	eventNetworkDown = "NetworkDown"
)

// eventSource is the From column of describe.
const eventSource = "podbox"

// maxEvents bounds the events a pod keeps; the oldest go first.
const maxEvents = 200

// eventLog is the pod's events as its PID 1 records them: v1.Events about
// the pod or one of its containers. An event equal to an earlier one (same
// type, reason, object and message) is counted on it, as the kubelet's
// event aggregation does, so a crash loop is one BackOff line "x5 over 2m".
type eventLog struct {
	mu    sync.Mutex
	ref   corev1.ObjectReference
	items []corev1.Event
	seq   int
	rev   int // counts changes, for the saver
}

func newEventLog(pod *corev1.Pod) *eventLog {
	return &eventLog{ref: corev1.ObjectReference{
		Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID,
	}}
}

// record adds an event at time at about the container at fieldPath ("" for
// the pod itself: see fieldPath).
func (l *eventLog) record(at time.Time, typ, reason, fieldPath, format string, args ...any) {
	if l == nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	t := metav1.NewTime(at)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rev++
	for i := range l.items {
		e := &l.items[i]
		if e.Type == typ && e.Reason == reason && e.InvolvedObject.FieldPath == fieldPath && e.Message == msg {
			e.Count++
			e.LastTimestamp = t
			// Keep them in the order of their last occurrence.
			ev := *e
			l.items = append(append(l.items[:i:i], l.items[i+1:]...), ev)
			return
		}
	}
	l.seq++
	ref := l.ref
	ref.FieldPath = fieldPath
	l.items = append(l.items, corev1.Event{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Event"},
		ObjectMeta: metav1.ObjectMeta{
			Name:              l.ref.Name + "." + strconv.FormatInt(at.UnixNano(), 16) + strconv.Itoa(l.seq),
			Namespace:         l.ref.Namespace,
			CreationTimestamp: t,
		},
		InvolvedObject:      ref,
		Reason:              reason,
		Message:             msg,
		Source:              corev1.EventSource{Component: eventSource},
		FirstTimestamp:      t,
		LastTimestamp:       t,
		Count:               1,
		Type:                typ,
		ReportingController: eventSource,
	})
	if len(l.items) > maxEvents {
		l.items = append([]corev1.Event(nil), l.items[len(l.items)-maxEvents:]...)
	}
}

// list returns a copy of the events, oldest first.
func (l *eventLog) list() []corev1.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]corev1.Event(nil), l.items...)
}

func (l *eventLog) revision() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rev
}

// fieldPath names a container in an event, as the kubelet does:
// spec.containers{NAME} or spec.initContainers{NAME}.
func fieldPath(c *container) string {
	if c.init {
		return "spec.initContainers{" + c.spec.Name + "}"
	}
	return "spec.containers{" + c.spec.Name + "}"
}

// pullRecord says how `up` got a container's image, for its Pulling and
// Pulled events; nil in imageInfo means it was present already.
type pullRecord struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// imageRef is the Image ID the status shows, as containerd's kubelet does:
// the repository at the manifest digest (docker.io/library/busybox@sha256:…),
// else the image ID.
func imageRef(img *image.Image) string {
	if img.Digest != "" && len(img.Names) > 0 {
		repo := img.Names[0]
		if i := strings.LastIndexByte(repo, '@'); i >= 0 {
			repo = repo[:i]
		} else if i := strings.LastIndexByte(repo, ':'); i > strings.LastIndexByte(repo, '/') {
			repo = repo[:i]
		}
		return repo + "@" + img.Digest
	}
	return "sha256:" + img.ID
}

// recordPull records the Pulling and Pulled events of container c from how
// `up` got its image.
func (l *eventLog) recordPull(c *container, info imageInfo) {
	ref := c.spec.Image
	if pr := info.Pull; pr != nil {
		l.record(pr.Start, corev1.EventTypeNormal, eventPulling, fieldPath(c), "Pulling image %q", ref)
		l.record(pr.End, corev1.EventTypeNormal, eventPulled, fieldPath(c), "Successfully pulled image %q in %s", ref, pr.End.Sub(pr.Start).Round(time.Millisecond))
		return
	}
	l.record(time.Now(), corev1.EventTypeNormal, eventPulled, fieldPath(c), "Container image %q already present on machine", ref)
}

func (p *podProc) podEvents() []corev1.Event { return p.state.events.list() }

// ensureImage gets container c's image per its imagePullPolicy and says
// whether it was pulled, and when, for the pod's events.
func ensureImage(ctx context.Context, store *image.Store, c *corev1.Container, o image.PullOptions) (imageInfo, error) {
	_, lookErr := store.Lookup(c.Image)
	start := time.Now()
	img, err := store.Ensure(ctx, c.Image, o)
	if err != nil {
		return imageInfo{}, err
	}
	info := imageInfo{ID: img.ID, Config: img.Config, Ref: imageRef(img)}
	if lookErr != nil || o.Policy == corev1.PullAlways || (o.Policy == "" && image.DefaultPullPolicy(c.Image) == corev1.PullAlways) {
		info.Pull = &pullRecord{Start: start, End: time.Now()}
	}
	return info, nil
}

// revision changes whenever the pod's status or events change.
func (p *podProc) revision() int { return p.state.revision() + p.state.events.revision() }

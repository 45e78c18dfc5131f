package pod

import (
	"testing"
	"time"

	"github.com/podbox/podbox/sandbox/podproto"
)

func TestEventsAggregate(t *testing.T) {
	w := testWork(podproto.RestartAlways, 0, 1)
	l := newEventLog(w)
	c := &w.Containers[0]
	t0 := time.Now().Add(-time.Minute)
	l.record(t0, podproto.EventTypeNormal, podproto.EventStartedCtr, fieldPath(c), "Started container %s", "appa")
	for i := 0; i < 3; i++ {
		l.record(t0.Add(time.Duration(i)*10*time.Second), podproto.EventTypeWarning, podproto.EventBackOff, fieldPath(c), "Back-off restarting failed container appa")
	}
	l.record(t0.Add(25*time.Second), podproto.EventTypeNormal, podproto.EventStartedCtr, fieldPath(c), "Started container %s", "appa")
	evs := l.list()
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2: %+v", len(evs), evs)
	}
	b := evs[0]
	if b.Reason != podproto.EventBackOff || b.Count != 3 || !b.FirstTimestamp.Equal(t0) || !b.LastTimestamp.Equal(t0.Add(20*time.Second)) {
		t.Errorf("backoff event: %+v", b)
	}
	if b.InvolvedObject.FieldPath != "spec.containers{appa}" || b.InvolvedObject.Kind != "Pod" || b.InvolvedObject.UID != "u1" {
		t.Errorf("involved object: %+v", b.InvolvedObject)
	}
	if evs[1].Reason != podproto.EventStartedCtr || evs[1].Count != 2 {
		t.Errorf("started event: %+v", evs[1])
	}
	for i := 0; i < maxEvents+10; i++ {
		l.record(time.Now(), podproto.EventTypeNormal, podproto.EventCreated, "", "event %d", i)
	}
	if n := len(l.list()); n != maxEvents {
		t.Errorf("%d events kept, want %d", n, maxEvents)
	}
}

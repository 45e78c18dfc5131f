package sandbox

import (
	"testing"
	"time"

	"github.com/podbox/podbox/sandbox/podproto"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestContainerHooks(t *testing.T) {
	sig := corev1.Signal("SIGQUIT")
	grace := int64(5)
	c := &corev1.Container{
		Name:  "web",
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
		LivenessProbe: &corev1.Probe{
			ProbeHandler:                  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("http")}},
			TerminationGracePeriodSeconds: &grace,
		},
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(81)}},
			PeriodSeconds: 1, FailureThreshold: 1},
		Lifecycle: &corev1.Lifecycle{
			PreStop:    &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 3}},
			StopSignal: &sig,
		},
	}
	var pc podproto.Container
	if err := containerHooks(&pc, c, nil); err != nil {
		t.Fatal(err)
	}
	l := pc.Liveness
	if l == nil || l.HTTPGet == nil || l.HTTPGet.Port != 8080 || l.HTTPGet.Path != "/" || l.HTTPGet.Scheme != "HTTP" {
		t.Fatalf("liveness %+v: want httpGet HTTP :8080 /", l)
	}
	if l.Period != 10*time.Second || l.Timeout != time.Second || l.SuccessThreshold != 1 || l.FailureThreshold != 3 || l.Grace == nil || *l.Grace != 5*time.Second {
		t.Errorf("liveness defaults %+v", l)
	}
	if r := pc.Readiness; r.TCPSocket.Port != 81 || r.Period != time.Second || r.FailureThreshold != 1 {
		t.Errorf("readiness %+v", r)
	}
	if pc.PreStop == nil || pc.PreStop.Sleep != 3*time.Second || pc.StopSignal != 3 {
		t.Errorf("preStop %+v, stop signal %d", pc.PreStop, pc.StopSignal)
	}
	c.LivenessProbe.HTTPGet.Port = intstr.FromString("metrics")
	if err := containerHooks(&pc, c, nil); err == nil {
		t.Error("a named port the container lacks: no error")
	}
}

func TestSignalNumber(t *testing.T) {
	for s, want := range map[string]int{"SIGTERM": 15, "QUIT": 3, "9": 9, "SIGRTMIN+1": 35, "SIGRTMAX-1": 63, "SIGNOPE": 0} {
		if got := signalNumber(s); got != want {
			t.Errorf("%s: %d, want %d", s, got, want)
		}
	}
}

func TestDescribeProbe(t *testing.T) {
	p := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/index.html", Port: intstr.FromString("http")}},
		PeriodSeconds: 1, FailureThreshold: 2}
	if got, want := describeProbe(p), "http-get http://:http/index.html delay=0s timeout=1s period=1s #success=1 #failure=2"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	p = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"cat", "/tmp/healthy"}}}, InitialDelaySeconds: 5}
	if got, want := describeProbe(p), "exec [cat /tmp/healthy] delay=5s timeout=1s period=10s #success=1 #failure=3"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

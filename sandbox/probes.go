package sandbox

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/podbox/podbox/sandbox/podproto"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Probes and lifecycle hooks, the CLI's half: each corev1.Probe and
// LifecycleHandler becomes a podproto.Probe or Action with the API
// server's defaults filled (period 10 s, timeout 1 s, thresholds 1 and 3,
// path "/", scheme HTTP) and named ports resolved against the container's
// ports, so that the pod's PID 1 needs no Kubernetes type. A named port
// the container does not declare is refused at `up`: the kubelet would
// only fail the probe forever.

// containerHooks fills pc's probes, hooks and stop signal from c and its
// image's config.
func containerHooks(pc *podproto.Container, c *corev1.Container, cfg *imgspecv1.Image) error {
	var err error
	if pc.Liveness, err = convertProbe(c, "livenessProbe", c.LivenessProbe); err != nil {
		return err
	}
	if pc.Readiness, err = convertProbe(c, "readinessProbe", c.ReadinessProbe); err != nil {
		return err
	}
	if pc.Startup, err = convertProbe(c, "startupProbe", c.StartupProbe); err != nil {
		return err
	}
	if l := c.Lifecycle; l != nil {
		if pc.PostStart, err = convertHandler(c, "lifecycle.postStart", l.PostStart); err != nil {
			return err
		}
		if pc.PreStop, err = convertHandler(c, "lifecycle.preStop", l.PreStop); err != nil {
			return err
		}
	}
	pc.StopSignal, err = stopSignal(c, cfg)
	return err
}

func convertProbe(c *corev1.Container, field string, p *corev1.Probe) (*podproto.Probe, error) {
	if p == nil {
		return nil, nil
	}
	a, err := convertAction(c, field, p.Exec, p.HTTPGet, p.TCPSocket, p.GRPC)
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, fmt.Errorf("container %q: %s has no handler (exec, httpGet, tcpSocket or grpc)", c.Name, field)
	}
	orDefault := func(v, d int32) int {
		if v <= 0 {
			return int(d)
		}
		return int(v)
	}
	out := &podproto.Probe{
		Action:           *a,
		InitialDelay:     time.Duration(max(p.InitialDelaySeconds, 0)) * time.Second,
		Period:           time.Duration(orDefault(p.PeriodSeconds, 10)) * time.Second,
		Timeout:          time.Duration(orDefault(p.TimeoutSeconds, 1)) * time.Second,
		SuccessThreshold: orDefault(p.SuccessThreshold, 1),
		FailureThreshold: orDefault(p.FailureThreshold, 3),
	}
	if g := p.TerminationGracePeriodSeconds; g != nil {
		d := time.Duration(max(*g, 0)) * time.Second
		out.Grace = &d
	}
	return out, nil
}

func convertHandler(c *corev1.Container, field string, h *corev1.LifecycleHandler) (*podproto.Action, error) {
	if h == nil {
		return nil, nil
	}
	if h.Sleep != nil {
		return &podproto.Action{Sleep: time.Duration(max(h.Sleep.Seconds, 0)) * time.Second}, nil
	}
	a, err := convertAction(c, field, h.Exec, h.HTTPGet, h.TCPSocket, nil)
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, fmt.Errorf("container %q: %s has no handler (exec, httpGet or sleep)", c.Name, field)
	}
	return a, nil
}

func convertAction(c *corev1.Container, field string, ex *corev1.ExecAction, hg *corev1.HTTPGetAction, ts *corev1.TCPSocketAction, g *corev1.GRPCAction) (*podproto.Action, error) {
	switch {
	case ex != nil:
		if len(ex.Command) == 0 {
			return nil, fmt.Errorf("container %q: %s.exec.command is empty", c.Name, field)
		}
		return &podproto.Action{Exec: ex.Command}, nil
	case hg != nil:
		port, err := resolvePort(c, field+".httpGet.port", hg.Port)
		if err != nil {
			return nil, err
		}
		scheme := strings.ToUpper(string(hg.Scheme))
		if scheme == "" {
			scheme = "HTTP"
		}
		if scheme != "HTTP" && scheme != "HTTPS" {
			return nil, fmt.Errorf("container %q: %s.httpGet.scheme %q: use HTTP or HTTPS", c.Name, field, hg.Scheme)
		}
		path := hg.Path
		if path == "" {
			path = "/"
		} else if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		h := &podproto.HTTPGet{Scheme: scheme, Host: hg.Host, Port: port, Path: path}
		for _, hh := range hg.HTTPHeaders {
			h.Headers = append(h.Headers, podproto.Header{Name: hh.Name, Value: hh.Value})
		}
		return &podproto.Action{HTTPGet: h}, nil
	case ts != nil:
		port, err := resolvePort(c, field+".tcpSocket.port", ts.Port)
		if err != nil {
			return nil, err
		}
		return &podproto.Action{TCPSocket: &podproto.TCPSocket{Host: ts.Host, Port: port}}, nil
	case g != nil:
		if g.Port <= 0 || g.Port > 65535 {
			return nil, fmt.Errorf("container %q: %s.grpc.port %d is not a port", c.Name, field, g.Port)
		}
		a := &podproto.Action{GRPC: &podproto.GRPC{Port: int(g.Port)}}
		if g.Service != nil {
			a.GRPC.Service = *g.Service
		}
		return a, nil
	}
	return nil, nil
}

// resolvePort finds a probe's port: a number, or the name of one of the
// container's ports, as the kubelet resolves it.
func resolvePort(c *corev1.Container, field string, p intstr.IntOrString) (int, error) {
	if p.Type == intstr.Int {
		if p.IntVal <= 0 || p.IntVal > 65535 {
			return 0, fmt.Errorf("container %q: %s %d is not a port", c.Name, field, p.IntVal)
		}
		return int(p.IntVal), nil
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil && n > 0 && n <= 65535 {
		return n, nil
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("container %q: %s %q names no port of the container: add it to ports, or give the number", c.Name, field, p.StrVal)
}

// stopSignal is the signal that stops c: lifecycle.stopSignal, else the
// image's STOPSIGNAL, else SIGTERM (0), as containerd under the kubelet.
func stopSignal(c *corev1.Container, cfg *imgspecv1.Image) (int, error) {
	if l := c.Lifecycle; l != nil && l.StopSignal != nil {
		s := signalNumber(string(*l.StopSignal))
		if s == 0 {
			return 0, fmt.Errorf("container %q: lifecycle.stopSignal %q is not a signal (e.g. SIGTERM, SIGQUIT, SIGRTMIN+1)", c.Name, *l.StopSignal)
		}
		return s, nil
	}
	if cfg != nil && cfg.Config.StopSignal != "" {
		return signalNumber(cfg.Config.StopSignal), nil // unknown: SIGTERM
	}
	return 0, nil
}

// signalNumber reads "SIGQUIT", "QUIT", "3" or "SIGRTMIN+1"; 0 if none.
func signalNumber(s string) int {
	s = strings.ToUpper(strings.TrimSpace(s))
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return n
	}
	if !strings.HasPrefix(s, "SIG") {
		s = "SIG" + s
	}
	if rest, ok := strings.CutPrefix(s, "SIGRTMIN+"); ok {
		if n, err := strconv.Atoi(rest); err == nil && n >= 0 && 34+n <= 64 {
			return 34 + n
		}
		return 0
	}
	if rest, ok := strings.CutPrefix(s, "SIGRTMAX-"); ok {
		if n, err := strconv.Atoi(rest); err == nil && n >= 0 && 64-n >= 34 {
			return 64 - n
		}
		return 0
	}
	return int(unix.SignalNum(s))
}

// describeProbe says a probe as kubectl describe does, with the API
// server's defaults: "http-get http://:http/ delay=0s timeout=1s period=10s
// #success=1 #failure=3".
func describeProbe(p *corev1.Probe) string {
	var what string
	switch h := p.ProbeHandler; {
	case h.Exec != nil:
		what = fmt.Sprintf("exec %v", h.Exec.Command)
	case h.HTTPGet != nil:
		scheme := strings.ToLower(string(h.HTTPGet.Scheme))
		if scheme == "" {
			scheme = "http"
		}
		path := h.HTTPGet.Path
		if path == "" {
			path = "/"
		}
		what = fmt.Sprintf("http-get %s://%s:%s%s", scheme, h.HTTPGet.Host, h.HTTPGet.Port.String(), path)
	case h.TCPSocket != nil:
		what = fmt.Sprintf("tcp-socket %s:%s", h.TCPSocket.Host, h.TCPSocket.Port.String())
	case h.GRPC != nil:
		service := "<nil>"
		if h.GRPC.Service != nil {
			service = *h.GRPC.Service
		}
		what = fmt.Sprintf("grpc <pod>:%d %s", h.GRPC.Port, service)
	default:
		what = "unknown"
	}
	or := func(v, d int32) int32 {
		if v <= 0 {
			return d
		}
		return v
	}
	return fmt.Sprintf("%s delay=%ds timeout=%ds period=%ds #success=%d #failure=%d", what, max(p.InitialDelaySeconds, 0),
		or(p.TimeoutSeconds, 1), or(p.PeriodSeconds, 10), or(p.SuccessThreshold, 1), or(p.FailureThreshold, 3))
}

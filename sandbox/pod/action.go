package pod

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/podbox/podbox/sandbox/ociruntime"
	"github.com/podbox/podbox/sandbox/podproto"
	"golang.org/x/sys/unix"
)

// Actions of probes and lifecycle hooks. Network ones are made from here:
// this process is in the pod's network namespace, so nothing is needed in
// the image (no curl, no wget), and a host of "" is the pod's IP, as the
// kubelet dials it. HTTP is a minimal HTTP/1.1 GET on a net.Conn (no
// net/http in the pod's process): one request, Connection: close, the
// status line read and the rest discarded. A redirect (3xx) counts as a
// success without being followed: the kubelet follows it, but a redirect
// elsewhere is a success there too. HTTPS and gRPC are not made here: no
// crypto/tls nor HTTP/2 in the pod's process; a short-lived podbox in the
// probe role makes them (Work.ProbeHelper, sandbox/probehelper.go), also
// from inside the pod's namespaces.

// podIP is the pod's address in its network namespace (slirp4netns's tap0).
const podIP = "10.0.2.100"

// maxProbeOutput bounds what a probe's output keeps, as the kubelet (10 KiB).
const maxProbeOutput = 10 << 10

// probeUserAgent is what the kubelet sends.
const probeUserAgent = "kube-probe/1.33"

var errNotSupported = errors.New("not supported")

// act makes action a once within timeout and says whether it succeeded,
// with its output (or why not) for the events.
func (c *container) act(ctx context.Context, a *podproto.Action, timeout time.Duration) (bool, string) {
	switch {
	case len(a.Exec) > 0:
		code, out, err := c.execCapture(ctx, a.Exec, timeout)
		if err != nil {
			return false, err.Error()
		}
		if code != 0 && len(out) == 0 {
			return false, fmt.Sprintf("command %q exited with %d", strings.Join(a.Exec, " "), code)
		}
		return code == 0, strings.TrimRight(string(out), "\n")
	case a.HTTPGet != nil:
		code, err := c.p.httpGet(ctx, a.HTTPGet, timeout)
		if err != nil {
			return false, err.Error()
		}
		if code >= 200 && code < 400 {
			return true, ""
		}
		return false, fmt.Sprintf("HTTP probe failed with statuscode: %d", code)
	case a.TCPSocket != nil:
		d := net.Dialer{Timeout: timeout}
		conn, err := d.DialContext(ctx, "tcp", hostPort(a.TCPSocket.Host, a.TCPSocket.Port))
		if err != nil {
			return false, err.Error()
		}
		conn.Close()
		return true, ""
	case a.GRPC != nil:
		return c.p.grpcCheck(ctx, a.GRPC, timeout)
	}
	return false, "no action"
}

func hostPort(host string, port int) string {
	if host == "" {
		host = podIP
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// httpGet makes a GET as the kubelet's prober does and returns the status
// code; HTTPS through the probe helper.
func (p *podProc) httpGet(ctx context.Context, h *podproto.HTTPGet, timeout time.Duration) (int, error) {
	if h.Scheme == "HTTPS" {
		code, out, err := p.probeHelper(ctx, podproto.ProbeJob{HTTPGet: h, Host: podIP, Timeout: timeout})
		if err != nil {
			return 0, err
		}
		if code != podproto.ProbeOK {
			return 0, errors.New(out)
		}
		n, err := strconv.Atoi(out)
		if err != nil {
			return 0, fmt.Errorf("the probe helper said %q", out)
		}
		return n, nil
	}
	return httpGet(ctx, h, timeout)
}

// httpGet makes a plain HTTP GET.
func httpGet(ctx context.Context, h *podproto.HTTPGet, timeout time.Duration) (int, error) {
	addr := hostPort(h.Host, h.Port)
	url := strings.ToLower(h.Scheme) + "://" + addr + h.Path
	wrap := func(err error) error { return fmt.Errorf("Get %q: %w", url, err) }
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, wrap(err)
	}
	defer conn.Close()
	deadline := time.Now().Add(timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\n", h.Path)
	host, ua, accept := addr, probeUserAgent, "*/*"
	var extra []podproto.Header
	for _, hd := range h.Headers {
		switch strings.ToLower(hd.Name) {
		case "host":
			host = hd.Value
		case "user-agent":
			ua = hd.Value
		case "accept":
			accept = hd.Value
		case "connection", "content-length", "transfer-encoding":
		default:
			extra = append(extra, hd)
		}
	}
	fmt.Fprintf(&b, "Host: %s\r\n", host)
	if ua != "" {
		fmt.Fprintf(&b, "User-Agent: %s\r\n", ua)
	}
	if accept != "" {
		fmt.Fprintf(&b, "Accept: %s\r\n", accept)
	}
	for _, hd := range extra {
		fmt.Fprintf(&b, "%s: %s\r\n", hd.Name, hd.Value)
	}
	b.WriteString("Connection: close\r\n\r\n")
	if _, err := conn.Write(b.Bytes()); err != nil {
		return 0, wrap(err)
	}
	line, err := bufio.NewReaderSize(conn, 1024).ReadString('\n')
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, wrap(fmt.Errorf("no answer within %s", timeout))
		}
		return 0, wrap(err)
	}
	return parseStatusLine(line)
}

// parseStatusLine reads "HTTP/1.1 200 OK".
func parseStatusLine(line string) (int, error) {
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") {
		return 0, fmt.Errorf("malformed HTTP status line %q", strings.TrimSpace(line))
	}
	code, err := strconv.Atoi(f[1])
	if err != nil || code < 100 || code > 999 {
		return 0, fmt.Errorf("malformed HTTP status code %q", f[1])
	}
	return code, nil
}

// grpcCheck calls grpc.health.v1.Health/Check through the probe helper.
func (p *podProc) grpcCheck(ctx context.Context, g *podproto.GRPC, timeout time.Duration) (bool, string) {
	code, out, err := p.probeHelper(ctx, podproto.ProbeJob{GRPC: g, Host: podIP, Timeout: timeout})
	if err != nil {
		return false, err.Error()
	}
	return code == podproto.ProbeOK, out
}

// probeHelper runs the probe helper (Work.ProbeHelper) for job and returns
// its exit code and its answer.
func (p *podProc) probeHelper(ctx context.Context, job podproto.ProbeJob) (int, string, error) {
	if len(p.w.ProbeHelper) == 0 {
		return 0, "", fmt.Errorf("HTTPS and gRPC probes are %w here: podbox's path was unknown at up", errNotSupported)
	}
	b, err := json.Marshal(job)
	if err != nil {
		return 0, "", err
	}
	// Its own start-up is not the probe's time.
	ctx, cancel := context.WithTimeout(ctx, job.Timeout+5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.w.ProbeHelper[0], p.w.ProbeHelper[1:]...)
	cmd.Env = append(append([]string(nil), p.w.ProbeHelperEnv...), podproto.EnvProbeJob+"="+string(b))
	var out bytes.Buffer
	cmd.Stdout = &limitedBuffer{b: &out, n: maxProbeOutput}
	cmd.Stderr = os.Stderr // the pod's log
	cmd.Dir = "/"
	cmd.SysProcAttr = &unix.SysProcAttr{Pdeathsig: unix.SIGKILL}
	err = p.reaper.run(cmd)
	var ee *runtimeExitError
	switch {
	case err == nil:
		return podproto.ProbeOK, out.String(), nil
	case errors.As(err, &ee) && ee.ws.Exited():
		return ee.ws.ExitStatus(), out.String(), nil
	}
	return 0, "", fmt.Errorf("running the probe helper: %w", err)
}

// execCapture runs argv in the container through the runtime's exec, as
// `podbox exec` does, and returns its exit code and its output (stdout and
// stderr, the first maxProbeOutput bytes). At timeout the process is
// killed and the error says so.
func (c *container) execCapture(ctx context.Context, argv []string, timeout time.Duration) (int, []byte, error) {
	p := c.p
	what := fmt.Sprintf("command %q", strings.Join(argv, " "))
	procFile, err := c.execProcess(podproto.ExecRequest{Command: argv})
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w", what, err)
	}
	base := strings.TrimSuffix(procFile, ".json")
	defer os.Remove(procFile)
	o := ociruntime.ExecOptions{ProcessFile: procFile, PidFile: base + ".pid", Log: base + ".log"}
	defer os.Remove(o.PidFile)
	defer os.Remove(o.Log)
	r, w, err := os.Pipe()
	if err != nil {
		return 0, nil, err
	}
	defer r.Close()
	o.Stdout, o.Stderr = w, w
	var out bytes.Buffer
	read := make(chan struct{})
	go func() {
		defer close(read)
		_, _ = io.Copy(&limitedBuffer{b: &out, n: maxProbeOutput}, r)
	}()
	ectx, cancel := context.WithTimeout(ctx, timeout+5*time.Second) // the runtime itself
	pid, err := p.rt.Exec(ectx, c.spec.ID, o)
	cancel()
	w.Close()
	if err != nil {
		_ = r.SetReadDeadline(time.Now())
		<-read
		return 0, nil, fmt.Errorf("%s: %w", what, err)
	}
	exited := p.reaper.register(pid)
	t := time.NewTimer(timeout)
	defer t.Stop()
	var ws unix.WaitStatus
	timedOut := false
	select {
	case ws = <-exited:
	case <-t.C:
		timedOut = true
	case <-ctx.Done():
		timedOut = true
	}
	if timedOut {
		_ = unix.Kill(pid, unix.SIGKILL)
		ws = <-exited
	}
	// A child it left may hold the pipe: do not wait for it long.
	_ = r.SetReadDeadline(time.Now().Add(time.Second))
	<-read
	if timedOut {
		if ctx.Err() != nil {
			return 0, out.Bytes(), fmt.Errorf("%s: %w", what, ctx.Err())
		}
		return 0, out.Bytes(), fmt.Errorf("%s timed out after %s", what, timeout)
	}
	return exitCode(ws), out.Bytes(), nil
}

// limitedBuffer keeps the first n bytes written and discards the rest.
type limitedBuffer struct {
	b *bytes.Buffer
	n int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.n - l.b.Len(); room > 0 {
		l.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/podbox/podbox/sandbox/ociruntime"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// port-forward: `podbox port-forward POD [LOCAL:]REMOTE…`, kubectl's
// command (its flag --address, its lines "Forwarding from 127.0.0.1:8080
// -> 80" and "Handling connection for 8080").
//
//	CLI (host)                          pod's PID 1 (sandbox/pod/tools.go)
//	listens on 127.0.0.1:LOCAL (and [::1]:LOCAL)
//	accepts a connection
//	POST /portforward?port=REMOTE   →   connects to 127.0.0.1:REMOTE in the pod
//	                                ←   the connected socket, by SCM_RIGHTS
//	copies both ways between the two sockets (splice)
//
// Decisions:
//
//   - The pod's PID 1 connects and hands the socket over; the CLI copies.
//     So PID 1 (which lives as long as the pod, and whose every page is
//     paid per pod) does no per-byte work and keeps no state per
//     connection, and a forward that ends or is killed leaves nothing in
//     the pod. Entering the pod's network namespace from the CLI instead
//     (setns) would need a process in the pod's user namespace, which owns
//     it: the CLI runs in the host's, and a second podbox user namespace
//     is not the pod's. Go copies TCP to TCP with splice(2), so the bytes
//     do not even cross into user space. Measured (tests/540's pod, a
//     shared 2-core VM): 200 MiB from busybox httpd in 1.1-1.8 s, PID 1's
//     RSS 5.4 MB after.
//   - Any port of the pod can be forwarded, with a hostPort or without:
//     the connection is made to the pod's loopback, as the kubelet's
//     runtimes do (127.0.0.1, then ::1), so a server listening on the
//     pod's 127.0.0.1 only is reached too.
//   - --address defaults to localhost, as kubectl: 127.0.0.1 and ::1,
//     failing only if neither can be bound; an IP given explicitly must
//     be bound. LOCAL 0 or empty (":80") takes a free port, the same on
//     every address. REMOTE may be a containerPort's name.
//   - A connection the pod refuses is an error line for that connection
//     (kubectl's "an error occurred forwarding 8080 -> 80: …"); the
//     forward keeps listening.
//   - It ends with Ctrl-C or SIGTERM (exit 0, as kubectl's Ctrl-C) or when
//     the pod's PID 1 exits, watched through a pidfd ("lost connection to
//     pod", exit 1, as kubectl says when its pod goes away).

// ErrLostPod reports a port-forward whose pod went away.
var ErrLostPod = errors.New("lost connection to pod")

// PortForwardOptions say which pod's ports to forward, from where.
type PortForwardOptions struct {
	Pod       string   // required
	Ports     []string // required: [LOCAL:]REMOTE, REMOTE a number or a containerPort's name
	Addresses []string // IPs or "localhost"; nil: localhost
	Out       io.Writer
	Err       io.Writer // per-connection errors
}

// forward is one LOCAL → REMOTE of a port-forward.
type forward struct {
	local, remote int
}

// parsePortSpec splits [LOCAL:]REMOTE as kubectl does: "8080:80",
// "80" (the same local port), ":80" and "0:80" (a free local port).
func parsePortSpec(spec string) (local, remote string, err error) {
	parts := strings.Split(spec, ":")
	switch len(parts) {
	case 1:
		local, remote = parts[0], parts[0]
	case 2:
		local, remote = parts[0], parts[1]
	default:
		return "", "", fmt.Errorf("port %q: want [LOCAL:]REMOTE", spec)
	}
	if remote == "" {
		return "", "", fmt.Errorf("port %q: no remote port", spec)
	}
	return local, remote, nil
}

// resolvePorts turns the specs into numbers, looking named remote ports
// up among the pod's containerPorts.
func resolvePorts(pod *corev1.Pod, specs []string) ([]forward, error) {
	var fws []forward
	for _, spec := range specs {
		local, remote, err := parsePortSpec(spec)
		if err != nil {
			return nil, err
		}
		r, err := strconv.Atoi(remote)
		if err != nil {
			r = namedPort(pod, remote)
			if r == 0 {
				return nil, fmt.Errorf("pod %q does not have a named port %q", pod.Name, remote)
			}
			if local == remote { // "http" alone: the container's number locally too
				local = strconv.Itoa(r)
			}
		}
		if r < 1 || r > 65535 {
			return nil, fmt.Errorf("port %q: remote port must be 1-65535", spec)
		}
		l := 0
		if local != "" {
			if l, err = strconv.Atoi(local); err != nil || l < 0 || l > 65535 {
				return nil, fmt.Errorf("port %q: local port must be 0-65535", spec)
			}
		}
		fws = append(fws, forward{local: l, remote: r})
	}
	return fws, nil
}

// namedPort is the containerPort named name in pod (0: none), TCP only.
func namedPort(pod *corev1.Pod, name string) int {
	for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for _, c := range cs {
			for _, p := range c.Ports {
				if p.Name == name && (p.Protocol == "" || p.Protocol == corev1.ProtocolTCP) {
					return int(p.ContainerPort)
				}
			}
		}
	}
	return 0
}

// listenAddrs expands --address: "localhost" is 127.0.0.1 and ::1, of
// which one may fail; an IP must be bound.
type listenAddr struct {
	ip       string
	optional bool
}

func listenAddrs(addrs []string) ([]listenAddr, error) {
	if len(addrs) == 0 {
		addrs = []string{"localhost"}
	}
	var out []listenAddr
	for _, a := range addrs {
		a = strings.TrimSpace(a)
		if a == "localhost" {
			out = append(out, listenAddr{"127.0.0.1", true}, listenAddr{"::1", true})
			continue
		}
		ip := net.ParseIP(a)
		if ip == nil {
			return nil, fmt.Errorf("--address %q: not an IP address or localhost", a)
		}
		out = append(out, listenAddr{ip.String(), false})
	}
	return out, nil
}

// listenHint is what to do when a local port cannot be bound.
const listenHint = "pick another local port (LOCAL:REMOTE), or :REMOTE for a free one; with --address, an IP of this host"

// PortForward forwards the ports until ctx ends (nil) or the pod's
// process exits (ErrLostPod).
func PortForward(ctx context.Context, o PortForwardOptions) error {
	if len(o.Ports) == 0 {
		return errors.New("port-forward: name at least one port: podbox port-forward POD [LOCAL:]REMOTE")
	}
	sock, err := livePodSocket(o.Pod)
	if err != nil {
		return err
	}
	addrs, err := listenAddrs(o.Addresses)
	if err != nil {
		return err
	}
	pod, err := newCtlClient(sock).pod(ctx)
	if err != nil {
		return fmt.Errorf("pod %q: %w", o.Pod, err)
	}
	if pod.Status.Phase != corev1.PodRunning {
		return ociruntime.WithHint(fmt.Errorf("pod %q: unable to forward port because pod is not running. Current status=%v", o.Pod, pod.Status.Phase),
			"see why with podbox describe "+o.Pod+" and podbox logs "+o.Pod+"; start it again with podbox up")
	}
	fws, err := resolvePorts(pod, o.Ports)
	if err != nil {
		return err
	}
	pp, ok := livePodProcess(o.Pod)
	if !ok {
		return fmt.Errorf("pod %q: %w", o.Pod, ErrLostPod)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	type served struct {
		ln net.Listener
		fw forward
	}
	var all []served
	for _, fw := range fws {
		bound := 0
		var errs []error
		for _, a := range addrs {
			network := "tcp4"
			if strings.Contains(a.ip, ":") {
				network = "tcp6"
			}
			ln, err := net.Listen(network, net.JoinHostPort(a.ip, strconv.Itoa(fw.local)))
			if err != nil {
				if !a.optional {
					return ociruntime.WithHint(fmt.Errorf("unable to listen on port %d: %w", fw.local, err), listenHint)
				}
				errs = append(errs, err)
				continue
			}
			lns = append(lns, ln)
			if fw.local == 0 { // the free port taken, on the next addresses too
				fw.local = ln.Addr().(*net.TCPAddr).Port
			}
			all = append(all, served{ln, fw})
			bound++
			fmt.Fprintf(o.Out, "Forwarding from %s -> %d\n", net.JoinHostPort(a.ip, strconv.Itoa(fw.local)), fw.remote)
		}
		if bound == 0 {
			return ociruntime.WithHint(fmt.Errorf("unable to listen on port %d: %w", fw.local, errors.Join(errs...)), listenHint)
		}
	}

	lost := make(chan struct{})
	go watchPodExit(ctx, pp, lost)
	var conns sync.WaitGroup
	var mu sync.Mutex
	open := map[net.Conn]struct{}{}
	for _, s := range all {
		go func() {
			for {
				c, err := s.ln.Accept()
				if err != nil {
					return // closed
				}
				mu.Lock()
				open[c] = struct{}{}
				mu.Unlock()
				conns.Add(1)
				go func() {
					defer conns.Done()
					fmt.Fprintf(o.Out, "Handling connection for %d\n", s.fw.local)
					if err := forwardConn(ctx, sock, c, s.fw.remote); err != nil {
						fmt.Fprintf(o.Err, "podbox: an error occurred forwarding %d -> %d: error forwarding port %d to pod %s: %v\n",
							s.fw.local, s.fw.remote, s.fw.remote, o.Pod, err)
					}
					mu.Lock()
					delete(open, c)
					mu.Unlock()
				}()
			}
		}()
	}
	var end error
	select {
	case <-ctx.Done():
	case <-lost:
		end = fmt.Errorf("pod %q: %w", o.Pod, ErrLostPod)
	}
	cancel()
	for _, ln := range lns {
		ln.Close()
	}
	lns = nil
	mu.Lock()
	for c := range open {
		c.Close()
	}
	mu.Unlock()
	conns.Wait()
	return end
}

// forwardConn connects to port in the pod and copies between c and that
// connection until both directions end; it closes c.
func forwardConn(ctx context.Context, sock string, c net.Conn, port int) error {
	defer c.Close()
	f, _, err := ctlFD(ctx, sock, "/portforward?port="+strconv.Itoa(port))
	if err != nil {
		return err
	}
	rc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return err
	}
	defer rc.Close()
	stop := context.AfterFunc(ctx, func() { rc.Close(); c.Close() })
	defer stop()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src) // TCP to TCP: splice
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(rc, c)
	go pipe(c, rc)
	<-done
	<-done
	return nil
}

// watchPodExit closes lost when the pod's PID 1 exits, unless ctx ends
// first. It waits on a pidfd (readable when the process exits), checked
// to be the pod's; without pidfds it polls.
func watchPodExit(ctx context.Context, pp podProcess, lost chan struct{}) {
	fd, err := unix.PidfdOpen(pp.PID, 0)
	if err == nil && !pp.isPod() {
		unix.Close(fd)
		close(lost)
		return
	}
	if err == nil {
		defer unix.Close(fd)
		for ctx.Err() == nil {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			n, err := unix.Poll(fds, 500)
			if n > 0 || (err != nil && err != unix.EINTR) {
				close(lost)
				return
			}
		}
		return
	}
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if !pp.alive() {
				close(lost)
				return
			}
		}
	}
}

// Package relay serves a pod's hostPorts from inside the pod's network
// namespace: the host-side sockets were bound in the host's network
// namespace (a socket keeps the namespace it was made in) and handed over as
// files; the relay accepts on them and connects to 127.0.0.1:ChildPort in
// its own namespace, copying both ways.
//
// Decisions:
//
//   - Standard library and golang.org/x/sys/unix only: the relay runs in the
//     pod's PID 1, which lives as long as the pod, so every package it links
//     is paid per pod. Hence its own Spec (the fields of rootlesskit's
//     port.Spec that the builtin driver uses, with the same JSON names)
//     rather than rootlesskit's, and no logger: the one condition worth a
//     word (accept(2) failing, e.g. EMFILE) goes to stderr, which is the
//     pod's log; a client refused because nothing listens yet just sees its
//     connection closed, as with a real server that is not up.
//   - TCP: one goroutine per direction, io.Copy between two *net.TCPConn,
//     which splices (zero copy through a pipe); each direction's EOF is
//     passed on as a half-close (CloseWrite), so request/response protocols
//     that shut down their write side keep working.
//   - UDP: one pod-side socket per client address, so the server's replies
//     go back to that client; closed after 90 s without traffic (the order
//     rootlesskit's udpproxy uses); replies written back with WriteTo on the
//     host socket.
//   - The server sees its clients as 127.0.0.1 (rootlesskit's builtin driver
//     has the same limit).
//   - Close closes the host sockets and every live connection and waits for
//     the goroutines, so the ports are free when it returns.
//
// The bypass (bypass.go; the port driver "bypass"). Copying costs a second
// TCP connection: on a 2-core machine the relay is a third busy party
// beside client and server, and hostPort throughput is 0.5-0.7x host
// loopback whatever the buffers (io.Copy already splices through 1 MiB
// pipes). Only one connection end to end removes that. As bypass4netns
// does, the container's socket calls are trapped with seccomp user
// notification, but the trap is on accept(2)/accept4(2), not bind(2):
//
//   - The pod's PID 1 cannot make sockets in the host's network namespace
//     (it is not in it and cannot enter it), so replacing the server's
//     listener with a host socket bound on demand, as bypass4netns does
//     from the host side, is not possible; and swapping in the one host
//     listener `up` bound would leave the pod's own localhost with nothing
//     on the containerPort. So the server keeps its own listener (the
//     pod's localhost reaches it as ever) and accept is where host
//     clients are handed in: for each host connection the relay makes a
//     placeholder connection to the containerPort, so the listener becomes
//     readable for any event loop (blocking, poll, epoll, edge-triggered);
//     the trapped accept is done by the relay on a copy of the listener
//     (pidfd_getfd), and a placeholder is answered with the host
//     connection instead (SECCOMP_IOCTL_NOTIF_ADDFD with
//     SECCOMP_ADDFD_FLAG_SEND installs it and makes it accept's result;
//     the peer address is written to the caller's buffer with
//     process_vm_writev, as Go's and libc's accept read it). Anything
//     else (another listener, a real connection from the pod) goes on
//     unchanged (SECCOMP_USER_NOTIF_FLAG_CONTINUE, or the accepted
//     connection itself).
//   - Placeholders are registered by their port before they connect, else
//     the agent could take one off the queue before knowing it for one.
//   - A host connection that no trapped accept claims within 2 s (a server
//     whose accept escapes the filter: io_uring, or a container whose
//     profile denies accept) is copied as by the builtin driver, and its
//     placeholder dropped when the agent meets it (for a minute; later its
//     port may be a real client's): slower, never lost. So is one whose
//     accept was interrupted (a signal) after the agent took it.
//   - Each container, and each `exec` into one, brings its own notify fd
//     (the runtime connects once per process it starts with the filter);
//     each is served until no process using it is left (POLLHUP), then
//     closed. The target thread's fd table is reached with a pidfd of the
//     thread (PIDFD_THREAD, Linux 6.9), else of its thread group.
//   - The server sees the client's real address, and its connection's
//     local address is the hostIP:hostPort. A connection from the pod
//     keeps 127.0.0.1:containerPort.
//   - Cost: one notification round trip per accept call on every socket of
//     the container (a few µs), and a placeholder connection per host
//     client; nothing per byte. Measured (2-core VM under a load average
//     of 10-25 from other work, 1 GiB samples, Go client and server with
//     1 MiB reads and writes, medians): CPU per GiB moved (client, server
//     and the pod's PID 1), host loopback 0.64-0.67 s, bypass 0.53-0.59 s,
//     copying relay 1.23-1.37 s (PID 1 alone 0.44-0.47 s, more than the
//     server). Throughput against host loopback: bypass 0.83-1.12x in
//     pods (the pod is its own session, so its own scheduler autogroup: a
//     loopback server started with setsid measured 0.88-0.99x), 1.1x in
//     TestBypass (one session); copying 0.39-0.59x.
//   - Go listeners are MPTCP since Go 1.24: the listener check takes
//     IPPROTO_MPTCP as TCP; a dual-stack listener sees the placeholders
//     as ::ffff:127.0.0.1.
//
// The runtime hands the notify fd over on linux.seccomp.listenerPath
// (runc >= 1.1; the message is runtime-spec's ContainerProcessState with
// the fd as "seccompFd"): ServeSeccompAgent serves that socket.
package relay

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Spec is one forwarded hostPort: the fields of rootlesskit's port.Spec
// that the relay uses, with the same JSON names.
type Spec struct {
	Proto      string `json:"proto"`    // "tcp" or "udp"
	ParentIP   string `json:"parentIP"` // where the host socket is bound
	ParentPort int    `json:"parentPort"`
	ChildPort  int    `json:"childPort"` // dialled on 127.0.0.1 in the pod
}

// udpIdle is how long a UDP client may stay silent before its pod-side
// socket is closed (rootlesskit's udpproxy uses the same order).
const udpIdle = 90 * time.Second

// Forwarder serves host-side sockets from inside the pod's network
// namespace.
type Forwarder struct {
	mu     sync.Mutex
	closed bool
	socks  []io.Closer            // the host-side sockets
	conns  map[io.Closer]struct{} // live connections and pod-side UDP sockets
	wg     sync.WaitGroup
	dialer net.Dialer
	bypass bypassState
}

// Forward starts forwarding: files[i] is the socket of specs[i] (a TCP
// listener or a UDP socket, bound in the host's network namespace). It
// takes over the files: they are closed whether it succeeds or not.
func Forward(specs []Spec, files []*os.File) (*Forwarder, error) {
	if len(specs) != len(files) {
		for _, f := range files {
			_ = f.Close()
		}
		return nil, fmt.Errorf("forwarding ports: %d specs for %d sockets", len(specs), len(files))
	}
	fw := &Forwarder{conns: map[io.Closer]struct{}{}, dialer: net.Dialer{Timeout: 5 * time.Second}}
	fw.bypass.ports = map[int]bool{}
	type server struct {
		spec Spec
		tcp  *net.TCPListener
		udp  *net.UDPConn
	}
	var servers []server
	for i, s := range specs {
		// FileListener and FilePacketConn dup the fd (close-on-exec):
		// the inherited one is closed here, so it never reaches the
		// runtime or a container.
		sv := server{spec: s}
		var err error
		switch s.Proto {
		case "tcp":
			var l net.Listener
			if l, err = net.FileListener(files[i]); err == nil {
				sv.tcp = l.(*net.TCPListener)
				fw.socks = append(fw.socks, l)
			}
		case "udp":
			var c net.PacketConn
			if c, err = net.FilePacketConn(files[i]); err == nil {
				sv.udp = c.(*net.UDPConn)
				fw.socks = append(fw.socks, c)
			}
		default:
			err = fmt.Errorf("protocol %q is not forwarded", s.Proto)
		}
		if err != nil {
			for _, f := range files[i:] {
				_ = f.Close()
			}
			fw.Close()
			return nil, fmt.Errorf("hostPort %d: using the host socket: %w", s.ParentPort, err)
		}
		_ = files[i].Close()
		servers = append(servers, sv)
	}
	for _, sv := range servers {
		target := net.JoinHostPort("127.0.0.1", strconv.Itoa(sv.spec.ChildPort))
		fw.wg.Add(1)
		if sv.tcp != nil {
			fw.bypass.ports[sv.spec.ChildPort] = true
			go fw.serveTCP(sv.tcp, sv.spec.ChildPort, target)
		} else {
			go fw.serveUDP(sv.udp, target)
		}
	}
	return fw, nil
}

// Close stops forwarding: the host-side sockets and every connection are
// closed, so the ports are free when it returns. Safe to call twice.
func (fw *Forwarder) Close() error {
	fw.mu.Lock()
	fw.closed = true
	for _, s := range fw.socks {
		_ = s.Close()
	}
	for c := range fw.conns {
		_ = c.Close()
	}
	fw.mu.Unlock()
	fw.closeBypass()
	fw.wg.Wait()
	return nil
}

// track registers c to be closed by Close; false if already closed.
func (fw *Forwarder) track(c io.Closer) bool {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.closed {
		return false
	}
	fw.conns[c] = struct{}{}
	return true
}

func (fw *Forwarder) untrack(c io.Closer) {
	fw.mu.Lock()
	delete(fw.conns, c)
	fw.mu.Unlock()
	_ = c.Close()
}

func (fw *Forwarder) serveTCP(l *net.TCPListener, childPort int, target string) {
	defer fw.wg.Done()
	for {
		c, err := l.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// EMFILE and the like: say so once in a while, do not spin.
			fmt.Fprintf(os.Stderr, "[podbox:pod] accepting on %s: %v\n", l.Addr(), err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if fw.handOver(c, childPort) {
			continue
		}
		if !fw.track(c) {
			_ = c.Close()
			return
		}
		fw.wg.Add(1)
		go func() {
			defer fw.wg.Done()
			defer fw.untrack(c)
			fw.proxyTCP(c, target)
		}()
	}
}

// proxyTCP copies both ways between a client and the pod's server; each
// direction's EOF is passed on as a half-close.
func (fw *Forwarder) proxyTCP(c *net.TCPConn, target string) {
	d, err := fw.dialer.Dial("tcp", target)
	if err != nil {
		return // nothing listens yet: the client sees its connection closed
	}
	s := d.(*net.TCPConn)
	if !fw.track(s) {
		_ = s.Close()
		return
	}
	defer fw.untrack(s)
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(s, c)
		_ = s.CloseWrite()
		close(done)
	}()
	_, _ = io.Copy(c, s)
	_ = c.CloseWrite()
	<-done
}

// serveUDP relays datagrams: one pod-side socket per client address; a
// socket idle for udpIdle is closed.
func (fw *Forwarder) serveUDP(host *net.UDPConn, target string) {
	defer fw.wg.Done()
	raddr, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		fmt.Fprintf(os.Stderr, "[podbox:pod] forwarding %s: %v\n", host.LocalAddr(), err)
		return
	}
	var mu sync.Mutex
	flows := map[netip.AddrPort]*net.UDPConn{}
	buf := make([]byte, 65535)
	for {
		n, from, err := host.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		mu.Lock()
		pc := flows[from]
		if pc == nil {
			pc, err = net.DialUDP("udp", nil, raddr)
			if err != nil || !fw.track(pc) {
				mu.Unlock()
				if pc != nil {
					_ = pc.Close()
				}
				continue
			}
			flows[from] = pc
			fw.wg.Add(1)
			go func() {
				defer fw.wg.Done()
				fw.udpReplies(host, pc, from)
				mu.Lock()
				delete(flows, from)
				mu.Unlock()
				fw.untrack(pc)
			}()
		}
		mu.Unlock()
		_ = pc.SetReadDeadline(time.Now().Add(udpIdle))
		_, _ = pc.Write(buf[:n]) // a datagram may be lost
	}
}

// udpReplies sends what the pod's server answers back to the client, until
// the flow is idle or closed.
func (fw *Forwarder) udpReplies(host, pc *net.UDPConn, client netip.AddrPort) {
	buf := make([]byte, 65535)
	for {
		n, err := pc.Read(buf)
		if err != nil {
			// ECONNREFUSED: nothing listens (yet); the next datagram
			// may find it. Anything else (idle timeout, closed): done.
			if errors.Is(err, syscall.ECONNREFUSED) {
				continue
			}
			return
		}
		_ = pc.SetReadDeadline(time.Now().Add(udpIdle))
		_, _ = host.WriteToUDPAddrPort(buf[:n], client)
	}
}

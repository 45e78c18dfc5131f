package slirp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rootless-containers/rootlesskit/v3/pkg/port"
	"github.com/rootless-containers/rootlesskit/v3/pkg/port/portutil"
	"github.com/rootless-containers/rootlesskit/v3/pkg/port/slirp4netns"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// Port drivers: how a hostPort reaches the pod.
const (
	// DriverBuiltin: podbox's own forwarder (the default, the fast one).
	DriverBuiltin = "builtin"
	// DriverSlirp4netns: slirp4netns's hostfwd; keeps the client's source
	// address.
	DriverSlirp4netns = "slirp4netns"
)

// AnnotationPortDriver picks a pod's port driver: builtin or slirp4netns.
const AnnotationPortDriver = "podbox.io/port-driver"

// DefaultHostIP is where a hostPort binds when the manifest gives no hostIP.
const DefaultHostIP = "127.0.0.1"

// udpIdle is how long a UDP client may stay silent before its pod-side
// socket is closed (rootlesskit's udpproxy uses the same order).
const udpIdle = 90 * time.Second

// CheckDriver returns an error unless name is a port driver ("" is the
// default).
func CheckDriver(name string) error {
	switch name {
	case "", DriverBuiltin, DriverSlirp4netns:
		return nil
	}
	return fmt.Errorf("unknown port driver %q: use %s or %s", name, DriverBuiltin, DriverSlirp4netns)
}

// NewSpec is the rootlesskit port.Spec of one hostPort: proto "tcp" or
// "udp", hostIP "" meaning DefaultHostIP. It is validated with
// rootlesskit's portutil.
func NewSpec(proto, hostIP string, hostPort, containerPort int) (port.Spec, error) {
	if hostIP == "" {
		hostIP = DefaultHostIP
	}
	s := port.Spec{Proto: strings.ToLower(proto), ParentIP: hostIP, ParentPort: hostPort, ChildPort: containerPort}
	if s.Proto == "" {
		s.Proto = "tcp"
	}
	if err := portutil.ValidatePortSpec(s, nil); err != nil {
		return s, fmt.Errorf("hostPort %d: %w", hostPort, err)
	}
	if s.Proto != "tcp" && s.Proto != "udp" {
		return s, fmt.Errorf("hostPort %d: protocol %q is not forwarded: use TCP or UDP", hostPort, proto)
	}
	return s, nil
}

func hostAddr(s port.Spec) string {
	return net.JoinHostPort(s.ParentIP, strconv.Itoa(s.ParentPort))
}

// HostSockets are the host-side sockets of a pod's hostPorts, bound by the
// `up` process in the host's network namespace. Files are handed to the
// pod's PID 1, which serves them with Forward.
type HostSockets struct {
	Specs []port.Spec
	Files []*os.File // one per spec, same order
}

// Bind binds every spec's socket: a TCP listener or a UDP socket on
// ParentIP:ParentPort. On error nothing stays bound; the error names the
// hostPort and, for a port the host keeps for root, the sysctl to change.
func Bind(specs []port.Spec) (*HostSockets, error) {
	hs := &HostSockets{}
	for _, s := range specs {
		f, err := bindOne(s)
		if err != nil {
			hs.Close()
			return nil, err
		}
		hs.Specs = append(hs.Specs, s)
		hs.Files = append(hs.Files, f)
	}
	return hs, nil
}

// CheckFree reports, as Bind does, a hostPort that cannot be bound, and
// binds nothing.
func CheckFree(specs []port.Spec) error {
	hs, err := Bind(specs)
	if err != nil {
		return err
	}
	hs.Close()
	return nil
}

// Close closes this process's copies of the sockets. Safe to call twice.
func (hs *HostSockets) Close() {
	if hs == nil {
		return
	}
	for _, f := range hs.Files {
		_ = f.Close()
	}
}

func bindOne(s port.Spec) (*os.File, error) {
	addr := hostAddr(s)
	var lc net.ListenConfig // Go sets SO_REUSEADDR on TCP listeners only
	switch s.Proto {
	case "tcp":
		l, err := lc.Listen(context.Background(), "tcp", addr)
		if err != nil {
			return nil, bindError(s, err)
		}
		defer l.Close()
		return l.(*net.TCPListener).File()
	case "udp":
		c, err := lc.ListenPacket(context.Background(), "udp", addr)
		if err != nil {
			return nil, bindError(s, err)
		}
		defer c.Close()
		return c.(*net.UDPConn).File()
	}
	return nil, fmt.Errorf("hostPort %d: protocol %q is not forwarded", s.ParentPort, s.Proto)
}

// bindError says why a hostPort cannot be bound, in the user's words.
func bindError(s port.Spec, err error) error {
	addr := hostAddr(s)
	switch {
	case errors.Is(err, unix.EADDRINUSE):
		return fmt.Errorf("hostPort %d: %s is in use by another process", s.ParentPort, addr)
	case errors.Is(err, unix.EACCES):
		start := UnprivilegedPortStart()
		if s.ParentPort < start {
			return &hintError{
				msg: fmt.Sprintf("hostPort %d: binding %s: permission denied: this host keeps ports below %d for root (net.ipv4.ip_unprivileged_port_start=%d)",
					s.ParentPort, addr, start, start),
				hint: fmt.Sprintf("let users bind ports from %d up: sudo sysctl net.ipv4.ip_unprivileged_port_start=%d (and persist it in /etc/sysctl.d/)",
					s.ParentPort, s.ParentPort),
			}
		}
	case errors.Is(err, unix.EADDRNOTAVAIL):
		return fmt.Errorf("hostPort %d: hostIP %s is not an address of this host", s.ParentPort, s.ParentIP)
	}
	return fmt.Errorf("hostPort %d: binding %s/%s: %w", s.ParentPort, addr, s.Proto, err)
}

// UnprivilegedPortStart is the host's net.ipv4.ip_unprivileged_port_start
// (1024 where it cannot be read, the kernel's default).
func UnprivilegedPortStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
	if err != nil {
		return 1024
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 1024
	}
	return n
}

// Forwarder serves host-side sockets from inside the pod's network
// namespace: it accepts on them (they stay in the host's namespace, where
// they were made) and connects to 127.0.0.1:ChildPort in its own.
type Forwarder struct {
	mu     sync.Mutex
	closed bool
	socks  []io.Closer            // the host-side sockets
	conns  map[io.Closer]struct{} // live connections and pod-side UDP sockets
	wg     sync.WaitGroup
	dialer net.Dialer
}

// Forward starts forwarding: files[i] is the socket of specs[i] (a TCP
// listener or a UDP socket), as Bind made it. It takes over the files.
func Forward(specs []port.Spec, files []*os.File) (*Forwarder, error) {
	if len(specs) != len(files) {
		return nil, fmt.Errorf("forwarding ports: %d specs for %d sockets", len(specs), len(files))
	}
	fw := &Forwarder{conns: map[io.Closer]struct{}{}, dialer: net.Dialer{Timeout: 5 * time.Second}}
	type server struct {
		spec port.Spec
		tcp  *net.TCPListener
		udp  *net.UDPConn
	}
	var servers []server
	for i, s := range specs {
		// FileListener and FilePacketConn dup the fd (close-on-exec):
		// the inherited one is closed here, so it never reaches the
		// runtime or a container.
		var sv server
		sv.spec = s
		switch s.Proto {
		case "tcp":
			l, err := net.FileListener(files[i])
			if err != nil {
				fw.Close()
				return nil, fmt.Errorf("hostPort %d: using the host socket: %w", s.ParentPort, err)
			}
			sv.tcp = l.(*net.TCPListener)
			fw.socks = append(fw.socks, l)
		case "udp":
			c, err := net.FilePacketConn(files[i])
			if err != nil {
				fw.Close()
				return nil, fmt.Errorf("hostPort %d: using the host socket: %w", s.ParentPort, err)
			}
			sv.udp = c.(*net.UDPConn)
			fw.socks = append(fw.socks, c)
		default:
			fw.Close()
			return nil, fmt.Errorf("hostPort %d: protocol %q is not forwarded", s.ParentPort, s.Proto)
		}
		_ = files[i].Close()
		servers = append(servers, sv)
	}
	for _, sv := range servers {
		target := net.JoinHostPort(childIP(sv.spec), strconv.Itoa(sv.spec.ChildPort))
		fw.wg.Add(1)
		if sv.tcp != nil {
			go fw.serveTCP(sv.tcp, target)
		} else {
			go fw.serveUDP(sv.udp, target)
		}
	}
	return fw, nil
}

func childIP(s port.Spec) string {
	if s.ChildIP != "" {
		return s.ChildIP
	}
	return "127.0.0.1"
}

// Close stops forwarding: the host-side sockets and every connection are
// closed, so the ports are free when it returns.
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

func (fw *Forwarder) serveTCP(l *net.TCPListener, target string) {
	defer fw.wg.Done()
	for {
		c, err := l.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// EMFILE and the like: do not spin.
			logrus.Warnf("[podbox:pod] accepting on %s: %v", l.Addr(), err)
			time.Sleep(50 * time.Millisecond)
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
// direction's EOF is passed on as a half-close. io.Copy between two
// *net.TCPConn uses splice(2).
func (fw *Forwarder) proxyTCP(c *net.TCPConn, target string) {
	d, err := fw.dialer.Dial("tcp", target)
	if err != nil {
		// Nothing listens yet: the client sees its connection closed.
		logrus.Debugf("[podbox:pod] forwarding %s: %v", c.LocalAddr(), err)
		return
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

// serveUDP relays datagrams: one pod-side socket per client address, so
// the server's replies go back to that client; a socket idle for udpIdle
// is closed.
func (fw *Forwarder) serveUDP(host *net.UDPConn, target string) {
	defer fw.wg.Done()
	raddr, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		logrus.Warnf("[podbox:pod] forwarding %s: %v", host.LocalAddr(), err)
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
			logrus.Debugf("[podbox:pod] reading %s: %v", host.LocalAddr(), err)
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
				logrus.Debugf("[podbox:pod] forwarding %s: %v", host.LocalAddr(), err)
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
		if _, err := pc.Write(buf[:n]); err != nil {
			logrus.Debugf("[podbox:pod] forwarding a datagram to %s: %v", target, err)
		}
	}
}

// udpReplies sends what the pod's server answers back to the client, until
// the flow is idle or closed.
func (fw *Forwarder) udpReplies(host, pc *net.UDPConn, client netip.AddrPort) {
	buf := make([]byte, 65535)
	for {
		n, err := pc.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return // idle
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// ECONNREFUSED: nothing listens (yet); the next datagram
			// may find it.
			if errors.Is(err, syscall.ECONNREFUSED) {
				continue
			}
			return
		}
		_ = pc.SetReadDeadline(time.Now().Add(udpIdle))
		if _, err := host.WriteToUDPAddrPort(buf[:n], client); err != nil {
			logrus.Debugf("[podbox:pod] replying to %s: %v", client, err)
		}
	}
}

// addHostFwd asks a running slirp4netns, through its API socket, to
// forward each spec to the pod's address, with rootlesskit's slirp4netns
// port driver.
func addHostFwd(apiSocket string, specs []port.Spec) error {
	d, err := slirp4netns.NewParentDriver(io.Discard, apiSocket)
	if err != nil {
		return err
	}
	for _, s := range specs {
		s.ChildIP = PodIP
		if _, err := d.AddPort(context.Background(), s); err != nil {
			// Taken since the check before the pod started: say so
			// as Bind would.
			if cerr := CheckFree([]port.Spec{s}); cerr != nil {
				return cerr
			}
			return fmt.Errorf("hostPort %d: forwarding %s through slirp4netns: %w", s.ParentPort, hostAddr(s), err)
		}
	}
	return nil
}

package slirp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/rootless-containers/rootlesskit/v3/pkg/port"
	"github.com/rootless-containers/rootlesskit/v3/pkg/port/portutil"
	"github.com/rootless-containers/rootlesskit/v3/pkg/port/slirp4netns"
	"golang.org/x/sys/unix"
)

// Port drivers: how a hostPort reaches the pod.
const (
	// DriverBuiltin: podbox's own forwarder (the default, the fast one).
	DriverBuiltin = "builtin"
	// DriverSlirp4netns: slirp4netns's hostfwd; keeps the client's source
	// address.
	DriverSlirp4netns = "slirp4netns"
	// DriverBypass: builtin, plus the seccomp bypass of slirp/relay (TCP
	// clients reach the server on their own connection).
	DriverBypass = "bypass"
)

// AnnotationPortDriver picks a pod's port driver: builtin, bypass or
// slirp4netns.
const AnnotationPortDriver = "podbox.io/port-driver"

// DefaultHostIP is where a hostPort binds when the manifest gives no hostIP.
const DefaultHostIP = "127.0.0.1"

// CheckDriver returns an error unless name is a port driver ("" is the
// default).
func CheckDriver(name string) error {
	switch name {
	case "", DriverBuiltin, DriverSlirp4netns, DriverBypass:
		return nil
	}
	return fmt.Errorf("unknown port driver %q: use %s, %s or %s", name, DriverBuiltin, DriverBypass, DriverSlirp4netns)
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

package pod

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// port-forward and cp, the pod's half (the CLI's is sandbox/portforward.go
// and sandbox/cp.go). The pod's PID 1 only opens a descriptor and hands it
// over; it copies no byte and keeps nothing:
//
//	CLI                                   pod's PID 1 (ctl.sock)
//	POST /portforward?port=N           →  connects to 127.0.0.1:N (else [::1]:N)
//	                                      in the pod's network namespace
//	                                    ← 502 {"error"} (refused, timed out)
//	                                    ← 101 Switching Protocols
//	1 byte (the answer is read)        →
//	                                    ← 'f' + SCM_RIGHTS(the TCP socket)
//	POST /root?container=C             →  opens /proc/<C's pid>/root, O_PATH
//	                                    ← 404 / 409 {"error"} (unknown, not running)
//	                                    ← 101, (1 byte →), then the container's
//	                                      name + SCM_RIGHTS(the root)
//
// The CLI then copies between its own socket and the pod's (splice), or
// resolves paths with openat2(RESOLVE_IN_ROOT) from the container's root:
// the bytes and the walk cost the pod nothing, and PID 1 holds no state per
// forwarded connection or copy.

// dialTimeout bounds a port-forward's connection inside the pod: to the
// pod's own loopback it is refused or made at once, unless the listener's
// backlog is full.
const dialTimeout = 5 * time.Second

// servePortForward serves POST /portforward?port=N.
func (p *podProc) servePortForward(w *responder, r *request) {
	port, err := strconv.Atoi(r.query.Get("port"))
	if err != nil || port < 1 || port > 65535 {
		w.fail(400, "port: not a port number: "+r.query.Get("port"))
		return
	}
	f, err := dialLoopback(port)
	if err != nil {
		w.fail(502, err.Error())
		return
	}
	defer f.Close()
	passFD(w, "podbox-portforward", []byte{'f'}, int(f.Fd()))
}

// dialLoopback connects to port on the pod's loopback, IPv4 first then
// IPv6 (as containerd's port-forward does), and returns the socket.
func dialLoopback(port int) (*os.File, error) {
	var errs []error
	for _, addr := range []struct{ network, host string }{{"tcp4", "127.0.0.1"}, {"tcp6", "::1"}} {
		ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
		d := net.Dialer{}
		conn, err := d.DialContext(ctx, addr.network, net.JoinHostPort(addr.host, strconv.Itoa(port)))
		cancel()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		f, err := conn.(*net.TCPConn).File()
		conn.Close()
		if err != nil {
			return nil, err
		}
		return f, nil
	}
	// The IPv4 error is the one users expect; the IPv6 one only adds
	// "cannot assign requested address" when the pod has no ::1. One line
	// either way: the CLI prints it as one.
	if errors.Is(errs[1], unix.EADDRNOTAVAIL) {
		return nil, errs[0]
	}
	return nil, fmt.Errorf("%w; %w", errs[0], errs[1])
}

// serveRoot serves POST /root?container=C ("": the first app container):
// an O_PATH descriptor of the running container's root directory, as its
// own mount namespace has it (its volumes mounted). PID 1 may open
// /proc/PID/root of a container process: it has CAP_SYS_PTRACE in their
// common user namespace.
func (p *podProc) serveRoot(w *responder, r *request) {
	c, status, err := p.execTarget(r.query.Get("container"))
	if err != nil {
		w.fail(status, err.Error())
		return
	}
	// Opened under the container's lock, its process not yet seen to
	// exit, so that the pid is not one reused by another container.
	c.mu.Lock()
	fd, err := -1, fmt.Errorf("container %s is not running", c.spec.Name)
	if c.created && c.dead != nil && !closed(c.dead) {
		fd, err = unix.Open("/proc/"+strconv.Itoa(c.pid)+"/root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	}
	c.mu.Unlock()
	if err != nil {
		w.fail(409, fmt.Sprintf("container %s: opening its root: %v", c.spec.Name, err))
		return
	}
	defer unix.Close(fd)
	passFD(w, "podbox-root", []byte(c.spec.Name), fd)
}

// passFD switches protocols and, once the client says it has read the
// answer (one byte: the descriptor must not come in the same read as the
// answer's head, or it would be lost), sends payload with fd.
func passFD(w *responder, proto string, payload []byte, fd int) {
	uc := w.upgrade(proto)
	if uc == nil {
		return
	}
	_ = uc.SetDeadline(time.Now().Add(readTimeout))
	if _, err := uc.Read(make([]byte, 1)); err != nil {
		return
	}
	if _, _, err := uc.WriteMsgUnix(payload, unix.UnixRights(fd), nil); err != nil {
		log.warnf("%s: passing the descriptor: %v", proto, err)
	}
}

// closed reports whether ch is closed.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

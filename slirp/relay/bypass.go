package relay

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The bypass (see the package doc): a container's accept(2) on its
// listener of a hostPort's containerPort returns the client's connection
// itself, accepted on the host socket, so the bytes go client ↔ server on
// one TCP connection in the host's network namespace. For the server's
// listener to become readable when a host client waits, the relay makes a
// placeholder connection to it in the pod; the intercepted accept takes
// the placeholder off the queue and hands back the host connection
// instead. A connection from the pod's own localhost is returned as it is.

// claimTimeout is how long a host connection waits for an intercepted
// accept before the relay copies it instead (a server that never goes
// through the filter, say one using io_uring, still gets its clients).
const claimTimeout = 2 * time.Second

// expiredKept is how long the placeholder of a host connection that went
// the copy path is still recognised when the agent accepts it.
const expiredKept = time.Minute

// The kernel's struct seccomp_notif, seccomp_notif_resp and
// seccomp_notif_addfd (linux/seccomp.h); x/sys/unix has the ioctl numbers
// but not the types.
type seccompNotif struct {
	ID    uint64
	PID   uint32
	Flags uint32
	Nr    int32
	Arch  uint32
	IP    uint64
	Args  [6]uint64
}

type seccompResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

type seccompAddFD struct {
	ID         uint64
	Flags      uint32
	SrcFD      uint32
	NewFD      uint32
	NewFDFlags uint32
}

// pending is a host connection waiting for an intercepted accept, keyed by
// its placeholder's local port. While the placeholder connects, handOver
// owns its fd: whoever takes the entry then only marks it done.
type pending struct {
	host        *os.File
	placeholder int // fd
	connecting  bool
	done        bool // claimed or dropped while connecting: handOver closes the placeholder
	timer       *time.Timer
}

// connectWait bounds a placeholder's connect: at once on loopback, unless
// the listener's queue is full (then the client is copied).
const connectWait = time.Second

// bypassState is the Forwarder's bypass bookkeeping.
type bypassState struct {
	mu      sync.Mutex
	on      bool                 // a notify fd is served: new host connections bypass
	ports   map[int]bool         // the TCP containerPorts that bypass
	waiting map[uint16]*pending  // by placeholder port
	expired map[uint16]time.Time // placeholders whose host connection went the copy path, since when
	notify  []*os.File
	expires int // host connections that went the copy path after all
}

// ServeSeccomp serves the seccomp user-notification fd of a container whose
// filter sends accept(2) and accept4(2) to it (SCMP_ACT_NOTIFY, see
// SeccompAcceptSyscalls). From then on new host connections on TCP ports
// bypass the relay. It takes over f, and closes it when no process of the
// container is left or soon after Close.
func (fw *Forwarder) ServeSeccomp(f *os.File) {
	b := &fw.bypass
	b.mu.Lock()
	b.on = true
	b.notify = append(b.notify, f)
	b.mu.Unlock()
	go fw.serveNotify(f)
}

// SeccompAcceptSyscalls are the syscalls a container's seccomp filter must
// send to the agent (SCMP_ACT_NOTIFY) for the bypass.
var SeccompAcceptSyscalls = []string{"accept", "accept4"}

// ServeSeccompAgent accepts the OCI runtime's connections on l, the
// socket named by the spec's linux.seccomp.listenerPath: for each, the
// runtime sends the container's state as JSON with its seccomp notify fd
// (SCM_RIGHTS), which is served with ServeSeccomp. It returns when l is
// closed.
func (fw *Forwarder) ServeSeccompAgent(l *net.UnixListener) {
	for {
		c, err := l.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		f, err := readNotifyFD(c)
		_ = c.Close()
		if err != nil {
			fmt.Fprintf(os.Stderr, "[podbox:pod] seccomp agent: %v\n", err)
			continue
		}
		fw.ServeSeccomp(f)
	}
}

// readNotifyFD reads the runtime's message: the container process state
// (runtime-spec ContainerProcessState) whose "fds" names the fds passed
// with it; the one named "seccompFd" is returned, the others closed.
func readNotifyFD(c *net.UnixConn) (*os.File, error) {
	buf := make([]byte, 1<<16)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, fmt.Errorf("reading the runtime's message: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, fmt.Errorf("reading the runtime's fds: %w", err)
	}
	var fds []int
	for _, m := range msgs {
		r, err := unix.ParseUnixRights(&m)
		if err == nil {
			fds = append(fds, r...)
		}
	}
	var state struct {
		FDs []string `json:"fds"`
	}
	_ = json.Unmarshal(buf[:n], &state)
	idx := -1
	for i, name := range state.FDs {
		if name == "seccompFd" {
			idx = i
		}
	}
	if idx < 0 && len(fds) == 1 {
		idx = 0
	}
	var f *os.File
	for i, fd := range fds {
		if i == idx {
			f = os.NewFile(uintptr(fd), "seccomp notify")
		} else {
			_ = unix.Close(fd)
		}
	}
	if f == nil {
		return nil, fmt.Errorf("the runtime sent %d fds and no seccompFd", len(fds))
	}
	return f, nil
}

// handOver queues a host connection for an intercepted accept on the
// containerPort's listener; false when it cannot (no bypass, nothing
// listens, its queue is full): the caller copies instead. The placeholder
// is registered by its port before it connects, or the agent could take it
// off the queue before knowing it for one.
func (fw *Forwarder) handOver(c *net.TCPConn, childPort int) bool {
	b := &fw.bypass
	b.mu.Lock()
	on := b.on && b.ports[childPort]
	b.mu.Unlock()
	if !on {
		return false
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return false
	}
	var port uint16
	if err = unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err == nil {
		var sa unix.Sockaddr
		if sa, err = unix.Getsockname(fd); err == nil {
			port = uint16(sa.(*unix.SockaddrInet4).Port)
		}
	}
	var host *os.File
	if err == nil {
		host, err = c.File() // a dup
	}
	if err != nil {
		_ = unix.Close(fd)
		return false
	}
	p := &pending{host: host, placeholder: fd, connecting: true}
	b.mu.Lock()
	if b.waiting == nil {
		b.waiting, b.expired = map[uint16]*pending{}, map[uint16]time.Time{}
	}
	b.waiting[port] = p
	delete(b.expired, port) // that one is gone: the port is ours again
	b.mu.Unlock()

	err = connectLoopback(fd, childPort)
	b.mu.Lock()
	p.connecting = false
	if err != nil && !p.done {
		delete(b.waiting, port)
		b.mu.Unlock()
		_ = unix.Close(fd)
		_ = host.Close()
		return false
	}
	if p.done {
		_ = unix.Close(fd)
	} else {
		target := net.JoinHostPort("127.0.0.1", strconv.Itoa(childPort))
		p.timer = time.AfterFunc(claimTimeout, func() { fw.expire(port, target) })
	}
	b.mu.Unlock()
	_ = c.Close()
	return true
}

// connectLoopback connects the non-blocking socket fd to
// 127.0.0.1:port within connectWait.
func connectLoopback(fd, port int) error {
	err := unix.Connect(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port})
	if err == nil || !errors.Is(err, unix.EINPROGRESS) {
		return err
	}
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	n, err := unix.Poll(pfd, int(connectWait/time.Millisecond))
	if err != nil {
		return err
	}
	if n == 0 {
		return unix.ETIMEDOUT
	}
	if v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); err != nil || v != 0 {
		return fmt.Errorf("connecting the placeholder: %w", errors.Join(err, unix.Errno(v)))
	}
	return nil
}

// expire sends a host connection nobody claimed through the copy path.
func (fw *Forwarder) expire(port uint16, target string) {
	b := &fw.bypass
	b.mu.Lock()
	p := b.waiting[port]
	if p == nil {
		b.mu.Unlock()
		return
	}
	delete(b.waiting, port)
	b.expired[port] = time.Now()
	b.expires++
	b.mu.Unlock()
	_ = unix.Close(p.placeholder)
	fw.copyFile(p.host, target)
}

// copyFile serves a host connection held as a file by copying.
func (fw *Forwarder) copyFile(f *os.File, target string) {
	c, err := net.FileConn(f)
	_ = f.Close()
	if err != nil {
		return
	}
	tc := c.(*net.TCPConn)
	if !fw.track(tc) {
		_ = tc.Close()
		return
	}
	fw.wg.Add(1)
	go func() {
		defer fw.wg.Done()
		defer fw.untrack(tc)
		fw.proxyTCP(tc, target)
	}()
}

// claim takes the host connection of a placeholder the agent accepted:
// (f, true) for a live one, (nil, true) for one that expired (drop it),
// (nil, false) for a real connection from the pod.
func (fw *Forwarder) claim(peer unix.Sockaddr) (*os.File, bool) {
	var port uint16
	switch sa := peer.(type) {
	case *unix.SockaddrInet4:
		if sa.Addr != [4]byte{127, 0, 0, 1} {
			return nil, false
		}
		port = uint16(sa.Port)
	case *unix.SockaddrInet6:
		// A dual-stack listener sees the placeholder as ::ffff:127.0.0.1.
		if sa.Addr != [16]byte{10: 0xff, 11: 0xff, 12: 127, 15: 1} {
			return nil, false
		}
		port = uint16(sa.Port)
	default:
		return nil, false
	}
	b := &fw.bypass
	b.mu.Lock()
	defer b.mu.Unlock()
	if p := b.waiting[port]; p != nil {
		delete(b.waiting, port)
		p.drop()
		return p.host, true
	}
	if since, ok := b.expired[port]; ok {
		delete(b.expired, port)
		// A placeholder waits in the listener's queue, and keeps its
		// port, until accepted; one the server took itself (its accept
		// escaped the filter) never comes: after a while the port may
		// be a real client's.
		return nil, time.Since(since) < expiredKept
	}
	return nil, false
}

// drop closes the placeholder of an entry just taken from waiting (under
// the lock), or leaves that to handOver while it connects.
func (p *pending) drop() {
	if p.timer != nil {
		p.timer.Stop()
	}
	if p.connecting {
		p.done = true
		return
	}
	_ = unix.Close(p.placeholder)
}

func (fw *Forwarder) closeBypass() {
	b := &fw.bypass
	b.mu.Lock()
	defer b.mu.Unlock()
	for port, p := range b.waiting {
		p.drop()
		_ = p.host.Close()
		delete(b.waiting, port)
	}
	// The notify fds are closed by their serveNotify, which sees the
	// Forwarder closed within its poll interval: closing them here could
	// hand their numbers to other files while it still uses them.
}

// serveNotify answers the notifications of one container's filter until
// every process of it is gone (POLLHUP) or the fd is closed.
func (fw *Forwarder) serveNotify(f *os.File) {
	defer fw.dropNotify(f)
	fd := int(f.Fd())
	for {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, 500)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return
		}
		if fw.isClosed() {
			return
		}
		if n == 0 {
			continue
		}
		if pfd[0].Revents&(unix.POLLHUP|unix.POLLNVAL|unix.POLLERR) != 0 {
			return
		}
		var req seccompNotif
		if err := ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(&req)); err != nil {
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.ENOENT) {
				continue // the target went away before we read it
			}
			return
		}
		go fw.answer(fd, &req)
	}
}

// dropNotify closes a notify fd that is served no more (each `exec` into
// a container brings its own).
func (fw *Forwarder) dropNotify(f *os.File) {
	b := &fw.bypass
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, g := range b.notify {
		if g == f {
			b.notify = append(b.notify[:i], b.notify[i+1:]...)
			_ = f.Close()
			return
		}
	}
}

func (fw *Forwarder) isClosed() bool {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return fw.closed
}

func ioctl(fd int, req uint, arg unsafe.Pointer) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg))
	if e != 0 {
		return e
	}
	return nil
}

// respond completes a notification: errno (0: success with val), or
// continue (the kernel runs the syscall as if nothing had been in the way).
func respond(fd int, id uint64, errno unix.Errno, cont bool) {
	r := seccompResp{ID: id}
	if cont {
		r.Flags = unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE
	} else {
		r.Error = -int32(errno)
	}
	_ = ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&r))
}

func valid(fd int, id uint64) bool {
	return ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_ID_VALID, unsafe.Pointer(&id)) == nil
}

// answer handles one accept(2)/accept4(2): on a listener of a bypassed
// containerPort it accepts on the container's behalf and returns the host
// connection in place of a placeholder; on any other fd the syscall runs
// as usual.
func (fw *Forwarder) answer(nfd int, req *seccompNotif) {
	if req.Nr != unix.SYS_ACCEPT && req.Nr != unix.SYS_ACCEPT4 {
		respond(nfd, req.ID, 0, true)
		return
	}
	lfd, port, ok := fw.targetListener(nfd, req)
	if !ok {
		respond(nfd, req.ID, 0, true)
		return
	}
	defer unix.Close(lfd)
	flags := 0
	if req.Nr == unix.SYS_ACCEPT4 {
		flags = int(req.Args[3])
	}
	fl, err := unix.FcntlInt(uintptr(lfd), unix.F_GETFL, 0)
	if err != nil {
		respond(nfd, req.ID, unix.EBADF, false)
		return
	}
	blocking := fl&unix.O_NONBLOCK == 0
	for {
		if blocking {
			// Wait in slices, so a target interrupted by a signal
			// (its notification gone) does not keep this waiting.
			pfd := []unix.PollFd{{Fd: int32(lfd), Events: unix.POLLIN}}
			n, _ := unix.Poll(pfd, 200)
			if !valid(nfd, req.ID) || fw.isClosed() {
				return
			}
			if n <= 0 {
				continue
			}
		}
		cfd, peer, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) && blocking {
				continue
			}
			var errno unix.Errno
			if !errors.As(err, &errno) {
				errno = unix.EIO
			}
			respond(nfd, req.ID, errno, false)
			return
		}
		host, placeholder := fw.claim(peer)
		if placeholder {
			_ = unix.Close(cfd)
			if host == nil {
				continue // expired: its client went the copy path
			}
			cfd, err = unix.Dup(int(host.Fd()))
			_ = host.Close()
			if err != nil {
				respond(nfd, req.ID, unix.EMFILE, false)
				return
			}
		}
		if err := fw.give(nfd, req, cfd, flags); err != nil && placeholder {
			// The target is gone from its accept (a signal): the
			// client is copied rather than lost.
			fw.copyFile(os.NewFile(uintptr(cfd), "host connection"), net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
			return
		}
		_ = unix.Close(cfd)
		return
	}
}

// targetListener returns a copy of the fd the target accepts on, and its
// port, when it is a TCP listener of a bypassed containerPort.
func (fw *Forwarder) targetListener(nfd int, req *seccompNotif) (fd, port int, ok bool) {
	pidfd, err := openPidfd(int(req.PID))
	if err != nil {
		return -1, 0, false
	}
	defer unix.Close(pidfd)
	lfd, err := unix.PidfdGetfd(pidfd, int(int32(req.Args[0])), 0)
	if err != nil {
		return -1, 0, false
	}
	if !valid(nfd, req.ID) {
		_ = unix.Close(lfd)
		return -1, 0, false
	}
	if v, err := unix.GetsockoptInt(lfd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err != nil || v != 1 {
		_ = unix.Close(lfd)
		return -1, 0, false
	}
	// Go's net.Listen makes MPTCP listeners (since Go 1.24), which
	// accept plain TCP clients.
	if v, err := unix.GetsockoptInt(lfd, unix.SOL_SOCKET, unix.SO_PROTOCOL); err != nil || (v != unix.IPPROTO_TCP && v != unix.IPPROTO_MPTCP) {
		_ = unix.Close(lfd)
		return -1, 0, false
	}
	sa, err := unix.Getsockname(lfd)
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		port = a.Port
	case *unix.SockaddrInet6:
		port = a.Port
	}
	b := &fw.bypass
	b.mu.Lock()
	ok = err == nil && b.ports[port]
	b.mu.Unlock()
	if !ok {
		_ = unix.Close(lfd)
		return -1, 0, false
	}
	return lfd, port, true
}

// openPidfd opens a pidfd for the notification's thread: PIDFD_THREAD
// (Linux 6.9), else one for its thread group, whose fd table it shares.
func openPidfd(tid int) (int, error) {
	fd, err := unix.PidfdOpen(tid, unix.PIDFD_THREAD)
	if !errors.Is(err, unix.EINVAL) {
		return fd, err
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return -1, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Tgid:"); ok {
			tgid, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return -1, err
			}
			return unix.PidfdOpen(tgid, 0)
		}
	}
	return -1, unix.ESRCH
}

// give completes the target's accept with cfd: the peer's address written
// where the target asked for it, then the fd installed in the target and
// its number returned by the syscall (SECCOMP_ADDFD_FLAG_SEND). cfd stays
// the caller's. An error means the target did not get it.
func (fw *Forwarder) give(nfd int, req *seccompNotif, cfd, flags int) error {
	if err := unix.SetNonblock(cfd, flags&unix.SOCK_NONBLOCK != 0); err != nil {
		respond(nfd, req.ID, unix.EIO, false)
		return err
	}
	if addr, lenp := uintptr(req.Args[1]), uintptr(req.Args[2]); addr != 0 && lenp != 0 {
		if err := writePeer(int(req.PID), cfd, addr, lenp); err != nil {
			respond(nfd, req.ID, unix.EFAULT, false)
			return err
		}
	}
	a := seccompAddFD{ID: req.ID, Flags: unix.SECCOMP_ADDFD_FLAG_SEND, SrcFD: uint32(cfd)}
	if flags&unix.SOCK_CLOEXEC != 0 {
		a.NewFDFlags = unix.O_CLOEXEC
	}
	return ioctl(nfd, unix.SECCOMP_IOCTL_NOTIF_ADDFD, unsafe.Pointer(&a))
}

// writePeer writes the peer address of cfd into the target's sockaddr
// buffer at addr, truncated to the size *lenp says, and the full size
// into *lenp, as accept(2) does.
func writePeer(pid, cfd int, addr, lenp uintptr) error {
	raw, err := rawPeer(cfd)
	if err != nil {
		return err
	}
	var l [4]byte
	if _, err := unix.ProcessVMReadv(pid, []unix.Iovec{{Base: &l[0], Len: 4}}, []unix.RemoteIovec{{Base: lenp, Len: 4}}, 0); err != nil {
		return err
	}
	room := int(int32(binary.NativeEndian.Uint32(l[:])))
	n := min(max(room, 0), len(raw))
	if n > 0 {
		if _, err := unix.ProcessVMWritev(pid, []unix.Iovec{{Base: &raw[0], Len: uint64(n)}}, []unix.RemoteIovec{{Base: addr, Len: n}}, 0); err != nil {
			return err
		}
	}
	binary.NativeEndian.PutUint32(l[:], uint32(len(raw)))
	_, err = unix.ProcessVMWritev(pid, []unix.Iovec{{Base: &l[0], Len: 4}}, []unix.RemoteIovec{{Base: lenp, Len: 4}}, 0)
	return err
}

// rawPeer is cfd's peer as the kernel's struct sockaddr_in or sockaddr_in6.
func rawPeer(cfd int) ([]byte, error) {
	sa, err := unix.Getpeername(cfd)
	if err != nil {
		return nil, err
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		b := make([]byte, unix.SizeofSockaddrInet4)
		binary.NativeEndian.PutUint16(b[0:], unix.AF_INET)
		binary.BigEndian.PutUint16(b[2:], uint16(a.Port))
		copy(b[4:8], a.Addr[:])
		return b, nil
	case *unix.SockaddrInet6:
		b := make([]byte, unix.SizeofSockaddrInet6)
		binary.NativeEndian.PutUint16(b[0:], unix.AF_INET6)
		binary.BigEndian.PutUint16(b[2:], uint16(a.Port))
		copy(b[8:24], a.Addr[:])
		binary.NativeEndian.PutUint32(b[24:], a.ZoneId)
		return b, nil
	}
	return nil, unix.EAFNOSUPPORT
}

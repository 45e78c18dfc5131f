// Package slirp gives a pod's network namespace its way out: slirp4netns,
// run directly with --configure (tap0 10.0.2.100/24, gateway 10.0.2.2, DNS
// 10.0.2.3), MTU 65520, its sandbox and seccomp filter on.
//
// Decisions:
//
//   - slirp4netns is run directly rather than through rootlesskit's network
//     driver: the driver wants rootlesskit's parent/child message protocol,
//     and slirp4netns 1.x has had every flag podbox uses since 1.1, so there is
//     nothing to detect.
//   - The host's loopback is off (--disable-host-loopback) unless the pod
//     opts in with the annotation podbox.io/allow-host-loopback: "true"; then
//     the host's 127.0.0.1 is 10.0.2.2 inside the pod.
//   - slirp4netns lives exactly as long as the pod: it gets the read end of a
//     pipe as --exit-fd whose write end only the pod's PID 1 holds, so it exits
//     when the pod does, however the pod dies.
//   - The other way round, the pod must learn when slirp4netns dies (killed,
//     crashed): slirp4netns is not the pod's child, and the `up` that started
//     it may be gone (-d). So it also inherits, as fd 5, the write end of a
//     second pipe (Options.HoldFD) that it never touches and whose read end
//     only the pod's PID 1 holds: PID 1 reads EOF when slirp4netns exits,
//     however it exits. `up` closes its own copies as soon as both sides
//     have theirs.
//
// hostPorts (ports.go). Every containerPort with a hostPort is forwarded,
// TCP or UDP, bound to the port's hostIP, else to 127.0.0.1 only: a
// developer's pod is not published to the network unless the manifest asks.
// Ports are rootlesskit port.Specs, checked with its portutil. Three drivers:
//
//   - builtin (the default), modelled on rootlesskit's builtin driver but
//     with no process left on the host side. A socket keeps the network
//     namespace it was made in, so the `up` process, which runs in the
//     host's network namespace, binds every hostPort (Bind: a TCP listener
//     or a UDP socket) before the pod is cloned, and hands the sockets to
//     the pod's PID 1 as extra files. PID 1, inside the pod's network
//     namespace, accepts on them and dials 127.0.0.1:containerPort in its
//     own, copying both ways (package slirp/relay, standard library only
//     since PID 1 links it; Forward here is a wrapper taking rootlesskit's
//     port.Spec). A pod thus stays at PID 1 + slirp4netns.
//     The server sees its clients as 127.0.0.1 (rootlesskit's builtin
//     driver has the same limit). rootlesskit's own builtin parent driver
//     is not used: its listeners live in a parent process that must stay
//     in the host's network namespace for the pod's whole life and talk to
//     a child half over a socket, a third long-lived process per pod (what
//     Podman's rootlessport is); here the pod's PID 1 already exists and
//     can serve host sockets itself.
//   - slirp4netns (annotation podbox.io/port-driver: slirp4netns, or
//     `podbox up --port-driver slirp4netns` for every pod of the run):
//     slirp4netns runs with --api-socket and forwards each port itself
//     (add_hostfwd, through rootlesskit's slirp4netns port driver) to
//     10.0.2.100. Slower (every byte goes through slirp's user-mode TCP),
//     but the server sees the client's address (10.0.2.2 for a client on
//     the host's loopback) instead of 127.0.0.1.
//   - bypass (annotation podbox.io/port-driver: bypass, or --port-driver
//     bypass; opt-in while it is new): builtin, plus slirp/relay's seccomp
//     agent: every container's filter sends accept(2)/accept4(2) to the
//     pod's PID 1 (linux.seccomp.listenerPath, SCMP_ACT_NOTIFY), which
//     answers an accept on a TCP hostPort's containerPort with the host
//     client's own connection, so the bytes cross one TCP connection
//     instead of two: about host loopback's throughput at less CPU, where
//     the copy reaches 0.4-0.6x on a loaded 2-core machine (figures in
//     slirp/relay's doc). The server sees the client's address. UDP is
//     copied as with builtin. Opt-in until it has a probe: it needs
//     Linux >= 5.14 (SECCOMP_ADDFD_FLAG_SEND) and runc >= 1.1 or crun, and
//     a server whose accept escapes the filter (io_uring) gets its clients
//     2 s late, copied.
//
// Whichever the driver, a port that cannot be bound fails `up` before anything starts
// and nothing stays bound: in use ("hostPort 8001: 127.0.0.1:8001 is in use
// by another process"), below net.ipv4.ip_unprivileged_port_start (the
// error names the sysctl and the command to lower it: the user namespace
// does not own the host's network namespace, so CAP_NET_BIND_SERVICE in it
// does not help), or a hostIP that is not the host's. The ports are free
// again once the pod's PID 1 (builtin, bypass) or slirp4netns exits.
package slirp

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/rootless-containers/rootlesskit/v3/pkg/port"
	"golang.org/x/sys/unix"
)

// AnnotationAllowHostLoopback lets a pod reach the host's 127.0.0.1 as 10.0.2.2.
const AnnotationAllowHostLoopback = "podbox.io/allow-host-loopback"

// Addresses inside the pod.
const (
	PodIP   = "10.0.2.100"
	Gateway = "10.0.2.2"
	DNS     = "10.0.2.3"
	MTU     = 65520
)

// ErrTunDenied reports that the user may not open /dev/net/tun.
var ErrTunDenied = &hintError{
	msg:  "opening /dev/net/tun: permission denied",
	hint: "let your user open /dev/net/tun: sudo chmod 0666 /dev/net/tun",
}

// ErrNotInstalled reports that slirp4netns is missing.
var ErrNotInstalled = &hintError{
	msg:  "slirp4netns not found",
	hint: "install the slirp4netns package: sudo apt-get install slirp4netns",
}

type hintError struct{ msg, hint string }

func (e *hintError) Error() string { return e.msg }

// Hint says how to fix the error.
func (e *hintError) Hint() string { return e.hint }

// Options say how to connect one network namespace.
type Options struct {
	PID               int      // required: a process in the target network namespace
	ExitFD            *os.File // required: slirp4netns exits when this pipe's write end closes
	AllowHostLoopback bool     // the host's 127.0.0.1 reachable as 10.0.2.2
	LogPath           string   // "": slirp4netns's output is discarded
	// APISocket is where slirp4netns serves its API; "": no API. Required
	// with Ports.
	APISocket string
	// Ports are forwarded by slirp4netns itself (the slirp4netns port
	// driver) once it is ready; nil: none.
	Ports []port.Spec
	// HoldFD is passed to slirp4netns as fd 5, which it never uses: the
	// write end of a pipe whose reader learns of slirp4netns's death by
	// EOF, however it dies. nil: none.
	HoldFD *os.File
}

// Network is a running slirp4netns.
type Network struct {
	Cmd *exec.Cmd
}

// Find returns the path of slirp4netns.
func Find() (string, error) {
	if p, err := exec.LookPath("slirp4netns"); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/bin", "/usr/sbin", "/usr/local/bin", "/bin"} {
		if _, err := os.Stat(d + "/slirp4netns"); err == nil {
			return d + "/slirp4netns", nil
		}
	}
	return "", ErrNotInstalled
}

// CheckTun checks that this user may open /dev/net/tun, which slirp4netns
// needs, so that the error names the fix instead of a failed pod.
func CheckTun() error {
	f, err := os.OpenFile("/dev/net/tun", os.O_RDWR, 0)
	if err == nil {
		return f.Close()
	}
	if errors.Is(err, fs.ErrPermission) {
		return ErrTunDenied
	}
	return fmt.Errorf("opening /dev/net/tun: %w", err)
}

// Start runs slirp4netns for the network namespace of o.PID and waits until
// it has configured tap0. The process runs in its own session, so a Ctrl-C
// on the terminal does not reach it; it is not waited for here (the caller
// may, or may leave it to init: it exits with the pod).
func Start(o Options) (*Network, error) {
	path, err := Find()
	if err != nil {
		return nil, err
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer readyR.Close()
	cmd := exec.Command(path, args(o)...)
	if len(o.APISocket) >= maxSunPath {
		// Too long for sun_path: slirp4netns binds it by its base name
		// from its directory.
		cmd.Dir = filepath.Dir(o.APISocket)
		cmd.Args = append([]string{path}, args(Options{PID: o.PID, AllowHostLoopback: o.AllowHostLoopback, APISocket: filepath.Base(o.APISocket)})...)
	}
	cmd.ExtraFiles = []*os.File{readyW, o.ExitFD}
	if o.HoldFD != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, o.HoldFD)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if o.LogPath != "" {
		lf, err := os.OpenFile(o.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			readyW.Close()
			return nil, err
		}
		defer lf.Close()
		cmd.Stdout, cmd.Stderr = lf, lf
	}
	err = cmd.Start()
	readyW.Close()
	if err != nil {
		return nil, fmt.Errorf("starting slirp4netns: %w", err)
	}
	ready := make(chan error, 1)
	go func() {
		b := make([]byte, 1)
		n, err := readyR.Read(b)
		if n == 1 && b[0] == '1' {
			ready <- nil
			return
		}
		ready <- fmt.Errorf("slirp4netns exited before it was ready (%v)", err)
	}()
	select {
	case err = <-ready:
	case <-time.After(10 * time.Second):
		err = errors.New("slirp4netns not ready after 10s")
	}
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if o.LogPath != "" {
			if b, _ := os.ReadFile(o.LogPath); len(b) > 0 {
				err = fmt.Errorf("%w: %s", err, lastLine(string(b)))
			}
		}
		return nil, err
	}
	if len(o.Ports) > 0 {
		if err := addHostFwdAt(o.APISocket, o.Ports); err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return nil, err
		}
	}
	return &Network{Cmd: cmd}, nil
}

// maxSunPath is the size of sun_path in struct sockaddr_un, NUL included.
const maxSunPath = 108

// addHostFwdAt is addHostFwd for an API socket path of any length: a long
// one is reached as /proc/self/fd/N/<base>, N a descriptor of its
// directory.
func addHostFwdAt(apiSocket string, specs []port.Spec) error {
	if len(apiSocket) < maxSunPath {
		return addHostFwd(apiSocket, specs)
	}
	dir, err := os.OpenFile(filepath.Dir(apiSocket), unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return fmt.Errorf("opening the directory of %s: %w", apiSocket, err)
	}
	defer dir.Close()
	return addHostFwd(fmt.Sprintf("/proc/self/fd/%d/%s", dir.Fd(), filepath.Base(apiSocket)), specs)
}

// args is slirp4netns's command line: the ready pipe is fd 3, the exit
// pipe fd 4.
func args(o Options) []string {
	a := []string{"--configure", "--mtu=" + strconv.Itoa(MTU), "--enable-sandbox", "--enable-seccomp",
		"--ready-fd=3", "--exit-fd=4"}
	if !o.AllowHostLoopback {
		a = append(a, "--disable-host-loopback")
	}
	if o.APISocket != "" {
		a = append(a, "--api-socket="+o.APISocket)
	}
	return append(a, strconv.Itoa(o.PID), "tap0")
}

func lastLine(s string) string {
	for len(s) > 0 && s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			return s[i+1:]
		}
	}
	return s
}

package pod

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/podbox/podbox/sandbox/podproto"
	"golang.org/x/sys/unix"
)

// The control socket: HTTP+JSON on a unix socket in the pod's runtime dir
// (http.go speaks the HTTP).
//
//	GET  /pod     the pod with its status, a v1.Pod in JSON
//	GET  /events  the pod's events, a v1.EventList in JSON
//	POST /stop    stop the pod (202); it removes itself, then its process exits.
//	              ?gracePeriodSeconds=N shortens its grace period (0: SIGKILL now)
//	POST /exec    run a process in a container (exec.go): an ExecRequest,
//	              then 101 Switching Protocols and the stdio by SCM_RIGHTS
//	POST /portforward?port=N  a TCP socket connected to the pod's port N, by
//	              SCM_RIGHTS after 101 (tools.go)
//	POST /root?container=C    the container's root directory, O_PATH, by
//	              SCM_RIGHTS after 101 (tools.go)
//
// The server also saves the pod and its events beside the socket
// (status.json) whenever they change, so that a pod whose process died
// still answers `get` and `describe` with its last known status.
type ctlServer struct {
	ln        *net.UnixListener
	stopSaver chan struct{}
	saverDone chan struct{}
}

func serveCtl(dirs podproto.Dirs, p *podProc) (*ctlServer, error) {
	sock := dirs.CtlSock()
	_ = os.Remove(sock)
	short, done, err := sockPath(sock)
	if err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: short, Net: "unix"})
	done()
	if err != nil {
		return nil, err
	}
	if short != sock {
		// The name it was bound by is gone with the descriptor; the
		// socket goes with the pod's directory.
		ln.SetUnlinkOnClose(false)
	}
	s := &ctlServer{ln: ln, stopSaver: make(chan struct{}), saverDone: make(chan struct{})}
	go serveHTTP(ln, p.serveCtlRequest)
	go s.save(dirs.StatusFile(), p)
	return s, nil
}

// serveCtlRequest answers one request to the control socket.
func (p *podProc) serveCtlRequest(w *responder, r *request) {
	route := r.method + " " + r.path
	switch route {
	case "GET /pod":
		w.reply(200, p.state.snapshot())
	case "GET /events":
		w.reply(200, podproto.EventList{APIVersion: "v1", Kind: "List", Items: p.state.events.list()})
	case "POST /stop":
		var grace *time.Duration
		if v := r.query.Get("gracePeriodSeconds"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				w.fail(400, "gracePeriodSeconds: not a number of seconds: "+v)
				return
			}
			grace = ptr(time.Duration(n) * time.Second)
		}
		p.requestStop(grace)
		w.reply(202, nil)
	case "POST /exec":
		p.serveExec(w, r)
	case "POST /portforward":
		p.servePortForward(w, r)
	case "POST /root":
		p.serveRoot(w, r)
	default:
		switch r.path {
		case "/pod", "/events", "/stop", "/exec", "/portforward", "/root":
			w.fail(405, "method not allowed: "+r.method)
		default:
			w.fail(404, "not found: "+r.path)
		}
	}
}

// revision changes whenever the pod's status or events change.
func (p *podProc) revision() int { return p.state.revision() + p.state.events.revision() }

// save writes status.json when the pod changes, checking a few times a
// second, until close. Once the pod has been quiet for a second after a
// change, it drops its mappings of the program's pages (unmapProgram):
// what the change touched stays mapped otherwise, for the pod's life.
func (s *ctlServer) save(path string, p *podProc) {
	defer close(s.saverDone)
	last := -1
	quiet := -1 // ticks since the last change; -1: trimmed since
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		if rev := p.revision(); rev != last {
			last, quiet = rev, 0
			b, err := json.Marshal(podproto.Saved{Pod: p.state.snapshot(), Events: p.state.events.list()})
			if err == nil {
				tmp := path + ".tmp"
				if os.WriteFile(tmp, b, 0o600) == nil {
					_ = os.Rename(tmp, path)
				}
			}
		} else if quiet >= 0 {
			if quiet++; quiet >= 4 {
				unmapProgram()
				quiet = -1
			}
		}
		select {
		case <-tick.C:
		case <-s.stopSaver:
			return
		}
	}
}

// close stops serving and saving; what is saved stays until the pod's
// directory is removed. A request being answered finishes on its own.
func (s *ctlServer) close() {
	close(s.stopSaver)
	<-s.saverDone
	_ = s.ln.Close()
}

// maxSunPath is the size of sun_path in struct sockaddr_un, NUL included.
const maxSunPath = 108

// sockPath returns a path by which the unix socket at path can be bound
// even if path is longer than sun_path: /proc/PID/fd/N/<base>, N an O_PATH
// descriptor of its directory (as Podman reaches conmon's sockets). PID is
// this process's pid, so another process (the runtime connecting to a
// console socket) can use it too. Call done once the socket is bound.
func sockPath(path string) (p string, done func(), err error) {
	if len(path) < maxSunPath {
		return path, func() {}, nil
	}
	i := strings.LastIndexByte(path, '/')
	dir, base := path[:i], path[i+1:]
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, fmt.Errorf("opening %s: %w", dir, err)
	}
	return "/proc/" + strconv.Itoa(os.Getpid()) + "/fd/" + strconv.Itoa(fd) + "/" + base, func() { unix.Close(fd) }, nil
}

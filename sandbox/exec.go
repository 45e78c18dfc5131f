package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/podbox/podbox/sandbox/ociruntime"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
	corev1 "k8s.io/api/core/v1"
)

// exec: `podbox exec POD [-c CTR] [-i] [-t] -- CMD…`.
//
//	CLI                                   pod's PID 1 (ctl.sock)
//	POST /exec {container, command, …} →
//	                                    ← 404 / 409 {"error"} (unknown, not running)
//	                                    ← 101 Switching Protocols
//	1 byte + SCM_RIGHTS(its stdin?, stdout, stderr) (none with -t) →
//	                                      runc exec -d --process P --pid-file F
//	                                        [--console-socket S] (terminal: true in P)
//	                                      through the reaper, with those fds as stdio;
//	                                      runc exits, PID 1 reaps the process
//	                                    ← with -t: 't' + SCM_RIGHTS(pty master), or 'n'
//	(-t: raw terminal ⇄ master, SIGWINCH → TIOCSWINSZ)
//	                                    ← {"exitCode": N} when the process ends
//
// Without a terminal the process writes to the CLI's own files: nothing is
// copied through podbox. If the CLI goes away first, the process gets
// SIGHUP, then SIGKILL 2 s later.

// ErrContainerNotRunning reports an exec into a container that does not run.
var ErrContainerNotRunning = errors.New("container not running")

// ExecOptions say what to run in which container, with which stdio.
type ExecOptions struct {
	Pod       string   // required
	Container string   // "": the pod's first app container, as kubectl
	Command   []string // required
	Stdin     bool     // -i: the process reads In; else /dev/null
	TTY       bool     // -t: the process gets a terminal, copied to and from In and Out
	In        *os.File // required: podbox's stdin
	Out       *os.File // required: podbox's stdout
	Err       *os.File // required: podbox's stderr
}

type execRequest struct {
	Container string   `json:"container,omitempty"`
	Command   []string `json:"command"`
	Stdin     bool     `json:"stdin,omitempty"`
	TTY       bool     `json:"tty,omitempty"`
	Rows      uint     `json:"rows,omitempty"` // the terminal's size, with TTY
	Cols      uint     `json:"cols,omitempty"`
	Term      string   `json:"term,omitempty"` // $TERM, with TTY
}

type execReply struct {
	ExitCode int    `json:"exitCode"`
	Error    string `json:"error,omitempty"` // the runtime could not run the command
	// Shown: the runtime wrote Error to the client's own stderr already
	// (without a terminal, its stderr is the process's).
	Shown bool `json:"shown,omitempty"`
}

// execError is how the pod refused an exec: a message for the user and a
// sentinel for callers.
type execError struct {
	msg string
	err error
}

func (e *execError) Error() string { return e.msg }
func (e *execError) Unwrap() error { return e.err }

// Exec runs a command in a running container of a pod and returns its exit
// code. It talks to the pod's control socket from wherever podbox runs:
// the pod's PID 1 runs the runtime's exec from inside the pod.
func Exec(ctx context.Context, o ExecOptions) (int, error) {
	if len(o.Command) == 0 {
		return 0, errors.New("exec: no command")
	}
	sock, err := livePodSocket(o.Pod)
	if err != nil {
		return 0, err
	}
	short, done, err := sockPath(sock)
	if err != nil {
		return 0, fmt.Errorf("pod %q: %w", o.Pod, err)
	}
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: short, Net: "unix"})
	done()
	if err != nil {
		return 0, fmt.Errorf("pod %q: %w: %w", o.Pod, errCtlDead, err)
	}
	defer conn.Close()
	req := execRequest{Container: o.Container, Command: o.Command, Stdin: o.Stdin, TTY: o.TTY}
	if o.TTY {
		req.Term = os.Getenv("TERM")
		if w, h, err := term.GetSize(int(o.Out.Fd())); err == nil {
			req.Cols, req.Rows = uint(w), uint(h)
		} else if w, h, err := term.GetSize(int(o.In.Fd())); err == nil {
			req.Cols, req.Rows = uint(w), uint(h)
		}
	}
	body, _ := json.Marshal(req)
	hreq, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://pod/exec", bytes.NewReader(body))
	hreq.Header.Set("Content-Type", "application/json")
	if err := hreq.Write(conn); err != nil {
		return 0, fmt.Errorf("pod %q: %w: %w", o.Pod, errCtlDead, err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, hreq)
	if err != nil {
		return 0, fmt.Errorf("pod %q: %w: %w", o.Pod, errCtlDead, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer resp.Body.Close()
		var e struct {
			Error string `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		if e.Error == "" {
			e.Error = resp.Status
		}
		msg := fmt.Sprintf("pod %q: %s", o.Pod, e.Error)
		switch resp.StatusCode {
		case http.StatusNotFound:
			return 0, &execError{msg, ErrContainerNotFound}
		case http.StatusConflict:
			return 0, &execError{msg, ErrContainerNotRunning}
		}
		return 0, errors.New(msg)
	}
	// Nothing more comes from the pod until it has our stdio.
	if br.Buffered() != 0 {
		return 0, fmt.Errorf("pod %q: exec: unexpected data after the upgrade", o.Pod)
	}
	var fds []int
	if !o.TTY {
		if o.Stdin {
			fds = append(fds, int(o.In.Fd()))
		}
		fds = append(fds, int(o.Out.Fd()), int(o.Err.Fd()))
	}
	var rights []byte
	if len(fds) > 0 {
		rights = unix.UnixRights(fds...)
	}
	if _, _, err := conn.WriteMsgUnix([]byte{0}, rights, nil); err != nil {
		return 0, fmt.Errorf("pod %q: passing the stdio: %w", o.Pod, err)
	}
	var outDone chan struct{}
	if o.TTY {
		master, err := recvConsole(conn)
		if err != nil {
			return 0, fmt.Errorf("pod %q: %w", o.Pod, err)
		}
		if master != nil {
			defer master.Close()
			restore := attachTerminal(master, o)
			defer restore()
			outDone = make(chan struct{})
			go func() {
				_, _ = io.Copy(o.Out, master) // ends with EIO when the process is gone
				close(outDone)
			}()
		}
	}
	var reply execReply
	if err := json.NewDecoder(br).Decode(&reply); err != nil {
		return 0, fmt.Errorf("pod %q: the pod went away during exec: %w", o.Pod, err)
	}
	if outDone != nil {
		select { // the last output, unless something else holds the terminal
		case <-outDone:
		case <-time.After(2 * time.Second):
		}
	}
	if reply.Error != "" && !reply.Shown {
		return reply.ExitCode, &execError{fmt.Sprintf("pod %q: exec: %s", o.Pod, reply.Error), nil}
	}
	return reply.ExitCode, nil
}

// livePodSocket returns the control socket of a running pod.
func livePodSocket(name string) (string, error) {
	if err := ValidatePodName(name); err != nil {
		return "", err
	}
	if err := checkPodsDirs(); err != nil {
		return "", err
	}
	dirs := PodDirs(name)
	_, errRun := os.Stat(dirs.Run)
	_, errData := os.Stat(dirs.Data)
	if errRun != nil && errData != nil {
		return "", fmt.Errorf("pod %q: %w", name, ErrPodNotFound)
	}
	if _, ok := livePodProcess(name); !ok {
		return "", fmt.Errorf("pod %q is gone: its process died (podbox down %s removes what is left)", name, name)
	}
	return dirs.ctlSock(), nil
}

// recvConsole reads the console frame: the pty master, or nil if the
// runtime never sent one (it failed first: the reply says why).
func recvConsole(conn *net.UnixConn) (*os.File, error) {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil || n != 1 {
		return nil, fmt.Errorf("receiving the terminal: %v", err)
	}
	if buf[0] != 't' {
		return nil, nil
	}
	fds, err := parseRights(oob[:oobn])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("receiving the terminal: %v", err)
	}
	return os.NewFile(uintptr(fds[0]), "pty-master"), nil
}

func parseRights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for _, m := range msgs {
		f, err := unix.ParseUnixRights(&m)
		if err != nil {
			return nil, err
		}
		fds = append(fds, f...)
	}
	return fds, nil
}

// attachTerminal puts podbox's terminal in raw mode (with -i), copies its
// input to master, keeps master's window size the terminal's, and returns
// how to restore the terminal.
func attachTerminal(master *os.File, o ExecOptions) (restore func()) {
	restore = func() {}
	inFd := int(o.In.Fd())
	if o.Stdin && term.IsTerminal(inFd) {
		if old, err := term.MakeRaw(inFd); err == nil {
			restore = func() { _ = term.Restore(inFd, old) }
		}
	}
	resize := func() {
		for _, fd := range []int{int(o.Out.Fd()), inFd} {
			if w, h, err := term.GetSize(fd); err == nil {
				_ = unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: uint16(h), Col: uint16(w)})
				return
			}
		}
	}
	resize()
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, unix.SIGWINCH)
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-winch:
				resize()
			case <-stop:
				return
			}
		}
	}()
	if o.Stdin {
		go func() { _, _ = io.Copy(master, o.In) }()
	}
	r := restore
	return func() {
		signal.Stop(winch)
		close(stop)
		r()
	}
}

// execHandler serves POST /exec in the pod's PID 1.
func (p *podProc) execHandler() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req execRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil || len(req.Command) == 0 {
			httpError(w, http.StatusBadRequest, "exec: bad request")
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		c, status, err := p.execTarget(req.Container)
		if err != nil {
			httpError(w, status, err.Error())
			return
		}
		hj, ok := w.(http.Hijacker)
		if !ok {
			httpError(w, http.StatusInternalServerError, "exec: cannot take over the connection")
			return
		}
		conn, brw, err := hj.Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		uc, ok := conn.(*net.UnixConn)
		if !ok || brw.Reader.Buffered() != 0 {
			return
		}
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: podbox-exec\r\nConnection: Upgrade\r\n\r\n")
		if brw.Flush() != nil {
			return
		}
		reply := p.runExec(uc, c, req)
		_ = json.NewEncoder(uc).Encode(reply)
	}
}

func httpError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// execTarget finds the container an exec names ("": the first app
// container) and checks that it runs; the int is the HTTP status of a
// refusal.
func (p *podProc) execTarget(name string) (*container, int, error) {
	if name == "" {
		name = p.w.Pod.Spec.Containers[0].Name
	}
	c, ok := p.ctrs[name]
	if !ok {
		return nil, http.StatusNotFound, fmt.Errorf("container %q not found", name)
	}
	c.mu.Lock()
	created := c.created
	c.mu.Unlock()
	if cs := p.state.containerStatus(name); !created || cs == nil || cs.State.Running == nil {
		how := ""
		if cs != nil {
			switch s := cs.State; {
			case s.Terminated != nil:
				how = fmt.Sprintf(" (terminated: %s, exit code %d)", s.Terminated.Reason, s.Terminated.ExitCode)
			case s.Waiting != nil:
				how = fmt.Sprintf(" (waiting: %s)", s.Waiting.Reason)
			}
		}
		return nil, http.StatusConflict, fmt.Errorf("container %s is not running%s", name, how)
	}
	return c, 0, nil
}

// runExec runs req in c with the stdio the client sends on uc, and returns
// how it ended.
func (p *podProc) runExec(uc *net.UnixConn, c *container, req execRequest) execReply {
	fail := func(err error) execReply {
		logrus.Warnf("[podbox:pod] exec in %q: %v", c.spec.Name, err)
		return execReply{ExitCode: 126, Error: err.Error()}
	}
	// The client's stdio: stdin (with -i), stdout, stderr; none with -t.
	_ = uc.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(3*4))
	_, oobn, _, _, err := uc.ReadMsgUnix(buf, oob)
	_ = uc.SetReadDeadline(time.Time{})
	if err != nil {
		return fail(fmt.Errorf("receiving the stdio: %w", err))
	}
	fds, err := parseRights(oob[:oobn])
	var files []*os.File
	for i, fd := range fds {
		files = append(files, os.NewFile(uintptr(fd), "stdio"+strconv.Itoa(i)))
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	want := 0
	if !req.TTY {
		want = 2
		if req.Stdin {
			want = 3
		}
	}
	if err != nil || len(files) != want {
		return fail(fmt.Errorf("receiving the stdio: got %d files, want %d (%v)", len(files), want, err))
	}
	procFile, err := c.execProcess(req)
	if err != nil {
		return fail(err)
	}
	base := strings.TrimSuffix(procFile, ".json")
	defer os.Remove(procFile)
	o := ociruntime.ExecOptions{ProcessFile: procFile, PidFile: base + ".pid", Log: base + ".log"}
	defer os.Remove(o.PidFile)
	defer os.Remove(o.Log)
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return fail(err)
	}
	defer devnull.Close()
	var console *net.UnixListener
	consoleDone := make(chan struct{})
	if req.TTY {
		dir, err := os.MkdirTemp("", "podbox-exec-")
		if err != nil {
			return fail(err)
		}
		defer os.RemoveAll(dir)
		// A long TMPDIR would not fit in sun_path: the runtime, a child
		// of this PID 1, reaches the socket through /proc/1/fd/N then.
		short, done, err := sockPath(filepath.Join(dir, "console.sock"))
		if err != nil {
			return fail(err)
		}
		defer done()
		o.ConsoleSocket = short
		if console, err = net.ListenUnix("unix", &net.UnixAddr{Name: o.ConsoleSocket, Net: "unix"}); err != nil {
			return fail(err)
		}
		defer console.Close()
		go func() {
			defer close(consoleDone)
			passConsole(console, uc)
		}()
		// The runtime's own errors are in its log.
		o.Stdin, o.Stdout, o.Stderr = devnull, devnull, devnull
	} else {
		close(consoleDone)
		o.Stdin = devnull
		if req.Stdin {
			o.Stdin, files = files[0], files[1:]
		}
		o.Stdout, o.Stderr = files[0], files[1]
	}
	pid, err := p.rt.Exec(context.Background(), c.id, o)
	if console != nil {
		// The runtime has handed over the terminal, or never will.
		console.Close()
	}
	<-consoleDone
	if err != nil {
		// The runtime's own words (no such command, not running any
		// more); 127 for a missing executable, as Podman says it. runc
		// says "executable file not found", crun "executable file `x`
		// not found in $PATH: No such file or directory".
		msg := ociruntime.LogError(o.Log)
		if msg == "" {
			msg = err.Error()
		}
		code := 126
		if lower := strings.ToLower(msg); strings.Contains(lower, "executable file not found") || strings.Contains(lower, "no such file or directory") {
			code = 127
		}
		return execReply{ExitCode: code, Error: msg, Shown: !req.TTY}
	}
	// The runtime has exited: the process is PID 1's orphan, reaped by
	// the reaper like a container's.
	exited := p.reaper.register(pid)
	// The client hangs up: the process gets SIGHUP, then SIGKILL.
	hangup := make(chan struct{})
	go func() {
		b := make([]byte, 1)
		for {
			if _, err := uc.Read(b); err != nil {
				close(hangup)
				return
			}
		}
	}()
	var ws unix.WaitStatus
	select {
	case ws = <-exited:
	case <-hangup:
		logrus.Infof("[podbox:pod] exec in %q: the client went away: SIGHUP, SIGKILL after 2s", c.spec.Name)
		_ = unix.Kill(pid, unix.SIGHUP)
		select {
		case ws = <-exited:
		case <-time.After(2 * time.Second):
			_ = unix.Kill(pid, unix.SIGKILL)
			ws = <-exited
		}
	}
	return execReply{ExitCode: exitCode(ws)}
}

// passConsole receives the pty master the runtime sends to the console
// socket and passes it on to the client: 't' with the fd, or 'n' if the
// runtime never connected (it failed; the reply says why).
func passConsole(ln *net.UnixListener, client *net.UnixConn) {
	_ = ln.SetDeadline(time.Now().Add(30 * time.Second))
	conn, err := ln.AcceptUnix()
	if err != nil {
		_, _, _ = client.WriteMsgUnix([]byte{'n'}, nil, nil)
		return
	}
	defer conn.Close()
	buf := make([]byte, 4096) // the runtime sends the pty's name with it
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	fds, perr := parseRights(oob[:max(oobn, 0)])
	if err != nil || perr != nil || len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		_, _, _ = client.WriteMsgUnix([]byte{'n'}, nil, nil)
		return
	}
	_, _, _ = client.WriteMsgUnix([]byte{'t'}, unix.UnixRights(fds[0]), nil)
	unix.Close(fds[0])
}

// execProcess writes the process of an exec: the container's own (user,
// env, cwd, capabilities) with the command's args, and returns its path.
func (c *container) execProcess(req execRequest) (string, error) {
	b, err := os.ReadFile(filepath.Join(c.bundle, "config.json"))
	if err != nil {
		return "", err
	}
	var spec specs.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return "", fmt.Errorf("reading the container's spec: %w", err)
	}
	if spec.Process == nil {
		return "", errors.New("the container's spec has no process")
	}
	proc := *spec.Process
	proc.Args = req.Command
	proc.Terminal = req.TTY
	proc.ConsoleSize = nil
	if req.TTY {
		if req.Rows > 0 && req.Cols > 0 {
			proc.ConsoleSize = &specs.Box{Height: req.Rows, Width: req.Cols}
		}
		if req.Term != "" && !hasEnv(proc.Env, "TERM") {
			proc.Env = append(append([]string(nil), proc.Env...), "TERM="+req.Term)
		}
	}
	f, err := os.CreateTemp(c.bundle, "exec-*.json")
	if err != nil {
		return "", err
	}
	defer f.Close()
	if err := json.NewEncoder(f).Encode(&proc); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

func hasEnv(env []string, key string) bool {
	for _, e := range env {
		if strings.HasPrefix(e, key+"=") {
			return true
		}
	}
	return false
}

// containerStatus returns a copy of container name's status, nil if none.
func (s *podState) containerStatus(name string) *corev1.ContainerStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, list := range [][]corev1.ContainerStatus{s.pod.Status.InitContainerStatuses, s.pod.Status.ContainerStatuses} {
		for i := range list {
			if list[i].Name == name {
				cs := list[i].DeepCopy()
				return cs
			}
		}
	}
	return nil
}

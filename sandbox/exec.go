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
	"time"

	"github.com/podbox/podbox/sandbox/podproto"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// exec: `podbox exec POD [-c CTR] [-i] [-t] -- CMD…`, the CLI's half (the
// pod's is sandbox/pod/exec.go).
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
	req := podproto.ExecRequest{Container: o.Container, Command: o.Command, Stdin: o.Stdin, TTY: o.TTY}
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
	var reply podproto.ExecReply
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
	fds, err := podproto.ParseRights(oob[:oobn])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("receiving the terminal: %v", err)
	}
	return os.NewFile(uintptr(fds[0]), "pty-master"), nil
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

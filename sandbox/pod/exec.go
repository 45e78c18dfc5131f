package pod

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/podbox/podbox/sandbox/ociruntime"
	"github.com/podbox/podbox/sandbox/podproto"
	"golang.org/x/sys/unix"
)

// exec, the pod's half (the CLI's is sandbox/exec.go):
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
//	                                    ← {"exitCode": N} when the process ends
//
// If the CLI goes away first, the process gets SIGHUP, then SIGKILL 2 s
// later.

// serveExec serves POST /exec: it checks the request and the container,
// switches protocols, runs the process with the stdio the client sends
// and answers with how it ended.
func (p *podProc) serveExec(w *responder, r *request) {
	var req podproto.ExecRequest
	if err := json.Unmarshal(r.body, &req); err != nil || len(req.Command) == 0 {
		w.fail(400, "exec: bad request")
		return
	}
	c, status, err := p.execTarget(req.Container)
	if err != nil {
		w.fail(status, err.Error())
		return
	}
	uc := w.upgrade("podbox-exec")
	if uc == nil {
		return
	}
	reply := p.runExec(uc, c, req)
	_ = json.NewEncoder(uc).Encode(reply)
}

// execTarget finds the container an exec names ("": the first app
// container) and checks that it runs; the int is the HTTP status of a
// refusal.
func (p *podProc) execTarget(name string) (*container, int, error) {
	if name == "" {
		name = p.firstApp()
	}
	c, ok := p.byName[name]
	if !ok {
		return nil, 404, fmt.Errorf("container %q not found", name)
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
		return nil, 409, fmt.Errorf("container %s is not running%s", name, how)
	}
	return c, 0, nil
}

// runExec runs req in c with the stdio the client sends on uc, and returns
// how it ended.
func (p *podProc) runExec(uc *net.UnixConn, c *container, req podproto.ExecRequest) podproto.ExecReply {
	fail := func(err error) podproto.ExecReply {
		log.warnf("exec in %q: %v", c.spec.Name, err)
		return podproto.ExecReply{ExitCode: 126, Error: err.Error()}
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
	fds, err := podproto.ParseRights(oob[:oobn])
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
	pid, err := p.rt.Exec(context.Background(), c.spec.ID, o)
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
		return podproto.ExecReply{ExitCode: code, Error: msg, Shown: !req.TTY}
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
		log.infof("exec in %q: the client went away: SIGHUP, SIGKILL after 2s", c.spec.Name)
		_ = unix.Kill(pid, unix.SIGHUP)
		select {
		case ws = <-exited:
		case <-time.After(2 * time.Second):
			_ = unix.Kill(pid, unix.SIGKILL)
			ws = <-exited
		}
	}
	return podproto.ExecReply{ExitCode: exitCode(ws)}
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
	fds, perr := podproto.ParseRights(oob[:max(oobn, 0)])
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
func (c *container) execProcess(req podproto.ExecRequest) (string, error) {
	b, err := os.ReadFile(filepath.Join(c.spec.Bundle, "config.json"))
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
	f, err := os.CreateTemp(c.spec.Bundle, "exec-*.json")
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

// firstApp is the container an exec without -c runs in: the first app
// container, as kubectl.
func (p *podProc) firstApp() string {
	for _, c := range p.ctrs {
		if !c.spec.Init {
			return c.spec.Name
		}
	}
	return ""
}

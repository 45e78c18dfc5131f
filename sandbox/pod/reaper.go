package pod

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// reaper is the pod's PID 1 duty: one goroutine handles SIGCHLD and reaps
// every child with wait4(-1), so orphans re-parented to the pod (the
// containers' processes once `runc create` has exited) do not stay zombies.
// Any process the pod starts itself is started under mu and registered by
// pid before the reaper can see it exit, so no exit status is stolen from
// the code waiting for it. Exits of pids nobody registered yet are kept a
// few seconds for a late registration: a container's pid is known only
// when `runc create` returns.
type reaper struct {
	mu      sync.Mutex
	waiting map[int]chan unix.WaitStatus
	early   map[int]earlyExit
	sigs    chan os.Signal
	stop    chan struct{}
	done    chan struct{}
}

type earlyExit struct {
	ws unix.WaitStatus
	at time.Time
}

func newReaper() *reaper {
	r := &reaper{
		waiting: map[int]chan unix.WaitStatus{},
		early:   map[int]earlyExit{},
		sigs:    make(chan os.Signal, 16),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	signal.Notify(r.sigs, unix.SIGCHLD)
	go r.loop()
	return r
}

func (r *reaper) loop() {
	defer close(r.done)
	tick := time.NewTicker(time.Second) // in case a SIGCHLD was coalesced away
	defer tick.Stop()
	for {
		select {
		case <-r.sigs:
		case <-tick.C:
		case <-r.stop:
			return
		}
		r.reap()
	}
}

func (r *reaper) reap() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			break
		}
		if ch, ok := r.waiting[pid]; ok {
			delete(r.waiting, pid)
			ch <- ws
			continue
		}
		r.early[pid] = earlyExit{ws, time.Now()}
	}
	for pid, e := range r.early {
		if time.Since(e.at) > 10*time.Second {
			delete(r.early, pid)
		}
	}
}

// close stops reaping; processes started after it are waited for by Go.
func (r *reaper) close() {
	signal.Stop(r.sigs)
	close(r.stop)
	<-r.done
}

// register returns the channel pid's exit status arrives on. Call it with
// mu held right after starting pid, or as soon as a pid becomes known.
func (r *reaper) registerLocked(pid int) chan unix.WaitStatus {
	ch := make(chan unix.WaitStatus, 1)
	if e, ok := r.early[pid]; ok {
		delete(r.early, pid)
		ch <- e.ws
		return ch
	}
	r.waiting[pid] = ch
	return ch
}

func (r *reaper) register(pid int) chan unix.WaitStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.registerLocked(pid)
}

// run runs cmd to its end with the reaper collecting its status; it is the
// OCI runtime's Run hook.
func (r *reaper) run(cmd *exec.Cmd) error {
	r.mu.Lock()
	if err := cmd.Start(); err != nil {
		r.mu.Unlock()
		return err
	}
	ch := r.registerLocked(cmd.Process.Pid)
	r.mu.Unlock()
	ws := <-ch
	// The process is reaped already: Wait fails with ECHILD, but it still
	// waits for the goroutines that copy cmd's output.
	_ = cmd.Wait()
	return waitError(cmd.Path, ws)
}

// runtimeExitError is how a command run through the reaper failed.
type runtimeExitError struct {
	cmd string
	ws  unix.WaitStatus
}

func (e *runtimeExitError) Error() string {
	if e.ws.Signaled() {
		return fmt.Sprintf("%s: killed by signal %d", e.cmd, e.ws.Signal())
	}
	return fmt.Sprintf("%s: exit status %d", e.cmd, e.ws.ExitStatus())
}

// ExitCode is the process's exit code, 128+signal if it was killed.
func (e *runtimeExitError) ExitCode() int { return exitCode(e.ws) }

func waitError(cmd string, ws unix.WaitStatus) error {
	if ws.Exited() && ws.ExitStatus() == 0 {
		return nil
	}
	return &runtimeExitError{cmd, ws}
}

func exitCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

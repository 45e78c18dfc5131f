package sandbox

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// interrupts are the signals that stop `up`: SIGINT (Ctrl-C), SIGTERM, and
// SIGHUP (the terminal went away). The first cancels the context given to
// the pull and the start; once the pods run, foreground reads the next ones
// from C: the first stops the pods, the second kills them at once, as
// `docker compose up` does.
//
// On a terminal, one Ctrl-C reaches `up` twice: from the terminal (it is in
// the terminal's foreground process group) and forwarded by the podbox
// outside the user namespace (userns.Reexec), which got it too. So, only
// there, a repeat of the same signal within dupWindow counts once.
type interrupts struct {
	C      chan os.Signal
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	first   os.Signal
	last    time.Time
	lastSig os.Signal
	dedup   bool

	handoff sync.Once
	stop    chan struct{}
	done    chan struct{}
}

const dupWindow = 250 * time.Millisecond

func notifyInterrupts(parent context.Context) *interrupts {
	ctx, cancel := context.WithCancel(parent)
	in := &interrupts{C: make(chan os.Signal, 8), ctx: ctx, cancel: cancel,
		dedup: inTerminalForeground(), stop: make(chan struct{}), done: make(chan struct{})}
	signal.Notify(in.C, unix.SIGINT, unix.SIGTERM, unix.SIGHUP)
	go func() {
		defer close(in.done)
		select {
		case s := <-in.C:
			if in.fresh(s) {
				in.cancel()
			}
		case <-in.stop:
		}
	}()
	return in
}

// takeOver stops the watcher of the first signal; the caller then reads C.
func (in *interrupts) takeOver() {
	in.handoff.Do(func() { close(in.stop) })
	<-in.done
}

// fresh records s and reports whether it is a new interrupt, not the
// forwarded twin of the last one.
func (in *interrupts) fresh(s os.Signal) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	now := time.Now()
	if in.dedup && s == in.lastSig && now.Sub(in.last) < dupWindow {
		return false
	}
	in.last, in.lastSig = now, s
	if in.first == nil {
		in.first = s
	}
	return true
}

// firstSignal is the first interrupt, nil if none came.
func (in *interrupts) firstSignal() os.Signal {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.first
}

func (in *interrupts) close() {
	in.takeOver()
	signal.Stop(in.C)
	in.cancel()
}

// exitCode is 128 + the signal's number, as a shell reports it.
func exitCode128(s os.Signal) int {
	if sig, ok := s.(syscall.Signal); ok {
		return 128 + int(sig)
	}
	return 130
}

// inTerminalForeground reports whether a terminal's Ctrl-C reaches this
// process directly: stdin is a terminal whose foreground process group is
// ours.
func inTerminalForeground() bool {
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return false
	}
	pg, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	return err == nil && pg == unix.Getpgrp()
}

package sandbox

import (
	"context"
	"encoding/json"
	"time"

	"github.com/podbox/podbox/image"
	"github.com/podbox/podbox/sandbox/podproto"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// adoptPod makes a handle of a pod that runs already (an earlier `up -d`
// started it, reconcile left it unchanged), so that a foreground `up`
// follows and stops it as one of its own: its messages to the pod go
// through the control socket (ctlSender), and a poller stands for the
// pipes it does not have: it says "finished" when the pod's phase does,
// and closes exited when its process has gone.
func adoptPod(pod *corev1.Pod, so image.StoreOptions) *podHandle {
	dirs := PodDirs(pod.Name)
	pp, _ := livePodProcess(pod.Name)
	h := &podHandle{name: pod.Name, dirs: dirs, pod: pod, store: so, proc: &pp,
		toPod:  json.NewEncoder(ctlSender{sock: dirs.ctlSock()}),
		events: make(chan podproto.ChildMsg, 4), exited: make(chan struct{})}
	go func() {
		cl := newCtlClient(dirs.ctlSock())
		finished := false
		for i := 0; ; i++ {
			if !pp.alive() {
				close(h.events)
				close(h.exited)
				return
			}
			if !finished && i%5 == 0 {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				p, err := cl.pod(ctx)
				cancel()
				if err == nil && podFinished(p.Status.Phase) {
					finished = true
					h.events <- podproto.ChildMsg{Event: podproto.EventFinished, Phase: string(p.Status.Phase)}
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	return h
}

// ctlSender turns what `up` writes to a pod's work pipe into control
// socket requests, for an adopted pod: stop (with the pod's grace period)
// and kill (stop with none).
type ctlSender struct{ sock string }

func (c ctlSender) Write(b []byte) (int, error) {
	var m podproto.ParentMsg
	if json.Unmarshal(b, &m) == nil && m.Stop {
		grace := -1
		if m.Kill {
			grace = 0
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = newCtlClient(c.sock).stop(ctx, grace)
		}()
	}
	return len(b), nil
}

// pid is the pod's PID 1.
func (h *podHandle) pid() int {
	if h.proc != nil {
		return h.proc.PID
	}
	return h.cmd.Process.Pid
}

// kill kills the pod's PID 1 (its containers die with it).
func (h *podHandle) kill() {
	if h.proc != nil {
		h.proc.signal(unix.SIGKILL)
		return
	}
	_ = h.cmd.Process.Kill()
}

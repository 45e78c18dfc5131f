package sandbox

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// DefaultWaitTimeout is how long `up -d --wait` waits for the pods to be
// ready when no --timeout is given: Helm's `--wait` default, long enough
// for a JVM to come up on a laptop, short enough that a script or CI job
// that will never see its pod ready fails in minutes rather than hours.
const DefaultWaitTimeout = 5 * time.Minute

// NotReadyError reports pods that were not ready when `up -d --wait` gave
// up: Pod names the pod, Reasons what is not ready, in words.
type NotReadyError struct {
	Pod     string
	After   time.Duration
	Failed  bool // the pod failed: it will never be ready
	Reasons []string
}

func (e *NotReadyError) Error() string {
	if e.Failed {
		return fmt.Sprintf("pod %q failed: %s", e.Pod, strings.Join(e.Reasons, "; "))
	}
	return fmt.Sprintf("pod %q not ready after %s: %s", e.Pod, e.After, strings.Join(e.Reasons, "; "))
}

// waitReady waits until every pod is ready (condition Ready) or Succeeded,
// as `kubectl wait --for=condition=Ready` would, polling their control
// sockets. It returns 128+signal if interrupted (the pods keep running:
// they were started detached), and a *NotReadyError when a pod failed or
// the time is up.
func waitReady(pods []*podHandle, o UpOptions, in *interrupts) (int, error) {
	timeout := o.WaitTimeout
	if timeout <= 0 {
		timeout = DefaultWaitTimeout
	}
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for _, h := range pods {
		cl := newCtlClient(h.dirs.ctlSock())
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			p, err := cl.pod(ctx)
			cancel()
			if err == nil {
				if p.Status.Phase == corev1.PodSucceeded || podConditionTrue(p.Status, corev1.PodReady) {
					break
				}
				if p.Status.Phase == corev1.PodFailed {
					return 1, &NotReadyError{Pod: h.name, Failed: true, Reasons: notReady(p)}
				}
			}
			select {
			case <-h.exited:
				return 1, fmt.Errorf("pod %q: %w", h.name, h.diedError())
			default:
			}
			if time.Now().After(deadline) {
				reasons := []string{"its control socket does not answer"}
				if p != nil {
					reasons = notReady(p)
				}
				return 1, &NotReadyError{Pod: h.name, After: timeout, Reasons: reasons}
			}
			select {
			case <-tick.C:
			case s := <-in.C:
				if in.fresh(s) {
					fmt.Fprintf(o.Err, "interrupted: the pods keep running (podbox ps; podbox down)\n")
					return exitCode128(s), nil
				}
			}
		}
	}
	return 0, nil
}

// notReady says, in words, why pod p is not ready: the first init
// container not done, else each app container that is not ready.
func notReady(p *corev1.Pod) []string {
	for i, cs := range p.Status.InitContainerStatuses {
		if t := cs.State.Terminated; t != nil && t.ExitCode == 0 {
			continue
		}
		sidecar := i < len(p.Spec.InitContainers) && isSidecar(&p.Spec.InitContainers[i])
		if sidecar && cs.State.Running != nil {
			continue
		}
		return []string{"init container " + containerWords(cs)}
	}
	var out []string
	for _, cs := range p.Status.ContainerStatuses {
		if !cs.Ready {
			out = append(out, "container "+containerWords(cs))
		}
	}
	if len(out) == 0 {
		out = append(out, "status "+podStatusWord(p))
	}
	return out
}

// containerWords: "app is waiting (CrashLoopBackOff); it could not start: …".
func containerWords(cs corev1.ContainerStatus) string {
	s := cs.Name
	switch st := cs.State; {
	case st.Running != nil:
		s += " is running but not ready"
	case st.Terminated != nil:
		s += fmt.Sprintf(" terminated (%s, exit code %d)", st.Terminated.Reason, st.Terminated.ExitCode)
	case st.Waiting != nil:
		s += " is waiting (" + st.Waiting.Reason + ")"
	default:
		s += " has no state yet"
	}
	if t := cs.LastTerminationState.Terminated; t != nil && cs.State.Terminated == nil {
		if t.Reason == reasonStartError && t.Message != "" {
			s += "; it could not start: " + t.Message
		} else {
			s += fmt.Sprintf("; it last exited with code %d", t.ExitCode)
		}
	}
	return s
}

// diedError says how the pod's process ended when it did so without
// reporting an error (a crash, a signal): its exit code or signal, the
// line of its log that says why if there is one, and where that log is
// kept (its runtime directory is removed).
func (h *podHandle) diedError() error {
	how := "exited"
	var ee *exec.ExitError
	if errors.As(h.waitErr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			how = fmt.Sprintf("was killed by signal %d (%s)", ws.Signal(), unix.SignalName(ws.Signal()))
		} else {
			how = fmt.Sprintf("exited with code %d", ee.ExitCode())
		}
	} else if h.waitErr != nil {
		how = "ended: " + h.waitErr.Error()
	}
	_, errRun := os.Stat(h.dirs.Run)
	_, errMark := os.Stat(h.dirs.downMark())
	if errors.Is(errRun, os.ErrNotExist) || errMark == nil {
		// `podbox down` (NAME or --all) ran while the pod started: it
		// marks the pods it stops, and removes them.
		return fmt.Errorf("podbox down stopped the pod while it started (its process %s)", how)
	}
	msg := "the pod's process " + how + " without saying why"
	if cause := crashLine(h.dirs.podLog()); cause != "" {
		msg += ": " + cause
	}
	if kept := keepPodLog(h.name, h.dirs.podLog()); kept != "" {
		msg += "; its log: " + kept
	}
	return errors.New(msg)
}

// crashLine finds the line of a Go crash in a pod's log (panic:, fatal
// error:, or the signal that killed it), "" if none.
func crashLine(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		for _, p := range []string{"panic: ", "fatal error: ", "SIG"} {
			if strings.HasPrefix(l, p) && (p != "SIG" || strings.Contains(l, ": ")) {
				return l
			}
		}
	}
	return ""
}

// keepPodLog moves the log of a pod that died while starting out of its
// runtime directory, which is removed, to the runtime root, and returns its
// new path ("" if there was none). One file per pod name, replaced by the
// next failure.
func keepPodLog(name, path string) string {
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		return ""
	}
	short := name
	if len(short) > 64 {
		short = short[:64]
	}
	hsh := fnv.New32a()
	_, _ = hsh.Write([]byte(name))
	kept := filepath.Join(filepath.Dir(podsRunDir()), fmt.Sprintf("failed-%s-%08x.log", short, hsh.Sum32()))
	_ = os.Remove(kept)
	if err := os.Rename(path, kept); err != nil {
		return path
	}
	return kept
}

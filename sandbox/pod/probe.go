package pod

import (
	"context"
	"time"

	"github.com/podbox/podbox/sandbox/podproto"
)

// Probes, as the kubelet's prober workers run them (pkg/kubelet/prober):
//
//   - One loop per probe and per run of the container: a restarted
//     container is a new container, so its probes start afresh (the
//     kubelet resets a worker when the container ID changes).
//   - A probe runs at once, then every period; while the container has run
//     less than initialDelay, a tick does nothing.
//   - The reported result changes only after successThreshold successes or
//     failureThreshold failures in a row; before any, readiness is false,
//     liveness true, startup false.
//   - Each failure is a Warning event Unhealthy "<Kind> probe failed: <output>".
//   - A startupProbe holds liveness and readiness off until it succeeds;
//     then it stops, and the container is Started. A container without
//     one is Started once it runs; without a readinessProbe, Ready once
//     Started.
//   - A liveness or startup failure at its threshold kills the container
//     (preStop, the stop signal, SIGKILL after the probe's
//     terminationGracePeriodSeconds or the pod's) and its loop stops until
//     the next run; the restart policy and back-off do the rest.
//   - Network probes are made by this process, which is in the pod's
//     network namespace; exec probes through the runtime's exec, killed at
//     timeoutSeconds.

// probeWorker is a probe's result as the kubelet keeps it: the last
// outcome, how many times in a row, and the result it reports.
type probeWorker struct {
	spec     *podproto.Probe
	last     bool
	run      int
	reported bool
}

func newProbeWorker(spec *podproto.Probe, initial bool) *probeWorker {
	return &probeWorker{spec: spec, reported: initial, last: initial}
}

// observe records one outcome and returns the result to report, and
// whether it changed.
func (w *probeWorker) observe(ok bool) (result, changed bool) {
	if w.run > 0 && ok == w.last {
		w.run++
	} else {
		w.last, w.run = ok, 1
	}
	if (ok && w.run < w.spec.SuccessThreshold) || (!ok && w.run < w.spec.FailureThreshold) {
		return w.reported, false
	}
	changed = w.reported != ok
	w.reported = ok
	return ok, changed
}

// probeLoop runs one probe of one run of a container.
type probeLoop struct {
	kind  string // Liveness, Readiness or Startup
	spec  *podproto.Probe
	began time.Time // when the container started
	// do makes one probe.
	do func(ctx context.Context) (ok bool, output string)
	// failed is told each failure's output (the Unhealthy event).
	failed func(output string)
	// result is told each change of the reported result; it returns
	// false to end the loop.
	result func(ok bool) bool
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) bool // false: ctx is done
}

func (l *probeLoop) initial() bool { return l.kind == probeLiveness }

const (
	probeLiveness  = "Liveness"
	probeReadiness = "Readiness"
	probeStartup   = "Startup"
)

// run probes until ctx is done or result says to stop.
func (l *probeLoop) run(ctx context.Context) {
	w := newProbeWorker(l.spec, l.initial())
	for {
		if l.now().Sub(l.began) >= l.spec.InitialDelay {
			ok, out := l.do(ctx)
			if ctx.Err() != nil {
				return
			}
			if !ok {
				l.failed(out)
			}
			if res, changed := w.observe(ok); changed && !l.result(res) {
				return
			}
		}
		if !l.sleep(ctx, l.spec.Period) {
			return
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// probes runs the container's probes for one run, from began, until ctx is
// done. onStarted is called once the container counts as started (at
// once without a startupProbe).
func (c *container) probes(ctx context.Context, began time.Time, onStarted func()) {
	p := c.p
	name := c.spec.Name
	loop := func(kind string, spec *podproto.Probe, result func(bool) bool) {
		l := &probeLoop{kind: kind, spec: spec, began: began, now: time.Now, sleep: sleepCtx,
			do: func(ctx context.Context) (bool, string) { return c.act(ctx, &spec.Action, spec.Timeout) },
			failed: func(out string) {
				p.state.events.record(time.Now(), podproto.EventTypeWarning, podproto.EventUnhealthy, fieldPath(c.spec), "%s probe failed: %s", kind, out)
			},
			result: result,
		}
		l.run(ctx)
	}
	if s := c.spec.Startup; s != nil {
		started := false
		loop(probeStartup, s, func(ok bool) bool {
			if ok {
				started = true
				return false
			}
			c.killForProbe("startup", s.Grace)
			return false
		})
		if !started || ctx.Err() != nil {
			return
		}
	}
	p.state.setStarted(name)
	if onStarted != nil {
		onStarted()
	}
	done := make(chan struct{})
	if r := c.spec.Readiness; r != nil {
		go func() {
			defer close(done)
			loop(probeReadiness, r, func(ok bool) bool {
				p.state.setReady(name, ok)
				return true
			})
		}()
	} else {
		close(done)
	}
	if l := c.spec.Liveness; l != nil {
		loop(probeLiveness, l, func(ok bool) bool {
			if !ok {
				c.killForProbe("liveness", l.Grace)
				return false
			}
			return true
		})
	}
	<-done
}

// killForProbe stops the container after its liveness or startup probe
// failed, as the kubelet: a Killing event, preStop, the stop signal, then
// SIGKILL after the probe's grace period (else the pod's).
func (c *container) killForProbe(which string, grace *time.Duration) {
	g := c.p.podGrace()
	if grace != nil {
		g = *grace
	}
	c.kill(g, "Container %s failed %s probe, will be restarted", c.spec.Name, which)
}

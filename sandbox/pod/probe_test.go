package pod

import (
	"context"
	"testing"
	"time"

	"github.com/podbox/podbox/sandbox/podproto"
)

func TestProbeWorkerThresholds(t *testing.T) {
	spec := &podproto.Probe{SuccessThreshold: 2, FailureThreshold: 3}
	w := newProbeWorker(spec, false)
	steps := []struct {
		ok, want, changed bool
	}{
		{true, false, false}, // 1 success of 2
		{true, true, true},   // 2: ready
		{false, true, false}, // 1 failure of 3
		{true, true, false},  // the run of failures is broken
		{false, true, false},
		{false, true, false},
		{false, false, true}, // 3 in a row
		{false, false, false},
		{true, false, false},
		{true, true, true},
	}
	for i, s := range steps {
		got, changed := w.observe(s.ok)
		if got != s.want || changed != s.changed {
			t.Fatalf("step %d (ok=%v): got %v changed %v, want %v changed %v", i, s.ok, got, changed, s.want, s.changed)
		}
	}
}

func TestProbeWorkerLivenessStartsHealthy(t *testing.T) {
	w := newProbeWorker(&podproto.Probe{SuccessThreshold: 1, FailureThreshold: 1}, true)
	if got, changed := w.observe(true); !got || changed {
		t.Fatalf("a success on a healthy liveness: got %v changed %v", got, changed)
	}
	if got, changed := w.observe(false); got || !changed {
		t.Fatalf("failureThreshold 1: got %v changed %v", got, changed)
	}
}

// fakeLoop runs a probeLoop on a fake clock: sleep advances it; outcomes
// are what each probe returns, in order; it stops when they are used up.
type fakeLoop struct {
	now      time.Time
	probedAt []time.Duration
	results  []bool
	failures int
}

func (f *fakeLoop) run(t *testing.T, kind string, spec *podproto.Probe, outcomes []bool, stopOn func(bool) bool) {
	t.Helper()
	start := f.now
	i := 0
	l := &probeLoop{kind: kind, spec: spec, began: start,
		do: func(context.Context) (bool, string) {
			f.probedAt = append(f.probedAt, f.now.Sub(start))
			ok := outcomes[i]
			i++
			return ok, "out"
		},
		failed: func(string) { f.failures++ },
		result: func(ok bool) bool {
			f.results = append(f.results, ok)
			return stopOn == nil || stopOn(ok)
		},
		now: func() time.Time { return f.now },
		sleep: func(ctx context.Context, d time.Duration) bool {
			f.now = f.now.Add(d)
			return i < len(outcomes)
		},
	}
	l.run(context.Background())
}

func TestProbeLoopInitialDelayAndPeriod(t *testing.T) {
	f := &fakeLoop{now: time.Unix(1000, 0)}
	spec := &podproto.Probe{InitialDelay: 3 * time.Second, Period: time.Second, SuccessThreshold: 1, FailureThreshold: 2}
	f.run(t, probeReadiness, spec, []bool{true, false, false, true}, nil)
	want := []time.Duration{3 * time.Second, 4 * time.Second, 5 * time.Second, 6 * time.Second}
	if len(f.probedAt) != len(want) {
		t.Fatalf("probed at %v, want %v", f.probedAt, want)
	}
	for i := range want {
		if f.probedAt[i] != want[i] {
			t.Fatalf("probed at %v, want %v", f.probedAt, want)
		}
	}
	// Readiness starts false: ready, then not ready after 2 failures, ready.
	if got := f.results; len(got) != 3 || !got[0] || got[1] || !got[2] {
		t.Fatalf("results %v, want [true false true]", got)
	}
	if f.failures != 2 {
		t.Fatalf("%d Unhealthy events, want 2", f.failures)
	}
}

func TestProbeLoopLivenessStopsAtFailure(t *testing.T) {
	f := &fakeLoop{now: time.Unix(1000, 0)}
	spec := &podproto.Probe{Period: 10 * time.Second, SuccessThreshold: 1, FailureThreshold: 3}
	killed := 0
	f.run(t, probeLiveness, spec, []bool{true, false, false, false, true, true}, func(ok bool) bool {
		if !ok {
			killed++
			return false // on hold until the next run
		}
		return true
	})
	if killed != 1 || len(f.probedAt) != 4 {
		t.Fatalf("killed %d times after %d probes, want once after 4", killed, len(f.probedAt))
	}
	if f.probedAt[3] != 30*time.Second {
		t.Fatalf("the fourth probe at %v, want 30s", f.probedAt[3])
	}
}

func TestProbeLoopStartupGates(t *testing.T) {
	// A startup probe reports its first success and stops; the caller
	// then starts the others (container.probes).
	f := &fakeLoop{now: time.Unix(1000, 0)}
	spec := &podproto.Probe{Period: time.Second, SuccessThreshold: 1, FailureThreshold: 30}
	started := false
	f.run(t, probeStartup, spec, []bool{false, false, true, true, true}, func(ok bool) bool {
		started = ok
		return false
	})
	if !started || len(f.probedAt) != 3 {
		t.Fatalf("started %v after %d probes, want true after 3", started, len(f.probedAt))
	}
}

func TestParseStatusLine(t *testing.T) {
	for line, want := range map[string]int{"HTTP/1.1 200 OK\r\n": 200, "HTTP/1.0 404 Not Found\r\n": 404, "HTTP/1.1 302\r\n": 302} {
		if got, err := parseStatusLine(line); err != nil || got != want {
			t.Errorf("%q: got %d, %v; want %d", line, got, err, want)
		}
	}
	for _, bad := range []string{"", "SSH-2.0-OpenSSH\r\n", "HTTP/1.1 abc\r\n"} {
		if _, err := parseStatusLine(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

package main

import (
	"fmt"
	"strings"
	"time"
)

// stopPod is one of the pods whose `down` is timed by how its PID 1 treats
// SIGTERM (issue 9, item 8).
type stopPod struct {
	key      string // the metric
	manifest string // in bench/manifests
	comm     string // the container's process that shows it runs
}

var stopPods = []stopPod{
	// PID 1 is sleep: no handler, the kernel discards SIGTERM; grace 30 s.
	{key: "down-sleep", manifest: "down-sleep", comm: "sleep"},
	// PID 1 is a shell waiting for a server child, no trap; grace 10 s.
	{key: "down-shell", manifest: "down-shell", comm: "httpd"},
	// PID 1 is a shell with a trap for SIGTERM: the graceful path; grace 10 s.
	{key: "down-trap", manifest: "down-trap", comm: "sleep"},
}

// stopRounds bounds these metrics: a tool that waits out the grace period
// spends 10 to 30 s per sample.
const stopRounds = 3

// measureStops times `podbox down NAME` / `podman kube down FILE` of each
// stopPod, from the command's start to its return, once the container's
// process runs (so that a shell has set its trap before it is signalled).
// The container's process must be gone when down has returned.
func (b *bench) measureStops() {
	rounds := min(b.rounds, stopRounds)
	for _, sp := range stopPods {
		if !b.selected(sp.key) {
			continue
		}
		for r := 0; r < rounds; r++ {
			for _, t := range b.order(r) {
				res := b.res(sp.key, t)
				if res.failed() {
					continue
				}
				pod := fmt.Sprintf("%s-%s-%d", sp.key, t.name, r)
				file, err := b.render(sp.manifest, pod, nil)
				if err != nil {
					res.fail(err)
					continue
				}
				if err := t.up(file, false); err != nil {
					res.fail(fmt.Errorf("up failed: %w", err))
					_ = t.down(file, pod)
					continue
				}
				if err := waitComm(t, sp.comm, true, upDeadline); err != nil {
					res.fail(err)
					_ = t.down(file, pod)
					continue
				}
				d, err := timed(func() error { return t.down(file, pod) })
				if err == nil {
					err = waitComm(t, sp.comm, false, time.Second)
				}
				res.add(ms(d), err)
				if err != nil {
					logf("%s: %s: %v", sp.key, t.name, err)
				} else {
					logf("%s: %s: %s", sp.key, t.name, d.Round(time.Millisecond))
				}
			}
		}
	}
}

// waitComm waits until a process named comm of the tool runs (running
// true), or until none is left (running false).
func waitComm(t *tool, comm string, running bool, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		found := false
		for _, p := range t.procs() {
			if p.comm == comm {
				found = true
				break
			}
		}
		if found == running {
			return nil
		}
		if time.Now().After(deadline) {
			if running {
				return fmt.Errorf("the container's %s was not running %s after up", comm, within)
			}
			return fmt.Errorf("the container's %s was still running %s after down returned", comm, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// selected says whether a metric is in PODBOX_BENCH_ONLY (-only): a word
// selects the metric of that key and those whose key starts with WORD-
// ("down": down, down-sleep, down-shell, down-trap; "tput": tput-*).
func (b *bench) selected(key string) bool {
	if len(b.only) == 0 {
		return true
	}
	for _, w := range b.only {
		if key == w || strings.HasPrefix(key, w+"-") {
			return true
		}
	}
	return false
}

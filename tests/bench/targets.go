package main

import (
	"fmt"
	"strings"
)

// targetRow is one line of the issue-10 targets table: the target, what was
// measured, the peer's figure from the same run, and whether it is met.
type targetRow struct {
	what     string // the issue's words
	target   string // "≤ 2 MiB", "≥ 0.9× host loopback"
	measured string // podbox's figure, "n/a (…)" when not measured
	peer     string // Podman's figure in the same run, or "–"
	verdict  string // verdict()
	why      string // for a miss: where to look (the profile that explains it)
}

// verdict says whether v meets limit: at most limit (atMost) or at least.
func verdict(v, limit float64, atMost bool) string {
	if (atMost && v <= limit) || (!atMost && v >= limit) {
		return "met"
	}
	return "**missed**"
}

// hostPortThroughput gives the issue-10 rows of hostPort throughput
// against host loopback, pod → host and host → pod (issue 10, item 4: ≥
// 0.9×). tests/bench/throughput.go may set it, in an init function, to rows
// from its own measurement (a fast client); by default they come from the
// tput-down and tput-up metrics against the loop-down and loop-up floors.
var hostPortThroughput = (*bench).defaultThroughputTargets

const tputTarget = 0.9

func (b *bench) defaultThroughputTargets() []targetRow {
	var rows []targetRow
	for _, d := range []struct{ key, floor, what string }{
		{"tput-down", "loop-down", "hostPort throughput pod → host (busybox httpd → Go client), against host loopback"},
		{"tput-up", "loop-up", "hostPort throughput host → pod (Go client → busybox nc), against host loopback"},
	} {
		m := b.byKey[d.key]
		row := targetRow{what: d.what, target: fmt.Sprintf("≥ %.1f× host loopback", tputTarget), peer: "–", verdict: "–"}
		if !m.ran {
			row.measured = "not run (PODBOX_BENCH_ONLY)"
			rows = append(rows, row)
			continue
		}
		pb, pm, loop := m.res["podbox"], m.res["podman"], b.floors[d.floor]
		if !pb.ok() || !loop.ok() || loop.median() == 0 {
			row.measured = "n/a (see below)"
			rows = append(rows, row)
			continue
		}
		r := pb.median() / loop.median()
		row.measured = fmt.Sprintf("%.2f× (%s over %s MB/s)", r, num(pb.median()), num(loop.median()))
		row.verdict = verdict(r, tputTarget, false)
		if pm.ok() {
			row.peer = fmt.Sprintf("%.2f× (%s MB/s)", pm.median()/loop.median(), num(pm.median()))
		}
		if r < tputTarget {
			row.why = "the second TCP connection of the forwarder (issue 10, item 4)"
		}
		rows = append(rows, row)
	}
	return rows
}

// Issue 10's targets.
const (
	onePodTargetMiB  = 2.0
	furtherTargetMiB = 1.0
	upTargetRatio    = 0.15
)

// issue10Targets is the table of the four targets of issue 10 (five rows:
// throughput has two directions), each measured or saying why not.
func (b *bench) issue10Targets() []targetRow {
	var rows []targetRow
	mem := func(key, what string, limit float64, why func() string) {
		m := b.byKey[key]
		row := targetRow{what: what, target: fmt.Sprintf("≤ %s MiB", num(limit)), peer: "–", verdict: "–"}
		pb, pm := m.res["podbox"], m.res["podman"]
		switch {
		case !m.ran:
			row.measured = "not run (PODBOX_BENCH_ONLY)"
		case !pb.ok():
			row.measured = "n/a (see below)"
		default:
			row.measured = pb.cell("MiB")
			row.verdict = verdict(pb.median(), limit, true)
			if pb.median() > limit {
				row.why = why()
			}
		}
		if pm.ok() {
			row.peer = pm.cell("MiB")
		}
		rows = append(rows, row)
	}
	mem("own-pss", "PSS of podbox's own processes, one idle 2-container pod (slirp4netns and the containers not counted)",
		onePodTargetMiB, func() string { return b.ownProfile(false) })
	mem("own-further", fmt.Sprintf("each further pod, %d idle pods at once: (own PSS at %d − at 1) / %d", leanPods, leanPods, leanPods-1),
		furtherTargetMiB, func() string { return b.ownProfile(true) })

	up := b.byKey["up-noinit"]
	row := targetRow{what: "`up` → page served, pod without init container, against `podman kube play`",
		target: fmt.Sprintf("≤ %.2f× Podman", upTargetRatio), peer: "–", verdict: "–"}
	pb, pm := up.res["podbox"], up.res["podman"]
	switch {
	case !up.ran:
		row.measured = "not run (PODBOX_BENCH_ONLY)"
	case !pb.ok() || !pm.ok() || pm.median() == 0:
		row.measured = "n/a (see below)"
	default:
		r := pb.median() / pm.median()
		row.measured = fmt.Sprintf("%.2f× (%s)", r, pb.cell("ms"))
		row.peer = pm.cell("ms")
		row.verdict = verdict(r, upTargetRatio, true)
		if r > upTargetRatio {
			row.why = fmt.Sprintf("at %.2f× podbox would need %s ms; floors: %s", upTargetRatio,
				num(upTargetRatio*pm.median()), b.floorCell(up.floor))
		}
	}
	rows = append(rows, row)
	return append(rows, hostPortThroughput(b)...)
}

// ownProfile says where podbox's own memory goes, from the last round's
// per-process table: the processes with the most PSS, anonymous and
// file-backed.
func (b *bench) ownProfile(many bool) string {
	lt, ok := b.lean["podbox"]
	if !ok {
		return "see the per-process table"
	}
	t, pods := lt.one, 1
	if many {
		t, pods = lt.many, leanPods
	}
	var parts []string
	for _, r := range t {
		if r.class != classOwn {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s ×%d: %.1f MiB anonymous + %.1f MiB file-backed", r.label, r.n, mib(r.anonKB), mib(r.file)))
	}
	s := fmt.Sprintf("at %d pod(s): %s", pods, strings.Join(parts, "; "))
	if many {
		s += fmt.Sprintf("; per pod %.2f MiB anonymous", mib(lt.many.ownAnon())/float64(leanPods))
	}
	return s + " (per-process table below)"
}

func (t memTable) ownAnon() int {
	n := 0
	for _, r := range t {
		if r.class == classOwn {
			n += r.anonKB
		}
	}
	return n
}

// targetsTable renders rows as the markdown table of the result file.
func targetsTable(rows []targetRow) string {
	var s strings.Builder
	s.WriteString("| target | wanted | podbox measured | Podman, same run | verdict | where a miss comes from |\n")
	s.WriteString("| --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rows {
		fmt.Fprintf(&s, "| %s | %s | %s | %s | %s | %s |\n", r.what, r.target, r.measured, r.peer, r.verdict, r.why)
	}
	return s.String()
}

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// metric is one row of the table.
type metric struct {
	key, name, unit string
	higher          bool   // higher is better (throughput)
	floor           string // keys of b.floors shown beside it
	res             map[string]*result
	ran             bool // its phase ran (PODBOX_BENCH_ONLY may leave it out)
}

// result holds one tool's samples of a metric, or why it has none.
type result struct {
	samples []float64
	err     error // the first failure
	fails   int
	inARow  int // failures since the last sample
	note    string
	warns   int   // samples whose command failed all the same
	warnErr error // the first of those
}

func (r *result) warn(err error) {
	r.warns++
	if r.warnErr == nil {
		r.warnErr = err
	}
}

func (r *result) add(v float64, err error) {
	if err != nil {
		r.fail(err)
		return
	}
	r.samples = append(r.samples, v)
	r.inARow = 0
}

func (r *result) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.fails++
	r.inARow++
}

// failed: the metric is given up for this tool after two failures in a row
// (a feature it lacks); a failure now and then is counted and reported.
func (r *result) failed() bool { return r.inARow >= 2 }

func (r *result) ok() bool { return len(r.samples) > 0 }

func (r *result) median() float64 {
	s := append([]float64(nil), r.samples...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func (r *result) minMax() (float64, float64) {
	lo, hi := r.samples[0], r.samples[0]
	for _, v := range r.samples {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

func num(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func (r *result) cell(unit string) string {
	if !r.ok() {
		return "n/a"
	}
	return num(r.median()) + " " + unit
}

func (r *result) rangeCell() string {
	if !r.ok() {
		return "–"
	}
	lo, hi := r.minMax()
	return fmt.Sprintf("%s–%s (n=%d)", num(lo), num(hi), len(r.samples))
}

var floorNames = map[string]string{
	"unshare":      "`unshare --user --net --mount --pid --fork true`",
	"runc":         "`runc run` of busybox `true`",
	"podbox-start": "`podbox version`: the CLI's start-up, paid by each start of the binary",
	"loop-down":    "host loopback, busybox httpd → client",
	"loop-up":      "host loopback, client → busybox nc",
	"loop-egress":  "host loopback, server → busybox wget",
}

var floorUnits = map[string]string{"unshare": "ms", "runc": "ms", "podbox-start": "ms", "loop-down": "MB/s", "loop-up": "MB/s", "loop-egress": "MB/s"}

// floorName and floorUnit say what a floor is, extraFloors included.
func floorName(k string) string {
	for _, f := range extraFloors {
		if f.key == k {
			return f.name
		}
	}
	return floorNames[k]
}

func floorUnit(k string) string {
	for _, f := range extraFloors {
		if f.key == k {
			return f.unit
		}
	}
	return floorUnits[k]
}

func (b *bench) floorCell(keys string) string {
	if keys == "" {
		return ""
	}
	var parts []string
	for _, k := range strings.Split(keys, ", ") {
		f := b.floors[k]
		if f.ok() {
			parts = append(parts, fmt.Sprintf("%s: %s %s", k, num(f.median()), floorUnit(k)))
		} else if f.err != nil {
			parts = append(parts, k+": n/a")
		}
	}
	return strings.Join(parts, "; ")
}

// worse says whether podbox's median is worse than podman's, and by how much.
func (m *metric) worse() (bool, float64) {
	pb, pm := m.res["podbox"], m.res["podman"]
	if !pb.ok() || !pm.ok() || pm.median() == 0 {
		return false, 0
	}
	ratio := pb.median() / pm.median()
	if m.higher {
		return ratio < 1, ratio
	}
	return ratio > 1, ratio
}

func (b *bench) report() string {
	var s strings.Builder
	now := time.Now().UTC()
	fmt.Fprintf(&s, "# podbox vs rootless Podman: %s on %s\n\n", now.Format("2006-01-02 15:04 MST"), b.hostname)
	s.WriteString("`make bench` (tests/bench, bench/README.md): podbox and Podman alternate in every round, as the same\n")
	s.WriteString("ordinary user, on the same manifests (bench/manifests) and images from the same local registry.\n\n")
	s.WriteString("## Machine\n\n")
	for _, l := range b.machine() {
		fmt.Fprintf(&s, "- %s\n", l)
	}
	s.WriteString("\n## Results\n\nMedians, min–max over the rounds (n = samples). Ratio = podbox / podman; for throughput higher is better,\nfor everything else lower is better.\n\n")
	s.WriteString("| metric | podbox median | podman median | podbox/podman | podbox min–max | podman min–max | floor (median) |\n")
	s.WriteString("| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, m := range b.metrics {
		if !m.ran {
			continue
		}
		pb, pm := m.res["podbox"], m.res["podman"]
		ratio := "–"
		if pb.ok() && pm.ok() && pm.median() != 0 {
			ratio = fmt.Sprintf("%.2f×", pb.median()/pm.median())
		}
		fmt.Fprintf(&s, "| %s | %s | %s | %s | %s | %s | %s |\n", m.name, pb.cell(m.unit), pm.cell(m.unit), ratio,
			pb.rangeCell(), pm.rangeCell(), b.floorCell(m.floor))
	}

	// A run limited by PODBOX_BENCH_ONLY leaves out the sections it has nothing for.
	header := func(title string, w *strings.Builder) {
		if w.Len() > 0 {
			fmt.Fprintf(&s, "\n## %s\n\n%s", title, w.String())
		}
	}
	var t10 strings.Builder
	rows := b.issue10Targets()
	for _, r := range rows {
		if !strings.HasPrefix(r.measured, "not run") {
			t10.WriteString("Medians of this run. Own processes: podbox's pod PID 1 and any other podbox process that stays; " +
				"Podman's conmon, catatonit (infra, rootless pause) and rootlessport; slirp4netns and the containers' " +
				"processes are listed in the per-process table below, not counted.\n\n")
			t10.WriteString(targetsTable(rows))
			break
		}
	}
	header("Targets (issue 10)", &t10)
	var floors strings.Builder
	for _, k := range floorKeys() {
		f := b.floors[k]
		if f.ok() {
			fmt.Fprintf(&floors, "- %s (%s): %s %s, %s\n", k, floorName(k), num(f.median()), floorUnit(k), f.rangeCell())
		} else if f.err != nil {
			fmt.Fprintf(&floors, "- %s (%s): n/a (%v)\n", k, floorName(k), f.err)
		}
	}
	header("Floors", &floors)

	s.WriteString("\n## Where podbox is slower or heavier than Podman\n\n")
	s.WriteString("Medians; a difference within 5 % is called even.\n\n")
	any := false
	for _, m := range b.metrics {
		if w, ratio := m.worse(); w && (ratio > 1.05 || ratio < 0.95) {
			any = true
			verb := "slower"
			if m.unit == "MiB" {
				verb = "heavier"
			} else if m.higher {
				verb = "slower (less throughput)"
			}
			fmt.Fprintf(&s, "- **%s: podbox is %s than Podman**: %s against %s (%.2f×).\n", m.name, verb,
				m.res["podbox"].cell(m.unit), m.res["podman"].cell(m.unit), ratio)
		}
	}
	for _, m := range b.metrics {
		if w, ratio := m.worse(); w && ratio <= 1.05 && ratio >= 0.95 {
			any = true
			fmt.Fprintf(&s, "- %s: even (podbox %s, Podman %s, %.2f×).\n", m.name, m.res["podbox"].cell(m.unit), m.res["podman"].cell(m.unit), ratio)
		}
	}
	if !any {
		s.WriteString("- Nowhere, among the metrics both tools could run.\n")
	}

	var targets strings.Builder
	target := func(name, key string, limit float64, atMost bool, against string) {
		m := b.byKey[key]
		if !m.ran {
			return
		}
		pb := m.res["podbox"]
		var base *result
		if against == "podman" {
			base = m.res["podman"]
		} else {
			base = b.floors[against]
		}
		if !pb.ok() || !base.ok() {
			fmt.Fprintf(&targets, "- %s: not measured (see n/a below)\n", name)
			return
		}
		r := pb.median() / base.median()
		met := r <= limit
		if !atMost {
			met = r >= limit
		}
		verdict := "met"
		if !met {
			verdict = "**missed**"
		}
		fmt.Fprintf(&targets, "- %s: %.2f× — %s\n", name, r, verdict)
	}
	target("up ≤ 0.2× Podman, WAR pod (Podman's number is its 20 s init-container wait, see the README)", "up", 0.2, true, "podman")
	target("up ≤ 0.2× Podman, web pod without init container (the fair comparison)", "up-noinit", 0.2, true, "podman")
	target("down ≤ 0.25× Podman", "down", 0.25, true, "podman")
	target("per-pod overhead PSS ≤ 0.5× Podman", "pss", 0.5, true, "podman")
	target("hostPort throughput pod → host ≥ 0.8× host loopback", "tput-down", 0.8, false, "loop-down")
	target("hostPort throughput host → pod ≥ 0.8× host loopback", "tput-up", 0.8, false, "loop-up")
	header("Targets of issue 6 (kept for comparison)", &targets)

	s.WriteString("\n## Not measured (n/a) and notes\n\n")
	none := true
	for _, m := range b.metrics {
		for _, t := range []string{"podbox", "podman"} {
			r := m.res[t]
			if r.err != nil {
				none = false
				state := "n/a"
				if len(r.samples) > 0 {
					state = fmt.Sprintf("%d of %d runs failed, the table has the %d that succeeded; first error", r.fails, r.fails+len(r.samples), len(r.samples))
				}
				fmt.Fprintf(&s, "- %s, %s: %s (%v)\n", m.name, t, state, r.err)
			}
			if r.warns > 0 {
				none = false
				fmt.Fprintf(&s, "- %s, %s: in %d of its %d samples the command failed, yet the pod answered: timed to the answer (%v)\n", m.name, t, r.warns, len(r.samples), r.warnErr)
			}
			if r.err == nil && r.note != "" && r.ok() {
				none = false
				fmt.Fprintf(&s, "- %s, %s: note: %s\n", m.name, t, r.note)
			}
		}
	}
	if none {
		s.WriteString("- Everything was measured.\n")
	}

	var procs strings.Builder
	for _, t := range []string{"podbox", "podman"} {
		if d, ok := b.breakdown[t]; ok {
			fmt.Fprintf(&procs, "- %s: %s\n", t, d)
		}
	}
	if b.baseline != "" {
		fmt.Fprintf(&procs, "\nFor comparison, %s.\n", b.baseline)
	}
	header("Processes each tool keeps alive for one idle two-container pod", &procs)
	var lean strings.Builder
	lean.WriteString(b.leanProcs())
	header(fmt.Sprintf("Own processes at 1 and at %d idle pods, per process (issue 10; last round)", leanPods), &lean)
	if w, _ := b.byKey["pss"].worse(); w {
		pb, sc := b.byKey["pss"].res["podbox"], b.byKey["scale-pss"].res["podbox"]
		s.WriteString("\n## Closing note: why podbox is heavier per pod\n\n")
		s.WriteString("Found with /proc/PID/smaps of the pod process (the split above, and the baseline line): the memory " +
			"podbox keeps per pod is almost all its one long-lived pod process, and most of that is file-backed pages of the " +
			"podbox binary itself: any long-lived process of this binary costs about the same, pod or no pod. The pod process " +
			"is a clone of the whole CLI, so it maps and touches the code and data that the Go runtime and the package " +
			"initialisers of everything podbox links (containers/image, containers/storage, k8s.io/api) need, although the " +
			"infra only supervises, reaps and serves ctl.sock (which packages dominate is not yet profiled per symbol). ")
		if pb.ok() && sc.ok() {
			fmt.Fprintf(&s, "Those pages are shared between pods: one pod costs %s, ten cost %s (%s each). ",
				pb.cell("MiB"), sc.cell("MiB"), num(sc.median()/10)+" MiB")
		}
		s.WriteString("What would fix it: run the long-lived pod process from a small infra binary (or a re-exec entry that " +
			"links only the supervisor, reaper and control socket, without image, storage and Kubernetes API packages), " +
			"and keep the anonymous part down (goroutines and buffers per container); Podman's equivalent (conmon, " +
			"catatonit) is C.\n")
	}
	fmt.Fprintf(&s, "\nRun time of the measurements: %s.\n", time.Since(b.started).Round(time.Second))
	return s.String()
}

func (b *bench) machine() []string {
	cmdLine := func(name string, args ...string) string {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			return "not found"
		}
		return firstLine(string(out))
	}
	mem := "unknown"
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(raw), "\n") {
			if strings.HasPrefix(l, "MemTotal:") {
				var kb int
				fmt.Sscan(strings.TrimSpace(strings.TrimPrefix(l, "MemTotal:")), &kb)
				mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	cpu := "unknown"
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(raw), "\n") {
			if strings.HasPrefix(l, "model name") {
				cpu = strings.TrimSpace(l[strings.IndexByte(l, ':')+1:])
				break
			}
		}
	}
	osName := "unknown"
	if raw, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, l := range strings.Split(string(raw), "\n") {
			if strings.HasPrefix(l, "PRETTY_NAME=") {
				osName = strings.Trim(strings.TrimPrefix(l, "PRETTY_NAME="), `"`)
			}
		}
	}
	only := "metrics: all"
	if len(b.only) > 0 {
		only = "metrics: only " + strings.Join(b.only, ", ") + " (PODBOX_BENCH_ONLY), and the others of their phases"
	}
	return []string{
		fmt.Sprintf("host %s: %s, kernel %s", b.hostname, osName, cmdLine("uname", "-r")),
		fmt.Sprintf("CPU: %d × %s; memory %s", runtime.NumCPU(), cpu, mem),
		"podbox " + b.tools[0].version(),
		b.podBinaryLine(),
		"podman " + b.tools[1].version() + " (runc, cgroupfs, slirp4netns, overlay; `kube play --network slirp4netns`)",
		"runc: " + cmdLine("runc", "--version"),
		"slirp4netns: " + cmdLine("slirp4netns", "--version"),
		fmt.Sprintf("rounds: %d (memory, throughput and down by SIGTERM handling: %d, scale: %d, own processes at 1 and %d pods: %d); %d MiB per throughput sample",
			b.rounds, min(b.rounds, 3), min(b.rounds, 2), leanPods, min(b.rounds, leanRounds), b.mb),
		only,
		fmt.Sprintf("load average (1, 5, 15 min) when measuring began: %s; at the end: %s (%d CPUs; other work on the machine makes the times noisy)",
			b.loadStart, loadAvg(), runtime.NumCPU()),
	}
}

// podBinaryLine says which binary runs the pods' PID 1: podbox-pod beside
// podbox (issue 10), or podbox itself.
func (b *bench) podBinaryLine() string {
	size := func(p string) float64 {
		if st, err := os.Stat(p); err == nil {
			return float64(st.Size()) / (1 << 20)
		}
		return 0
	}
	pod := filepath.Join(filepath.Dir(b.tools[0].bin), filepath.Base(podBinary))
	if _, err := os.Stat(pod); err == nil {
		return fmt.Sprintf("the pods' PID 1: podbox-pod beside podbox (%.1f MiB; podbox %.1f MiB)", size(pod), size(b.tools[0].bin))
	}
	return fmt.Sprintf("the pods' PID 1: the podbox binary itself (%.1f MiB; no podbox-pod beside it)", size(b.tools[0].bin))
}

// loadAvg is /proc/loadavg's 1, 5 and 15 minute averages.
func loadAvg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

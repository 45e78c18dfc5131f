package main

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name  string
		p     proc
		class procClass
		label string
	}{
		{"pod PID 1, big binary (before issue 10)",
			proc{comm: "exe", exe: "/tmp/pbb.1/u/bin/podbox", cmdline: "podbox-pod:bl-podbox-0-0"},
			classOwn, "pod PID 1, podbox-pod:NAME (binary podbox)"},
		{"pod PID 1, small binary (after issue 10)",
			proc{comm: "podbox-pod", exe: "/tmp/pbb.1/u/bin/podbox-pod", cmdline: "podbox-pod:web"},
			classOwn, "pod PID 1, podbox-pod:NAME (binary podbox-pod)"},
		{"pod PID 1 whose exe is unreadable",
			proc{comm: "exe", cmdline: "podbox-pod:web"},
			classOwn, "pod PID 1, podbox-pod:NAME (binary exe)"},
		{"another podbox process that stays",
			proc{comm: "exe", exe: "/tmp/pbb.1/u/bin/podbox", cmdline: "podbox relay 8080"},
			classOwn, "podbox (podbox, argv0 podbox)"},
		{"a deleted podbox binary",
			proc{comm: "podbox-pod", exe: "/usr/libexec/podbox/podbox-pod", cmdline: "/usr/libexec/podbox/podbox-pod cleanup"},
			classOwn, "podbox (podbox-pod, argv0 podbox-pod)"},
		{"slirp4netns", proc{comm: "slirp4netns", exe: "/usr/bin/slirp4netns", cmdline: "slirp4netns --configure 1234 tap0"},
			classNet, "slirp4netns"},
		{"conmon", proc{comm: "conmon", exe: "/usr/bin/conmon", cmdline: "/usr/bin/conmon --api-version 1 -c abc"},
			classOwn, "conmon"},
		{"rootless pause process", proc{comm: "catatonit", exe: "/usr/libexec/podman/catatonit", cmdline: "catatonit -P", parent: "bench"},
			classOwn, "catatonit -P (rootless pause, one per user)"},
		{"pod infra: catatonit -P too, under conmon", proc{comm: "catatonit", exe: "/catatonit", cmdline: "/catatonit -P", parent: "conmon"},
			classOwn, "catatonit (pod infra)"},
		{"rootlessport", proc{comm: "rootlessport", exe: "/usr/libexec/podman/rootlessport", cmdline: "rootlessport"},
			classOwn, "rootlessport"},
		{"rootlessport-child", proc{comm: "rootlessport-chi", exe: "/usr/libexec/podman/rootlessport-child", cmdline: "rootlessport-child"},
			classOwn, "rootlessport-child"},
		{"runc is waited out", proc{comm: "runc:[2:INIT]", exe: "/usr/sbin/runc", cmdline: "runc init"},
			classTransient, "runc:[2:INIT]"},
		{"a podman command is waited out", proc{comm: "podman", exe: "/usr/bin/podman", cmdline: "podman kube play x.yaml"},
			classTransient, "podman"},
		{"a container's sleep", proc{comm: "sleep", exe: "/bin/busybox", cmdline: "sleep 3600"},
			classContainer, "sleep"},
		{"a container's sh named like nothing of ours", proc{comm: "sh", exe: "/bin/busybox", cmdline: "sh -c trap"},
			classContainer, "sh"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			class, label := classify(&tc.p)
			if class != tc.class || label != tc.label {
				t.Errorf("classify(%+v) = %v, %q; want %v, %q", tc.p, class, label, tc.class, tc.label)
			}
		})
	}
}

func TestLingers(t *testing.T) {
	if !lingers(&proc{comm: "catatonit", cmdline: "catatonit -P", parent: "systemd"}) {
		t.Error("Podman's rootless pause process must be allowed to stay after down")
	}
	for _, p := range []proc{
		{comm: "catatonit", cmdline: "/catatonit -P", parent: "conmon"},
		{comm: "exe", cmdline: "podbox-pod:web"},
		{comm: "slirp4netns", cmdline: "slirp4netns 12 tap0"},
	} {
		if lingers(&p) {
			t.Errorf("%q may not stay after down", p.cmdline)
		}
	}
}

func TestParseSmapsRollup(t *testing.T) {
	const rollup = `55d0c1a00000-7ffd7b5f2000 ---p 00000000 00:00 0                          [rollup]
Rss:               23552 kB
Pss:               21004 kB
Pss_Dirty:          4400 kB
Pss_Anon:           4300 kB
Pss_File:          16604 kB
Pss_Shmem:           100 kB
Shared_Clean:       2000 kB
Anonymous:          4300 kB
`
	got := parseSmapsRollup(rollup)
	if want := (procMem{pss: 21004, anon: 4300, file: 16704}); got != want {
		t.Errorf("parseSmapsRollup = %+v, want %+v", got, want)
	}
}

func TestTabulate(t *testing.T) {
	ps := []*proc{
		{pid: 10, comm: "exe", exe: "/b/podbox", cmdline: "podbox-pod:a"},
		{pid: 11, comm: "slirp4netns", cmdline: "slirp4netns 10 tap0"},
		{pid: 12, comm: "sleep", cmdline: "sleep 3600"},
		{pid: 13, comm: "sleep", cmdline: "sleep 3600"},
		{pid: 20, comm: "exe", exe: "/b/podbox", cmdline: "podbox-pod:b"},
		{pid: 21, comm: "runc", cmdline: "runc create"},
		{pid: 22, comm: "sh", cmdline: "sh -c x"}, // gone before it was read
	}
	mem := map[int]procMem{
		10: {pss: 2000, anon: 500, file: 1500},
		11: {pss: 300, anon: 100, file: 200},
		12: {pss: 50, anon: 10, file: 40},
		13: {pss: 50, anon: 10, file: 40},
		20: {pss: 1000, anon: 500, file: 500},
		21: {pss: 9999},
	}
	tab := tabulate(ps, func(pid int) (procMem, error) {
		m, ok := mem[pid]
		if !ok {
			return procMem{}, errors.New("gone")
		}
		return m, nil
	})
	if got := tab.total(classOwn); got != 3000 {
		t.Errorf("own total = %d kB, want 3000 (two pod processes)", got)
	}
	if got := tab.total(classNet); got != 300 {
		t.Errorf("network total = %d kB, want 300", got)
	}
	if got := tab.total(classContainer); got != 100 {
		t.Errorf("container total = %d kB, want 100", got)
	}
	if got := tab.total(classTransient); got != 0 {
		t.Errorf("runc counted: transient total = %d kB", got)
	}
	pod, ok := tab.row("pod PID 1, podbox-pod:NAME (binary podbox)")
	if !ok || pod.n != 2 || pod.anonKB != 1000 || pod.file != 2000 {
		t.Errorf("pod row = %+v, %v; want 2 processes, 1000 kB anonymous, 2000 kB file-backed", pod, ok)
	}
	if tab[0].class != classOwn || tab[len(tab)-1].class != classContainer {
		t.Errorf("rows not ordered own, network, containers: %+v", tab)
	}
	if got := tab.ownAnon(); got != 1000 {
		t.Errorf("own anonymous = %d kB, want 1000", got)
	}
}

func TestFurtherKB(t *testing.T) {
	for _, tc := range []struct {
		one, many, n int
		want         float64
	}{
		{26000, 26000 + 19*7000, 20, 7000},
		{2000, 2000 + 19*512, 20, 512},
		{2000, 2000, 20, 0},
		{2000, 1000, 2, -1000}, // shrinking is shown, not hidden
		{2000, 5000, 1, 0},
	} {
		if got := furtherKB(tc.one, tc.many, tc.n); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("furtherKB(%d, %d, %d) = %v, want %v", tc.one, tc.many, tc.n, got, tc.want)
		}
	}
}

func TestVerdict(t *testing.T) {
	for _, tc := range []struct {
		v, limit float64
		atMost   bool
		want     string
	}{
		{2.0, 2.0, true, "met"},
		{2.01, 2.0, true, "**missed**"},
		{0.9, 0.9, false, "met"},
		{0.89, 0.9, false, "**missed**"},
		{0.10, 0.15, true, "met"},
	} {
		if got := verdict(tc.v, tc.limit, tc.atMost); got != tc.want {
			t.Errorf("verdict(%v, %v, atMost %v) = %q, want %q", tc.v, tc.limit, tc.atMost, got, tc.want)
		}
	}
}

func TestParallelN(t *testing.T) {
	errs := parallelN(7, 3, func(i int) error {
		if i == 5 {
			return errors.New("five")
		}
		return nil
	})
	if len(errs) != 7 || errs[5] == nil || errors.Join(append(errs[:5:5], errs[6:]...)...) != nil {
		t.Errorf("parallelN errors = %v, want only the sixth", errs)
	}
}

// newTestBench is a bench with its metrics and no tools to run.
func newTestBench(only ...string) *bench {
	b := &bench{only: only, breakdown: map[string]string{}, lean: map[string]leanTables{}}
	b.tools = []*tool{{name: "podbox", bin: "/nonexistent/podbox"}, {name: "podman", bin: "/nonexistent/podman"}}
	b.defineMetrics()
	return b
}

// The four targets of issue 10 are in the result file, each with what was
// wanted and what was measured, and a miss says where it comes from.
func TestReportIssue10Targets(t *testing.T) {
	b := newTestBench("own", "up-noinit", "tput")
	for key, v := range map[string][2]float64{
		"own-pss":     {26.2, 2.6},
		"own-pss20":   {160, 30},
		"own-further": {7.0, 1.4},
		"up-noinit":   {90, 600},
		"tput-down":   {1100, 1400},
		"tput-up":     {480, 460},
	} {
		m := b.byKey[key]
		m.ran = true
		m.res["podbox"].add(v[0], nil)
		m.res["podman"].add(v[1], nil)
	}
	b.floors["loop-down"].add(1600, nil)
	b.floors["loop-up"].add(500, nil)
	b.lean["podbox"] = leanTables{
		one: memTable{{class: classOwn, label: "pod PID 1, podbox-pod:NAME (binary podbox)", n: 1, pssKB: 26 * 1024, anonKB: 5 * 1024, file: 21 * 1024},
			{class: classNet, label: "slirp4netns", n: 1, pssKB: 400}},
		many: memTable{{class: classOwn, label: "pod PID 1, podbox-pod:NAME (binary podbox)", n: 20, pssKB: 160 * 1024, anonKB: 118 * 1024, file: 42 * 1024}},
	}
	r := b.report()
	for _, want := range []string{
		"## Targets (issue 10)",
		"| PSS of podbox's own processes, one idle 2-container pod (slirp4netns and the containers not counted) | ≤ 2.00 MiB | 26.2 MiB | 2.60 MiB | **missed** | at 1 pod(s): pod PID 1",
		"| each further pod, 20 idle pods at once: (own PSS at 20 − at 1) / 19 | ≤ 1.00 MiB | 7.00 MiB | 1.40 MiB | **missed** |",
		"per pod 5.90 MiB anonymous", // 118 MiB over 20 pods
		"| ≤ 0.15× Podman | 0.15× (90.0 ms) | 600 ms | met |",
		"| ≥ 0.9× host loopback | 0.69× (1100 over 1600 MB/s) | 0.88× (1400 MB/s) | **missed** |",
		"| ≥ 0.9× host loopback | 0.96× (480 over 500 MB/s) | 0.92× (460 MB/s) | met |",
		"## Own processes at 1 and at 20 idle pods, per process",
		"| pod PID 1, podbox-pod:NAME (binary podbox) | own | ×1, 26.00 MiB (5.00 + 21.00) | ×20, 160.00 MiB (118.00 + 42.00) |",
		"| slirp4netns | network (not counted) | ×1, 0.39 MiB (0.00 + 0.00) | – |",
		"| **total, own** | | 26.00 MiB | 160.00 MiB |",
		"load average (1, 5, 15 min)",
	} {
		if !strings.Contains(r, want) {
			t.Errorf("the report lacks %q:\n%s", want, r)
		}
	}
}

// A run of one row names the others "not run" instead of failing them.
func TestReportIssue10NotRun(t *testing.T) {
	b := newTestBench("up-noinit")
	m := b.byKey["up-noinit"]
	m.ran = true
	m.res["podbox"].add(150, nil)
	m.res["podman"].add(500, nil)
	r := b.report()
	for _, want := range []string{
		"| ≤ 2.00 MiB | not run (PODBOX_BENCH_ONLY) |",
		"0.30× (150 ms) | 500 ms | **missed** | at 0.15× podbox would need 75.0 ms",
		"| ≥ 0.9× host loopback | not run (PODBOX_BENCH_ONLY) |",
	} {
		if !strings.Contains(r, want) {
			t.Errorf("the report lacks %q:\n%s", want, r)
		}
	}
	if strings.Contains(r, "## Own processes at 1") {
		t.Errorf("an empty per-process section:\n%s", r)
	}
}

// The throughput rows can be replaced by tests/bench/throughput.go.
func TestHostPortThroughputHook(t *testing.T) {
	saved := hostPortThroughput
	defer func() { hostPortThroughput = saved }()
	hostPortThroughput = func(*bench) []targetRow {
		return []targetRow{{what: "relay pod → host", target: "≥ 0.9× host loopback", measured: "1.01×", peer: "–", verdict: "met"}}
	}
	rows := newTestBench("own").issue10Targets()
	if last := rows[len(rows)-1]; last.what != "relay pod → host" || len(rows) != 4 {
		t.Errorf("rows = %+v, want the three of this file and the hook's", rows)
	}
}

// throughput.go can add its rows, phase and floors without editing the
// lists of measure.go.
func TestExtraMetricsAndFloors(t *testing.T) {
	savedM, savedP, savedF := extraMetrics, extraPhases, extraFloors
	defer func() { extraMetrics, extraPhases, extraFloors = savedM, savedP, savedF }()
	extraMetrics = []*metric{{key: "tput-fast-down", name: "fast client pod → host", unit: "MB/s", higher: true, floor: "loop-fast-down"}}
	extraFloors = []extraFloor{{key: "loop-fast-down", name: "host loopback, fast client", unit: "MB/s"}}
	extraPhases = []extraPhase{{name: "fast throughput", run: func(*bench) {}, keys: []string{"tput-fast-down"}}}
	b := newTestBench("tput-fast")
	m, ok := b.byKey["tput-fast-down"]
	if !ok || m.res["podbox"] == nil || b.floors["loop-fast-down"] == nil {
		t.Fatalf("the extra metric or floor is missing: %v %v", ok, b.floors)
	}
	if !b.selected("tput-fast-down") {
		t.Error("PODBOX_BENCH_ONLY=tput-fast does not select tput-fast-down")
	}
	m.ran = true
	m.res["podbox"].add(2000, nil)
	m.res["podman"].add(1000, nil)
	b.floors["loop-fast-down"].add(2100, nil)
	r := b.report()
	for _, want := range []string{"| fast client pod → host | 2000 MB/s | 1000 MB/s | 2.00× |", "loop-fast-down: 2100 MB/s",
		"- loop-fast-down (host loopback, fast client): 2100 MB/s"} {
		if !strings.Contains(r, want) {
			t.Errorf("the report lacks %q:\n%s", want, r)
		}
	}
	if extraMetrics[0].res != nil {
		t.Error("defineMetrics changed the shared extra metric instead of its copy")
	}
}

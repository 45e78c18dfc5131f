package main

// Issue 10's memory rows: what each tool's own processes keep for one idle
// two-container pod, and for 20 such pods at once (the total, and what each
// pod past the first adds), podbox and Podman side by side in one run.
//
// "Own" means the tool's long-lived processes: podbox's pod PID 1 (argv0
// podbox-pod:NAME, whichever binary runs it: the big podbox before issue 10,
// podbox-pod after) and any other podbox process that stays; Podman's conmon,
// catatonit (the pod's infra, and the rootless pause process it keeps per
// user) and rootlessport. slirp4netns (both tools run the same program) and
// the containers' own processes are listed apart and not counted: the
// issue's targets are about what podbox itself costs.
//
// The 20 pods are brought up after the first one was measured, so that the
// first pod is the same in both samples and "each further pod" is
// (own PSS at 20 − own PSS at 1) / 19: PSS shares a page among the
// processes that map it, so the binary's pages cost the first pod in full
// and the others little. Every pod is taken down at the end of the round
// and whatever of the tool is still alive (except Podman's pause process,
// which stays by design and goes at the bench's cleanup) is killed by pid
// and reported.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// leanPods is the number of idle pods of the "at once" rows.
const leanPods = 20

// leanRounds bounds the rounds of the memory rows: PSS barely varies from
// one round to the next, and 20 pods of each tool take a while.
const leanRounds = 2

// procClass is what a process of a tool's pods is to the memory rows.
type procClass int

const (
	classOwn       procClass = iota // the tool's own long-lived processes: counted
	classNet                        // slirp4netns: listed, not counted
	classContainer                  // the containers' processes: listed, not counted
	classTransient                  // runc, newuidmap, a podman command: waited out
)

func (c procClass) String() string {
	switch c {
	case classOwn:
		return "own"
	case classNet:
		return "network (not counted)"
	case classContainer:
		return "container (not counted)"
	default:
		return "transient"
	}
}

// podboxArgv0 starts the command line of a pod's PID 1, whatever binary
// runs it (sandbox/paths.go podArgv0).
const podboxArgv0 = "podbox-pod:"

// classify says what one of a tool's processes is, by its command line and
// executable, and names it for the per-process table.
func classify(p *proc) (procClass, string) {
	exe := filepath.Base(p.exe)
	if p.exe == "" {
		exe = p.comm
	}
	argv0 := firstField(p.cmdline)
	switch {
	case strings.HasPrefix(p.cmdline, podboxArgv0):
		return classOwn, "pod PID 1, podbox-pod:NAME (binary " + exe + ")"
	case transient(p.comm):
		return classTransient, p.comm
	case p.comm == "slirp4netns" || exe == "slirp4netns":
		return classNet, "slirp4netns"
	case exe == "podbox" || exe == "podbox-pod":
		return classOwn, "podbox (" + exe + ", argv0 " + argv0 + ")"
	case exe == "conmon" || p.comm == "conmon":
		return classOwn, "conmon"
	case exe == "catatonit" || p.comm == "catatonit":
		// Both run `catatonit -P`; the infra container's is conmon's child.
		if p.parent == "conmon" {
			return classOwn, "catatonit (pod infra)"
		}
		return classOwn, "catatonit -P (rootless pause, one per user)"
	case strings.HasPrefix(exe, "rootlessport") || strings.HasPrefix(p.comm, "rootlessport"):
		return classOwn, exe
	}
	return classContainer, p.comm
}

// lingers: a process that stays once every pod is down, by design:
// Podman's rootless pause process holds the user's namespaces for the next
// pod; the bench's cleanup ends it.
func lingers(p *proc) bool {
	_, label := classify(p)
	return strings.HasPrefix(label, "catatonit -P")
}

// procMem is one process's PSS from smaps_rollup, in kB.
type procMem struct{ pss, anon, file int }

func readProcMem(pid int) (procMem, error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return procMem{}, err
	}
	return parseSmapsRollup(string(raw)), nil
}

func parseSmapsRollup(s string) procMem {
	var m procMem
	for _, l := range strings.Split(s, "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.Atoi(f[1])
		switch f[0] {
		case "Pss:":
			m.pss = v
		case "Pss_Anon:":
			m.anon += v
		case "Pss_File:", "Pss_Shmem:":
			m.file += v
		}
	}
	return m
}

// memRow is the processes of one label in a memTable.
type memRow struct {
	class               procClass
	label               string
	n                   int
	pssKB, anonKB, file int
}

// memTable is a tool's processes at one moment, by label.
type memTable []memRow

// tabulate groups processes by classify's label and sums their memory;
// transient processes and those gone meanwhile are left out.
func tabulate(ps []*proc, mem func(pid int) (procMem, error)) memTable {
	byLabel := map[string]*memRow{}
	for _, p := range ps {
		class, label := classify(p)
		if class == classTransient {
			continue
		}
		m, err := mem(p.pid)
		if err != nil {
			continue // gone meanwhile, or not ours to read
		}
		r := byLabel[label]
		if r == nil {
			r = &memRow{class: class, label: label}
			byLabel[label] = r
		}
		r.n++
		r.pssKB += m.pss
		r.anonKB += m.anon
		r.file += m.file
	}
	var t memTable
	for _, r := range byLabel {
		t = append(t, *r)
	}
	sort.Slice(t, func(i, j int) bool {
		if t[i].class != t[j].class {
			return t[i].class < t[j].class
		}
		return t[i].label < t[j].label
	})
	return t
}

// total is the PSS of a class, in kB.
func (t memTable) total(c procClass) int {
	n := 0
	for _, r := range t {
		if r.class == c {
			n += r.pssKB
		}
	}
	return n
}

func (t memTable) row(label string) (memRow, bool) {
	for _, r := range t {
		if r.label == label {
			return r, true
		}
	}
	return memRow{}, false
}

// furtherKB is what each pod past the first adds: the growth of the total
// from one pod to n, spread over the n−1 others.
func furtherKB(oneKB, manyKB, n int) float64 {
	if n < 2 {
		return 0
	}
	return float64(manyKB-oneKB) / float64(n-1)
}

func mib(kb int) float64 { return float64(kb) / 1024 }

// leanTables are one tool's tables of the last round: one pod, leanPods
// pods; for podbox also the mappings of the first pod's PID 1 at both.
type leanTables struct {
	one, many       memTable
	podOne, podMany []mapping
}

// mapping is the PSS of one kind of mapping of a process: a file's segment
// by its permissions, or anonymous memory.
type mapping struct {
	name          string
	pssKB, anonKB int
}

// smapsProfile sums /proc/PID/smaps by mapping: a file by its base name and
// permissions (a binary's text r-xp, its data rw-p), "anonymous" (Go's heap
// arenas and goroutine stacks, C's malloc arenas), "[heap]", "[stack]", …;
// largest PSS first.
func smapsProfile(smaps string) []mapping {
	by := map[string]*mapping{}
	var cur *mapping
	for _, l := range strings.Split(smaps, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if !strings.HasSuffix(f[0], ":") && len(f) >= 5 && strings.Contains(f[0], "-") {
			name := "anonymous"
			if len(f) >= 6 {
				name = strings.Join(f[5:], " ")
				if !strings.HasPrefix(name, "[") {
					name = filepath.Base(name) + " " + f[1]
				}
			}
			if cur = by[name]; cur == nil {
				cur = &mapping{name: name}
				by[name] = cur
			}
			continue
		}
		if cur == nil || len(f) < 2 {
			continue
		}
		v, _ := strconv.Atoi(f[1])
		switch f[0] {
		case "Pss:":
			cur.pssKB += v
		case "Anonymous:":
			cur.anonKB += v
		}
	}
	var out []mapping
	for _, m := range by {
		if m.pssKB > 0 {
			out = append(out, *m)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].pssKB != out[j].pssKB {
			return out[i].pssKB > out[j].pssKB
		}
		return out[i].name < out[j].name
	})
	return out
}

// podPID1 is the pid of a pod's PID 1 among ps (the first by pid), or 0.
func podPID1(ps []*proc) int {
	pid := 0
	for _, p := range ps {
		if strings.HasPrefix(p.cmdline, podboxArgv0) && (pid == 0 || p.pid < pid) {
			pid = p.pid
		}
	}
	return pid
}

func readSmapsProfile(pid int) []mapping {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps")
	if err != nil {
		return nil
	}
	return smapsProfile(string(raw))
}

// profileLine is the largest mappings of a profile, in MiB.
func profileLine(ms []mapping, n int) string {
	var parts []string
	rest := 0
	for i, m := range ms {
		if i >= n {
			rest += m.pssKB
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.2f", m.name, mib(m.pssKB)))
	}
	if rest > 0 {
		parts = append(parts, fmt.Sprintf("the rest %.2f", mib(rest)))
	}
	return strings.Join(parts, ", ")
}

// waitSettled waits until at least `sleepers` container sleeps of the tool
// run and no transient process (runc, newuidmap, podman) is left, then
// lets it settle for idleSettle: an idle pod is measured idle, after the
// pod's PID 1 has had its quiet second (podbox's drops the binary's pages
// then, sandbox/pod/trim.go), the same wait for both tools.
func waitSettled(t *tool, sleepers int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		n, busy := 0, false
		for _, p := range t.procs() {
			if p.comm == "sleep" {
				n++
			}
			if transient(p.comm) {
				busy = true
			}
		}
		if n >= sleepers && !busy {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d containers running, busy=%v, after %s", n, sleepers, busy, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(idleSettle)
	return nil
}

// idleSettle is how long the memory rows wait after a start settled.
const idleSettle = 2 * time.Second

func (b *bench) measureLean() {
	rounds := min(b.rounds, leanRounds)
	for r := 0; r < rounds; r++ {
		for _, t := range b.order(r) {
			b.leanRound(t, r)
		}
	}
}

// leanRound: one idle pod up, measured; leanPods−1 more, measured; all down,
// and nothing of the tool left alive but Podman's pause process.
func (b *bench) leanRound(t *tool, r int) {
	one, many, further := b.res("own-pss", t), b.res("own-pss20", t), b.res("own-further", t)
	if one.failed() || many.failed() {
		return
	}
	var pods, files []string
	for i := 0; i < leanPods; i++ {
		pod := fmt.Sprintf("bl-%s-%d-%d", t.name, r, i)
		file, err := b.render("idle", pod, nil)
		if err != nil {
			one.fail(err)
			return
		}
		pods, files = append(pods, pod), append(files, file)
	}
	defer b.downAndReap(t, files, pods)

	if err := t.up(files[0], false); err != nil {
		one.fail(err)
		many.fail(errors.New("the first pod did not come up"))
		return
	}
	if err := waitSettled(t, 2, 30*time.Second); err != nil {
		one.fail(err)
		many.fail(errors.New("the first pod did not settle"))
		return
	}
	ps1 := t.procs()
	tab1 := tabulate(ps1, readProcMem)
	// The first pod's PID 1, mapping by mapping, alone and among 20.
	pid1 := podPID1(ps1)
	var podOne, podMany []mapping
	if pid1 != 0 {
		podOne = readSmapsProfile(pid1)
	}
	own1 := tab1.total(classOwn)
	if own1 == 0 {
		one.fail(errors.New("found none of the tool's own processes"))
		return
	}
	one.add(mib(own1), nil)

	errs := parallelN(leanPods-1, 4, func(i int) error { return t.up(files[i+1], false) })
	if err := errors.Join(errs...); err != nil {
		many.fail(err)
		further.fail(err)
		return
	}
	if err := waitSettled(t, 2*leanPods, 60*time.Second); err != nil {
		many.fail(err)
		further.fail(err)
		return
	}
	tabN := tabulate(t.procs(), readProcMem)
	if pid1 != 0 {
		podMany = readSmapsProfile(pid1)
	}
	ownN := tabN.total(classOwn)
	many.add(mib(ownN), nil)
	further.add(furtherKB(own1, ownN, leanPods)/1024, nil)
	b.lean[t.name] = leanTables{one: tab1, many: tabN, podOne: podOne, podMany: podMany}
	logf("%s: own PSS %.1f MiB at 1 pod, %.1f MiB at %d (%.2f MiB per further pod)",
		t.name, mib(own1), mib(ownN), leanPods, furtherKB(own1, ownN, leanPods)/1024)
}

// downAndReap takes the pods down, then kills by pid whatever of the tool
// is still alive after 10 s (but Podman's pause process), and notes it.
func (b *bench) downAndReap(t *tool, files, pods []string) {
	errs := parallelN(len(files), 4, func(i int) error { return t.down(files[i], pods[i]) })
	for _, err := range errs {
		if err != nil {
			logf("%s: %v", t.name, err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var left []*proc
		for _, p := range t.procs() {
			if !lingers(p) && p.pid != os.Getpid() {
				left = append(left, p)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			var names []string
			for _, p := range left {
				names = append(names, fmt.Sprintf("%d (%s)", p.pid, p.comm))
				_ = killPid(p.pid)
			}
			msg := fmt.Sprintf("after down of the %d pods, killed by pid: %s", len(pods), strings.Join(names, ", "))
			logf("%s: %s", t.name, msg)
			if r := b.res("own-pss20", t); r.note == "" {
				r.note = msg
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// parallelN runs f(0) … f(n−1), at most limit at a time.
func parallelN(n, limit int, f func(i int) error) []error {
	errs := make([]error, n)
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	return errs
}

// leanProcs is the per-process table of the memory rows, per tool: every
// label with its count and PSS (anonymous / file-backed) at one pod and at
// leanPods.
func (b *bench) leanProcs() string {
	var s strings.Builder
	for _, name := range []string{"podbox", "podman"} {
		lt, ok := b.lean[name]
		if !ok {
			continue
		}
		fmt.Fprintf(&s, "%s:\n\n", name)
		fmt.Fprintf(&s, "| process | counted | at 1 pod: n, PSS (anon + file) | at %d pods: n, PSS (anon + file) |\n", leanPods)
		s.WriteString("| --- | --- | --- | --- |\n")
		var labels []string
		seen := map[string]bool{}
		for _, t := range []memTable{lt.one, lt.many} {
			for _, r := range t {
				if !seen[r.label] {
					seen[r.label] = true
					labels = append(labels, r.label)
				}
			}
		}
		cell := func(t memTable, label string) string {
			r, ok := t.row(label)
			if !ok {
				return "–"
			}
			return fmt.Sprintf("×%d, %.2f MiB (%.2f + %.2f)", r.n, mib(r.pssKB), mib(r.anonKB), mib(r.file))
		}
		class := map[string]procClass{}
		for _, t := range []memTable{lt.one, lt.many} {
			for _, r := range t {
				class[r.label] = r.class
			}
		}
		sort.SliceStable(labels, func(i, j int) bool { return class[labels[i]] < class[labels[j]] })
		for _, l := range labels {
			fmt.Fprintf(&s, "| %s | %s | %s | %s |\n", l, class[l], cell(lt.one, l), cell(lt.many, l))
		}
		for _, c := range []procClass{classOwn, classNet, classContainer} {
			fmt.Fprintf(&s, "| **total, %s** | | %.2f MiB | %.2f MiB |\n", c, mib(lt.one.total(c)), mib(lt.many.total(c)))
		}
		s.WriteString("\n")
		if len(lt.podOne) > 0 {
			fmt.Fprintf(&s, "The first pod's PID 1 by mapping, PSS in MiB (/proc/PID/smaps; \"anonymous\" is Go's heap arenas and "+
				"goroutine stacks): alone: %s. Among %d pods: %s.\n\n", profileLine(lt.podOne, 6), leanPods, profileLine(lt.podMany, 6))
		}
	}
	return s.String()
}

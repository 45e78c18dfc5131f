package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Deadlines: a tool that misses one gets "n/a" for the metric, and the run
// goes on.
const (
	upDeadline = 15 * time.Second
	// upAnswer bounds the up metric: Podman 4.3.1's kube play of a pod
	// with an init container takes 20 s here (see bench/README.md).
	upAnswer      = 40 * time.Second
	downDeadline  = 10 * time.Second
	scaleDeadline = 90 * time.Second
	flowDeadline  = 60 * time.Second
	pollInterval  = 2 * time.Millisecond
	settle        = 300 * time.Millisecond
)

type bench struct {
	work, registry string
	rounds         int
	mb             int // MiB moved per throughput sample
	hostname       string
	manifests      string
	tools          []*tool
	metrics        []*metric
	floors         map[string]*result
	byKey          map[string]*metric
	sampleSHA      string
	eg             *egress
	breakdown      map[string]string     // tool → processes of one idle pod
	lean           map[string]leanTables // tool → its processes at 1 and at leanPods idle pods (issue 10)
	baseline       string                // what the podbox binary holds doing no pod work
	started        time.Time
	loadStart      string   // /proc/loadavg's first three fields when measuring began
	only           []string // PODBOX_BENCH_ONLY: the metrics to run; empty: all
}

func measureMain(args []string) int {
	if parent, code := reaped(); parent {
		return code
	}
	fs := flag.NewFlagSet("measure", flag.ExitOnError)
	b := &bench{started: time.Now(), breakdown: map[string]string{}, lean: map[string]leanTables{}}
	fs.StringVar(&b.work, "work", "", "the work `DIR` (the test user's)")
	fs.StringVar(&b.registry, "registry", "", "the local registry `HOST:PORT`")
	fs.IntVar(&b.rounds, "rounds", 5, "rounds per metric")
	fs.IntVar(&b.mb, "mb", envInt("PODBOX_BENCH_MB", 256), "MiB per throughput sample")
	fs.StringVar(&b.hostname, "hostname", "", "the machine's name for the report")
	only := fs.String("only", "", "run only the metrics `KEY[,KEY…]` (and those whose key starts with KEY-)")
	_ = fs.Parse(args)
	if b.work == "" || b.registry == "" {
		logf("usage: bench measure -work DIR -registry HOST:PORT [-rounds N]")
		return 2
	}
	if b.hostname == "" {
		b.hostname, _ = os.Hostname()
	}
	b.only = onlyKeys(*only)
	b.loadStart = loadAvg()
	b.manifests = filepath.Join(b.work, "manifests")
	if err := b.setup(); err != nil {
		logf("%v", err)
		return 1
	}
	defer func() {
		for _, t := range b.tools {
			t.cleanup()
		}
	}()
	b.runAll()
	report := b.report()
	fmt.Print(report)
	if err := os.WriteFile(filepath.Join(b.work, "result.md"), []byte(report), 0o644); err != nil {
		logf("%v", err)
		return 1
	}
	return 0
}

// cleanupMain removes what a measure run may have left: every pod and the
// store of each tool (from inside the tools' user namespaces).
func cleanupMain(args []string) int {
	fs := flag.NewFlagSet("cleanup", flag.ExitOnError)
	work := fs.String("work", "", "the work `DIR`")
	_ = fs.Parse(args)
	if *work == "" {
		return 2
	}
	for _, name := range []string{"podbox", "podman"} {
		bin := binPath("podman")
		if name == "podbox" {
			bin = filepath.Join(*work, "bin", "podbox")
		}
		dir := filepath.Join(*work, name)
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		t, err := newTool(name, bin, dir, filepath.Join(*work, "registries.conf"))
		if err != nil {
			continue
		}
		t.cleanup()
	}
	return 0
}

func (b *bench) setup() error {
	reg := filepath.Join(b.work, "registries.conf")
	conf := fmt.Sprintf("[[registry]]\nlocation = %q\ninsecure = true\n", b.registry)
	if err := os.WriteFile(reg, []byte(conf), 0o644); err != nil {
		return err
	}
	pb, err := newTool("podbox", filepath.Join(b.work, "bin", "podbox"), filepath.Join(b.work, "podbox"), reg)
	if err != nil {
		return err
	}
	pm, err := newTool("podman", binPath("podman"), filepath.Join(b.work, "podman"), reg)
	if err != nil {
		return err
	}
	b.tools = []*tool{pb, pm}

	var info struct {
		Files map[string]string `json:"files"`
	}
	raw, err := os.ReadFile(filepath.Join(b.work, "images", "images.json"))
	if err != nil {
		return fmt.Errorf("reading the test images' digests: %w", err)
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		return err
	}
	b.sampleSHA = info.Files["sample.war"]

	b.eg, err = newEgress()
	if err != nil {
		return err
	}
	b.defineMetrics()
	return nil
}

func (b *bench) defineMetrics() {
	ms := []*metric{
		{key: "up", name: "up: WAR pod, `up` to HTTP answer on its hostPort", unit: "ms", floor: "unshare, runc"},
		{key: "up-noinit", name: "up: web pod without init container, `up` to HTTP answer", unit: "ms", floor: "unshare, runc, podbox-start"},
		{key: "down", name: "down: WAR pod, command to return and port free", unit: "ms"},
		{key: "pull", name: "cold pull of busybox from the local registry", unit: "ms"},
		{key: "oneshot", name: "one-shot pod (`true`), up to exit and gone", unit: "ms", floor: "runc"},
		{key: "pss", name: "memory kept per idle 2-container pod, PSS", unit: "MiB"},
		{key: "rss", name: "memory kept per idle 2-container pod, RSS", unit: "MiB"},
		{key: "tput-down", name: "throughput pod → host over hostPort (MB/s, higher is better)", unit: "MB/s", higher: true, floor: "loop-down"},
		{key: "tput-up", name: "throughput host → pod over hostPort (MB/s, higher is better)", unit: "MB/s", higher: true, floor: "loop-up"},
		{key: "tput-egress", name: "throughput pod egress via slirp4netns to host loopback (MB/s, higher is better)", unit: "MB/s", higher: true, floor: "loop-egress"},
		{key: "scale-up", name: "scale: 10 pods at once, start to all containers running", unit: "ms"},
		{key: "scale-pss", name: "scale: memory kept for those 10 pods, PSS", unit: "MiB"},
		{key: "scale-down", name: "scale: the 10 pods down at once", unit: "ms"},
		{key: "down-sleep", name: "down, `sleep 3600` pod (PID 1 without a SIGTERM handler, grace period 30 s)", unit: "ms"},
		{key: "down-shell", name: "down, shell PID 1 with a server child, stands in for the Tomcat pod (no trap, grace period 10 s)", unit: "ms"},
		{key: "down-trap", name: "down, pod that handles SIGTERM (shell with a trap, grace period 10 s)", unit: "ms"},
		{key: "own-pss", name: "own processes, one idle 2-container pod, PSS (slirp4netns and containers not counted)", unit: "MiB"},
		{key: "own-pss20", name: fmt.Sprintf("own processes, %d idle 2-container pods at once, PSS total", leanPods), unit: "MiB"},
		{key: "own-further", name: fmt.Sprintf("own processes, each further pod at %d pods, PSS", leanPods), unit: "MiB"},
	}
	for _, m := range extraMetrics {
		c := *m
		ms = append(ms, &c)
	}
	b.metrics = ms
	b.byKey = map[string]*metric{}
	for _, m := range ms {
		m.res = map[string]*result{}
		for _, t := range b.tools {
			m.res[t.name] = &result{}
		}
		b.byKey[m.key] = m
	}
	b.floors = map[string]*result{}
	for _, f := range floorKeys() {
		b.floors[f] = &result{}
	}
}

// extraMetrics, extraPhases and extraFloors let another file of this
// package add rows, the phase that measures them and their floors from an
// init function, without editing the lists here (tests/bench/throughput.go,
// issue 10 item 4). A phase runs after the others, when one of its keys is
// selected.
var (
	extraMetrics []*metric
	extraPhases  []extraPhase
	extraFloors  []extraFloor
)

type extraPhase struct {
	name string
	run  func(b *bench)
	keys []string
}

type extraFloor struct{ key, name, unit string }

// floorKeys are the floors in the order of the report.
func floorKeys() []string {
	keys := []string{"unshare", "runc", "podbox-start", "loop-down", "loop-up", "loop-egress"}
	for _, f := range extraFloors {
		keys = append(keys, f.key)
	}
	return keys
}

// order alternates which tool goes first, round by round.
func (b *bench) order(round int) []*tool {
	if round%2 == 0 {
		return b.tools
	}
	return []*tool{b.tools[1], b.tools[0]}
}

func (b *bench) runAll() {
	// A phase runs when one of its metrics is selected (PODBOX_BENCH_ONLY);
	// its other metrics are then measured and shown too. Phases without
	// keys (the warm-up) always run.
	phase := func(name string, f func(), keys ...string) {
		run := len(keys) == 0
		for _, k := range keys {
			if b.selected(k) {
				run = true
			}
		}
		if !run {
			return
		}
		for _, k := range keys {
			b.byKey[k].ran = true
		}
		t0 := time.Now()
		logf("%s …", name)
		f()
		logf("%s: %s", name, time.Since(t0).Round(100*time.Millisecond))
	}
	phase("floors", b.measureFloors, "up", "up-noinit", "oneshot")
	phase("cold pull", b.measurePull, "pull")
	if !b.byKey["pull"].ran {
		phase("pulling the images", b.pullImages)
	}
	phase("warm-up", b.warmUp)
	phase("up and down", b.measureUpDown, "up", "down")
	phase("up without init container", b.measureUpNoInit, "up-noinit")
	phase("down by SIGTERM handling", b.measureStops, "down-sleep", "down-shell", "down-trap")
	phase("one-shot", b.measureOneshot, "oneshot")
	phase("memory", b.measureMemory, "pss", "rss")
	phase("throughput", b.measureThroughput, "tput-down", "tput-up", "tput-egress")
	phase("scale", b.measureScale, "scale-up", "scale-pss", "scale-down")
	phase("own processes at 1 and 20 pods", b.measureLean, "own-pss", "own-pss20", "own-further")
	for _, p := range extraPhases {
		phase(p.name, func() { p.run(b) }, p.keys...)
	}
}

// onlyKeys splits PODBOX_BENCH_ONLY's comma-separated words.
func onlyKeys(s string) []string {
	var keys []string
	for _, w := range strings.Split(s, ",") {
		if w = strings.TrimSpace(w); w != "" {
			keys = append(keys, w)
		}
	}
	return keys
}

func (b *bench) res(key string, t *tool) *result { return b.byKey[key].res[t.name] }

// render writes a manifest from bench/manifests with its placeholders filled.
func (b *bench) render(name, pod string, vars map[string]string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(b.manifests, name+".yaml"))
	if err != nil {
		return "", err
	}
	s := strings.NewReplacer("@REGISTRY@", b.registry, "@POD@", pod).Replace(string(raw))
	for k, v := range vars {
		s = strings.ReplaceAll(s, "@"+k+"@", v)
	}
	dir := filepath.Join(b.work, "rendered")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	file := filepath.Join(dir, pod+".yaml")
	return file, os.WriteFile(file, []byte(s), 0o644)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// timed runs f and returns its wall time.
func timed(f func() error) (time.Duration, error) {
	t0 := time.Now()
	err := f()
	return time.Since(t0), err
}

// --- floors -----------------------------------------------------------------

func (b *bench) measureFloors() {
	bundle, err := b.runcBundle()
	if err != nil {
		b.floors["runc"].fail(err)
	}
	for r := 0; r < b.rounds; r++ {
		d, err := timed(func() error {
			out, err := exec.Command("unshare", "--user", "--net", "--mount", "--pid", "--fork", "true").CombinedOutput()
			if err != nil {
				return fmt.Errorf("unshare: %v: %s", err, firstLine(string(out)))
			}
			return nil
		})
		b.floors["unshare"].add(ms(d), err)
		// What every podbox command pays before it does anything: the Go
		// runtime and the package initialisers of all it links (issue 10
		// counts three starts of the binary per `up`).
		d, err = timed(func() error { return b.tools[0].run("version") })
		b.floors["podbox-start"].add(ms(d), err)
		if bundle != "" && !b.floors["runc"].failed() {
			id := fmt.Sprintf("bench-floor-%d-%d", os.Getpid(), r)
			d, err := timed(func() error {
				out, err := exec.Command("runc", "--root", filepath.Join(b.work, "runc-state"), "run", "-b", bundle, id).CombinedOutput()
				if err != nil {
					return fmt.Errorf("runc run: %v: %s", err, firstLine(string(out)))
				}
				return nil
			})
			b.floors["runc"].add(ms(d), err)
		}
	}
}

// runcBundle is a rootless bundle of the static busybox running `true`.
func (b *bench) runcBundle() (string, error) {
	bundle := filepath.Join(b.work, "runc-bundle")
	rootfs := filepath.Join(bundle, "rootfs")
	if err := os.MkdirAll(filepath.Join(rootfs, "bin"), 0o755); err != nil {
		return "", err
	}
	if err := copyFile("/usr/bin/busybox", filepath.Join(rootfs, "bin", "busybox")); err != nil {
		return "", err
	}
	if out, err := exec.Command("runc", "spec", "--rootless", "-b", bundle).CombinedOutput(); err != nil {
		return "", fmt.Errorf("runc spec: %v: %s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return "", err
	}
	var spec map[string]any
	if err := json.Unmarshal(raw, &spec); err != nil {
		return "", err
	}
	p := spec["process"].(map[string]any)
	p["args"] = []string{"/bin/busybox", "true"}
	p["terminal"] = false
	spec["root"] = map[string]any{"path": "rootfs", "readonly": true}
	raw, _ = json.Marshal(spec)
	return bundle, os.WriteFile(filepath.Join(bundle, "config.json"), raw, 0o644)
}

// --- cold pull --------------------------------------------------------------

func (b *bench) measurePull() {
	busybox := b.registry + "/busybox:latest"
	sample := b.registry + "/sample:v2"
	for r := 0; r < b.rounds; r++ {
		for _, t := range b.order(r) {
			res := b.res("pull", t)
			if res.failed() {
				continue
			}
			// sample:v2 shares busybox's layer: both go, so the pull is cold.
			t.rmi(sample, busybox)
			d, err := timed(func() error { return t.pull(busybox) })
			res.add(ms(d), err)
		}
	}
	b.pullImages()
}

// pullImages stores the images every other metric runs, in both tools.
func (b *bench) pullImages() {
	for _, t := range b.tools {
		for _, ref := range []string{b.registry + "/busybox:latest", b.registry + "/sample:v2"} {
			if err := t.pull(ref); err != nil {
				logf("%s: pulling %s: %v", t.name, ref, err)
			}
		}
	}
}

// --- up, down ---------------------------------------------------------------

// warmUp brings the WAR pod up and down once per tool, untimed: Podman
// builds its pause image on its first pod, both tools fill caches.
func (b *bench) warmUp() {
	for _, t := range b.tools {
		pod := "bw-" + t.name
		port, _ := freePort()
		file, err := b.render("web", pod, map[string]string{"PORT": strconv.Itoa(port)})
		if err != nil {
			logf("%v", err)
			continue
		}
		if err := t.up(file, false); err != nil {
			logf("warm-up: %s: %v", t.name, err)
		}
		if err := t.down(file, pod); err != nil {
			logf("warm-up: %s: %v", t.name, err)
		}
	}
}

func (b *bench) measureUpDown() {
	for r := 0; r < b.rounds; r++ {
		for _, t := range b.order(r) {
			up, down := b.res("up", t), b.res("down", t)
			if down.failed() {
				continue
			}
			pod := fmt.Sprintf("bu-%s-%d", t.name, r)
			port, err := freePort()
			if err != nil {
				up.fail(err)
				continue
			}
			file, err := b.render("web", pod, map[string]string{"PORT": strconv.Itoa(port)})
			if err != nil {
				up.fail(err)
				continue
			}
			url := fmt.Sprintf("http://127.0.0.1:%d/sample.war", port)
			if up.failed() {
				// The port never answered before: bring the pod up
				// untimed, so that down is still measured.
				if err := t.up(file, false); err != nil {
					down.fail(fmt.Errorf("up failed: %w", err))
					_ = t.down(file, pod)
					continue
				}
			} else {
				d, warn, err := b.timeUp(t, file, url)
				up.add(ms(d), err)
				if err == nil && warn != nil {
					up.warn(warn)
				}
			}
			d, err := timed(func() error {
				if err := t.down(file, pod); err != nil {
					return err
				}
				return waitPortFree(port, downDeadline)
			})
			down.add(ms(d), err)
		}
	}
	for _, t := range b.tools {
		if !b.res("up", t).ok() {
			b.res("down", t).note = "the pod's port never answered (hostPort not forwarded), so 'port free' was trivially true"
		}
	}
}

// measureUpNoInit: the same server straight from sample:v2, no init
// container and no volume, then down untimed.
func (b *bench) measureUpNoInit() {
	for r := 0; r < b.rounds; r++ {
		for _, t := range b.order(r) {
			res := b.res("up-noinit", t)
			if res.failed() {
				continue
			}
			pod := fmt.Sprintf("bn-%s-%d", t.name, r)
			port, err := freePort()
			if err != nil {
				res.fail(err)
				continue
			}
			file, err := b.render("web-noinit", pod, map[string]string{"PORT": strconv.Itoa(port)})
			if err != nil {
				res.fail(err)
				continue
			}
			d, warn, err := b.timeUp(t, file, fmt.Sprintf("http://127.0.0.1:%d/sample.war", port))
			res.add(ms(d), err)
			if err == nil && warn != nil {
				res.warn(warn)
			}
			if err := t.down(file, pod); err != nil {
				logf("%s: %v", t.name, err)
			}
			_ = waitPortFree(port, downDeadline)
		}
	}
}

// timeUp: from the up command's start to the first right answer on the
// hostPort. A command that fails while its pod answers all the same (Podman
// 4.3.1 with an init container, sometimes) gives the time and a warning.
func (b *bench) timeUp(t *tool, file, url string) (d time.Duration, warn, err error) {
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := t.command(ctx, t.upArgs(file, false)...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return 0, nil, err
	}
	cmdDone := make(chan error, 1)
	go func() { cmdDone <- cmd.Wait() }()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := t0.Add(upAnswer)
	var cmdErr error
	exited := false
	lastErr := errors.New("no answer")
	for time.Now().Before(deadline) {
		select {
		case e := <-cmdDone:
			exited = true
			if e != nil {
				cmdErr = cmdError(t.name, t.upArgs(file, false), []byte(out.String()), e)
			}
			// podbox up -d returns once the containers started; keep
			// polling a while after the command has returned.
			deadline = minTime(deadline, time.Now().Add(upDeadline))
		default:
		}
		if err := getSHA(client, url, b.sampleSHA); err == nil {
			d := time.Since(t0)
			if !exited {
				if e := <-cmdDone; e != nil {
					cmdErr = cmdError(t.name, t.upArgs(file, false), []byte(out.String()), e)
				}
			}
			return d, cmdErr, nil
		} else {
			lastErr = err
		}
		time.Sleep(pollInterval)
	}
	if !exited {
		<-cmdDone
	}
	if cmdErr != nil {
		return 0, nil, cmdErr
	}
	return 0, nil, fmt.Errorf("no right answer on %s within %s of `up` (%v): hostPort not forwarded?", strings.TrimSuffix(url, "/sample.war"), time.Since(t0).Round(time.Second), shortErr(lastErr))
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func shortErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return s
}

func getSHA(client *http.Client, url, want string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if got := hex.EncodeToString(h.Sum(nil)); want != "" && got != want {
		return fmt.Errorf("wrong body: sha256 %s, want %s", got, want)
	}
	return nil
}

func waitPortFree(port int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			l.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("port %d still bound %s after down", port, within)
		}
		time.Sleep(pollInterval)
	}
}

// --- one-shot ---------------------------------------------------------------

func (b *bench) measureOneshot() {
	for r := 0; r < b.rounds; r++ {
		for _, t := range b.order(r) {
			res := b.res("oneshot", t)
			if res.failed() {
				continue
			}
			pod := fmt.Sprintf("bo-%s-%d", t.name, r)
			file, err := b.render("oneshot", pod, nil)
			if err != nil {
				res.fail(err)
				continue
			}
			d, err := timed(func() error { return t.oneshot(file, pod) })
			res.add(ms(d), err)
			if !t.podman() {
				// Whatever `up` left (it should leave nothing).
				_ = t.run("down", pod)
			}
		}
	}
}

// --- memory -----------------------------------------------------------------

// overhead sums PSS and RSS of the tool's processes outside the containers'
// own, once the tool has settled: at least `sleepers` container sleeps run
// and no transient process (runc, newuidmap, podman) is left.
func (b *bench) overhead(t *tool, sleepers int, within time.Duration) (pssKB, rssKB int, procs []*proc, err error) {
	if err := waitSettled(t, sleepers, within); err != nil {
		return 0, 0, nil, err
	}
	for _, p := range toolProcs(scanProcs(), t.marker) {
		if workloadComms[p.comm] || transient(p.comm) {
			continue
		}
		pss, rss, err := memKB(p.pid)
		if err != nil {
			continue // gone meanwhile
		}
		pssKB += pss
		rssKB += rss
		procs = append(procs, p)
	}
	if len(procs) == 0 {
		return 0, 0, nil, errors.New("found none of the tool's processes")
	}
	return pssKB, rssKB, procs, nil
}

func describeProcs(procs []*proc) string {
	count := map[string]int{}
	var anon, file int
	for _, p := range procs {
		name := p.comm
		if strings.HasPrefix(p.cmdline, "podbox-pod:") {
			name = "podbox pod process"
		} else if name == "exe" {
			name = "podbox (" + firstField(p.cmdline) + ")"
		}
		count[name]++
		a, f := pssSplitKB(p.pid)
		anon += a
		file += f
	}
	var parts []string
	for n, c := range count {
		parts = append(parts, fmt.Sprintf("%s ×%d", n, c))
	}
	sort.Strings(parts)
	return fmt.Sprintf("%s (PSS %.1f MiB anonymous, %.1f MiB file-backed)", strings.Join(parts, ", "), float64(anon)/1024, float64(file)/1024)
}

func firstField(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return filepath.Base(f[0])
	}
	return s
}

func (b *bench) measureMemory() {
	rounds := min(b.rounds, 3)
	for r := 0; r < rounds; r++ {
		for _, t := range b.order(r) {
			pss, rss := b.res("pss", t), b.res("rss", t)
			if pss.failed() {
				continue
			}
			pod := fmt.Sprintf("bm-%s-%d", t.name, r)
			file, err := b.render("idle", pod, nil)
			if err != nil {
				pss.fail(err)
				continue
			}
			if err := t.up(file, false); err != nil {
				pss.fail(err)
				rss.fail(err)
				_ = t.down(file, pod)
				continue
			}
			p, q, procs, err := b.overhead(t, 2, 30*time.Second)
			pss.add(float64(p)/1024, err)
			rss.add(float64(q)/1024, err)
			if err == nil {
				b.breakdown[t.name] = describeProcs(procs)
				if !t.podman() && b.baseline == "" {
					b.baseline = b.binaryBaseline(t, pod)
				}
			}
			if err := t.down(file, pod); err != nil {
				logf("%s: %v", t.name, err)
			}
		}
	}
}

// binaryBaseline measures a podbox process that does no pod work (`podbox
// logs -f` of the idle pod): what any long-lived process of this binary holds.
func (b *bench) binaryBaseline(t *tool, pod string) string {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := t.command(ctx, "logs", "-f", pod, "-c", "a")
	if err := cmd.Start(); err != nil {
		return ""
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	time.Sleep(settle)
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", cmd.Process.Pid))
	if err != nil {
		return ""
	}
	var rss, anon int
	for _, l := range strings.Split(string(raw), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.Atoi(f[1])
		switch f[0] {
		case "Rss:":
			rss = v
		case "Anonymous:":
			anon = v
		}
	}
	st, _ := os.Stat(t.bin)
	size := 0.0
	if st != nil {
		size = float64(st.Size()) / (1 << 20)
	}
	return fmt.Sprintf("a podbox process doing no pod work (`podbox logs -f`) holds %.1f MiB RSS: %.1f MiB file-backed "+
		"(pages of the %.0f MiB podbox binary) and %.1f MiB anonymous", float64(rss)/1024, float64(rss-anon)/1024, size, float64(anon)/1024)
}

// --- throughput -------------------------------------------------------------

func (b *bench) measureThroughput() {
	size := int64(b.mb) << 20
	rounds := min(b.rounds, 3)
	if err := b.measureLoopback(size, rounds); err != nil {
		logf("loopback floor: %v", err)
	}
	for r := 0; r < rounds; r++ {
		for _, t := range b.order(r) {
			down, up, eg := b.res("tput-down", t), b.res("tput-up", t), b.res("tput-egress", t)
			if down.failed() && up.failed() && eg.failed() {
				continue
			}
			pod := fmt.Sprintf("bt-%s-%d", t.name, r)
			httpPort, _ := freePort()
			ncPort, _ := freePort()
			flow := b.eg.expect(pod)
			file, err := b.render("throughput", pod, map[string]string{
				"PORT": strconv.Itoa(httpPort), "PORT2": strconv.Itoa(ncPort),
				"EPORT": strconv.Itoa(b.eg.port), "MB": strconv.Itoa(b.mb),
			})
			if err == nil {
				err = t.up(file, true)
			}
			if err != nil {
				down.fail(err)
				up.fail(err)
				eg.fail(err)
				if file != "" {
					_ = t.down(file, pod)
				}
				continue
			}
			base := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
			if err := waitHTTP(base+"/ready.txt", upDeadline); err != nil {
				err = fmt.Errorf("hostPort %d: %w: hostPort not forwarded?", httpPort, err)
				down.fail(err)
				up.fail(err)
			} else {
				if !down.failed() {
					mbs, err := download(base+"/big", size)
					down.add(mbs, err)
				}
				if !up.failed() {
					mbs, err := upload(fmt.Sprintf("127.0.0.1:%d", ncPort), size)
					up.add(mbs, err)
				}
			}
			if !eg.failed() {
				mbs, err := flow.run(size)
				eg.add(mbs, err)
			}
			b.eg.forget(pod)
			if err := t.down(file, pod); err != nil {
				logf("%s: %v", t.name, err)
			}
		}
	}
}

// measureLoopback: the same three transfers between host processes on
// 127.0.0.1, with the same programs (busybox httpd, nc, wget; this
// program's client and server).
func (b *bench) measureLoopback(size int64, rounds int) error {
	www := filepath.Join(b.work, "www")
	if err := os.MkdirAll(www, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(www, "big"))
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	f.Close()
	defer os.Remove(filepath.Join(www, "big"))
	if err := os.WriteFile(filepath.Join(www, "ready.txt"), []byte("ok\n"), 0o644); err != nil {
		return err
	}
	port, _ := freePort()
	httpd := exec.Command("busybox", "httpd", "-f", "-p", fmt.Sprintf("127.0.0.1:%d", port), "-h", www)
	if err := httpd.Start(); err != nil {
		return err
	}
	defer func() { _ = httpd.Process.Kill(); _ = httpd.Wait() }()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := waitHTTP(base+"/ready.txt", 10*time.Second); err != nil {
		return err
	}
	// One untimed read first, so the file is in the page cache as the
	// pod's is (dd just wrote it there).
	_, _ = download(base+"/big", size)
	for r := 0; r < rounds; r++ {
		mbs, err := download(base+"/big", size)
		b.floors["loop-down"].add(mbs, err)

		ncPort, _ := freePort()
		nc := exec.Command("sh", "-c", fmt.Sprintf("exec busybox nc -l -p %d </dev/null >/dev/null", ncPort))
		if err := nc.Start(); err == nil {
			mbs, err := upload(fmt.Sprintf("127.0.0.1:%d", ncPort), size)
			b.floors["loop-up"].add(mbs, err)
			_ = nc.Process.Kill()
			_ = nc.Wait()
		}

		key := fmt.Sprintf("floor-%d", r)
		flow := b.eg.expect(key)
		url := fmt.Sprintf("http://127.0.0.1:%d", b.eg.port)
		wget := exec.Command("sh", "-c", fmt.Sprintf("busybox wget -q -O /dev/null %s/big/%s && busybox wget -q -O /dev/null %s/done/%s", url, key, url, key))
		if err := wget.Start(); err == nil {
			mbs, err := flow.run(size)
			b.floors["loop-egress"].add(mbs, err)
			_ = wget.Wait()
		}
		b.eg.forget(key)
	}
	return nil
}

func waitHTTP(url string, within time.Duration) error {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(within)
	var last error
	for time.Now().Before(deadline) {
		resp, err := client.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		last = err
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("no answer from %s within %s (%v)", url, within, shortErr(last))
}

func mbPerSec(n int64, d time.Duration) float64 { return float64(n) / 1e6 / d.Seconds() }

// download GETs url and reads every byte: pod → host.
func download(url string, size int64) (float64, error) {
	client := &http.Client{Timeout: flowDeadline, Transport: &http.Transport{DisableKeepAlives: true, DisableCompression: true}}
	t0 := time.Now()
	resp, err := client.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	d := time.Since(t0)
	if err != nil {
		return 0, err
	}
	if n != size {
		return 0, fmt.Errorf("got %d bytes of %d", n, size)
	}
	return mbPerSec(n, d), nil
}

// upload writes size bytes to a sink (`nc -l > /dev/null`), half-closes and
// waits for the sink to close in turn, so the time covers the last byte's
// arrival: host → pod. A refused first connection (the sink is not
// listening yet) is retried.
func upload(addr string, size int64) (float64, error) {
	buf := make([]byte, 1<<20)
	deadline := time.Now().Add(upDeadline)
	for {
		mbs, sent, err := uploadOnce(addr, buf, size)
		if err == nil || sent > 0 || time.Now().After(deadline) {
			return mbs, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func uploadOnce(addr string, buf []byte, size int64) (float64, int64, error) {
	t0 := time.Now()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(flowDeadline))
	var sent int64
	for sent < size {
		n := min(int64(len(buf)), size-sent)
		w, err := c.Write(buf[:n])
		sent += int64(w)
		if err != nil {
			return 0, sent - int64(w), fmt.Errorf("after %d bytes: %w", sent, err)
		}
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return 0, sent, err
	}
	if _, err := io.Copy(io.Discard, c); err != nil {
		return 0, sent, fmt.Errorf("waiting for the sink to close (half-close not forwarded?): %w", err)
	}
	return mbPerSec(sent, time.Since(t0)), sent, nil
}

// --- scale ------------------------------------------------------------------

func (b *bench) measureScale() {
	const n = 10
	rounds := min(b.rounds, 2)
	for r := 0; r < rounds; r++ {
		for _, t := range b.order(r) {
			upRes, pssRes, downRes := b.res("scale-up", t), b.res("scale-pss", t), b.res("scale-down", t)
			if upRes.failed() {
				continue
			}
			var pods, files []string
			for i := 0; i < n; i++ {
				pod := fmt.Sprintf("bs-%s-%d-%d", t.name, r, i)
				file, err := b.render("scale", pod, map[string]string{"EPORT": strconv.Itoa(b.eg.port)})
				if err != nil {
					upRes.fail(err)
					break
				}
				pods = append(pods, pod)
				files = append(files, file)
			}
			if len(files) < n {
				continue
			}
			want := map[string]bool{}
			for _, p := range pods {
				want[p+"/a"], want[p+"/b"] = true, true
			}
			ready := b.eg.watchReady(want)
			t0 := time.Now()
			errs := parallel(n, func(i int) error { return t.up(files[i], true) })
			var err error
			if e := errors.Join(errs...); e != nil {
				err = e
			} else {
				select {
				case <-ready:
				case <-time.After(scaleDeadline - time.Since(t0)):
					err = fmt.Errorf("not all %d containers signalled within %s", 2*n, scaleDeadline)
				}
			}
			d := time.Since(t0)
			b.eg.unwatch()
			upRes.add(ms(d), err)
			if err == nil {
				p, _, _, err := b.overhead(t, 2*n, 30*time.Second)
				pssRes.add(float64(p)/1024, err)
			} else {
				pssRes.fail(errors.New("the pods did not come up"))
			}
			d, err = timed(func() error {
				return errors.Join(parallel(n, func(i int) error { return t.down(files[i], pods[i]) })...)
			})
			downRes.add(ms(d), err)
		}
	}
}

func parallel(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	return errs
}

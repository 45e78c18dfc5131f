package main

// Fast hostPort throughput (issue 10, item 4): the tput-* rows above move
// data with busybox (httpd, nc), which is slower than a hostPort, so they
// hide what the forwarder costs. These rows use a fast server and client
// on both sides: the tput server of tests/testimages (1 MiB reads and
// writes; /bin/tput in the udpecho image, and the same binary run on the
// host as the loopback floor) and this program's client, PODBOX_BENCH_FAST_MB
// (default 1024) MiB per sample. Each round takes each tool's pod in
// alternating order, every pod sample beside a loopback sample, so that a
// load change on a shared machine hits both alike. podbox runs twice: with the default driver
// (builtin: the pod's PID 1 copies between two TCP connections) and with
// the bypass driver (the server accepts the client's own connection);
// Podman has only rootlessport, its row for bypass says n/a.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

func init() {
	extraMetrics = append(extraMetrics,
		&metric{key: "tput-fast-down", name: "hostPort throughput pod → host, Go server → Go client (MB/s, higher is better)", unit: "MB/s", higher: true, floor: "loop-fast-down"},
		&metric{key: "tput-fast-up", name: "hostPort throughput host → pod, Go client → Go server (MB/s, higher is better)", unit: "MB/s", higher: true, floor: "loop-fast-up"},
		&metric{key: "tput-fast-bypass-down", name: "the same pod → host, podbox's bypass port driver (MB/s, higher is better)", unit: "MB/s", higher: true, floor: "loop-fast-down"},
		&metric{key: "tput-fast-bypass-up", name: "the same host → pod, podbox's bypass port driver (MB/s, higher is better)", unit: "MB/s", higher: true, floor: "loop-fast-up"},
	)
	extraFloors = append(extraFloors,
		extraFloor{key: "loop-fast-down", name: "host loopback, tput server → Go client", unit: "MB/s"},
		extraFloor{key: "loop-fast-up", name: "host loopback, Go client → tput server", unit: "MB/s"},
	)
	extraPhases = append(extraPhases, extraPhase{
		name: "fast throughput", run: (*bench).measureFastThroughput,
		keys: []string{"tput-fast-down", "tput-fast-up", "tput-fast-bypass-down", "tput-fast-bypass-up"},
	})
	hostPortThroughput = (*bench).fastThroughputTargets
}

// fastMB is the MiB moved per sample.
func fastMB() int64 { return int64(envInt("PODBOX_BENCH_FAST_MB", 1024)) }

func (b *bench) measureFastThroughput() {
	size := fastMB() << 20
	floor, stop, err := b.startLoopTput()
	if err != nil {
		b.floors["loop-fast-down"].fail(err)
		b.floors["loop-fast-up"].fail(err)
	} else {
		defer stop()
	}
	if pm := b.tools[1]; pm.podman() {
		why := errors.New("Podman has no such driver: rootlessport copies (the tput-fast rows)")
		b.res("tput-fast-bypass-down", pm).fail(why)
		b.res("tput-fast-bypass-up", pm).fail(why)
	}
	type run struct {
		t              *tool
		driver         string
		downKey, upKey string
	}
	for r := 0; r < b.rounds; r++ {
		var runs []run
		for _, t := range b.order(r) {
			runs = append(runs, run{t, "", "tput-fast-down", "tput-fast-up"})
			if !t.podman() {
				runs = append(runs, run{t, "bypass", "tput-fast-bypass-down", "tput-fast-bypass-up"})
			}
		}
		for _, x := range runs {
			down, up := b.res(x.downKey, x.t), b.res(x.upKey, x.t)
			if down.failed() && up.failed() {
				continue
			}
			if err := b.fastPod(x.t, x.driver, r, size, floor, down, up); err != nil {
				down.fail(err)
				up.fail(err)
			}
		}
	}
}

// fastPod starts the tput pod of tool t with the port driver, takes one
// sample each way, each beside a floor sample (loopback, pod, pod,
// loopback: a load that changes hits both alike), and takes the pod down.
func (b *bench) fastPod(t *tool, driver string, round int, size int64, floor string, down, up *result) error {
	pod := fmt.Sprintf("bf-%s%s-%d", t.name, driver, round)
	port, err := freePort()
	if err != nil {
		return err
	}
	file, err := b.render("tput", pod, map[string]string{"PORT": strconv.Itoa(port), "DRIVER": driver})
	if err != nil {
		return err
	}
	if err := t.up(file, false); err != nil {
		_ = t.down(file, pod)
		return err
	}
	defer func() {
		if err := t.down(file, pod); err != nil {
			logf("%s: %v", t.name, err)
		}
	}()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	local, err := waitTput(addr, upDeadline)
	if err != nil {
		return fmt.Errorf("hostPort %d: %w: hostPort not forwarded?", port, err)
	}
	if driver == "bypass" && local != port {
		return fmt.Errorf("the bypass driver did not bypass: the server's end of a connection has port %d, not the hostPort %d", local, port)
	}
	// Untimed, 64 MiB each way: the pod has just started (its runtime's
	// processes may still be exiting), and slow start is paid here.
	_, _ = tputSample(addr, 'D', 64<<20)
	_, _ = tputSample(addr, 'U', 64<<20)
	time.Sleep(settle)
	if floor != "" {
		b.floors["loop-fast-down"].add(tputSample(floor, 'D', size))
	}
	down.add(tputSample(addr, 'D', size))
	up.add(tputSample(addr, 'U', size))
	if floor != "" {
		b.floors["loop-fast-up"].add(tputSample(floor, 'U', size))
	}
	return nil
}

// startLoopTput runs the tput server on the host (the testimages binary
// called as tput, the pod's very program) and returns its address.
func (b *bench) startLoopTput() (string, func(), error) {
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(filepath.Join(b.work, "bin", "testimages"), strconv.Itoa(port))
	cmd.Args[0] = "tput"
	// Its own session, as the pods' servers have (podbox's pod and
	// Podman's conmon call setsid): with sched_autogroup on, a session is
	// a scheduling group, and on a busy machine a server in the client's
	// group and one in a group of its own do not get the same CPU (seen
	// here: the bypass ratio swung from 0.55x to 2.1x between runs).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("starting the tput server on the host: %w", err)
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if _, err := waitTput(addr, 10*time.Second); err != nil {
		stop()
		return "", nil, err
	}
	return addr, stop, nil
}

// waitTput polls the tput server's 'A' command until it answers, and
// returns the local port of the server's end of that connection.
func waitTput(addr string, within time.Duration) (int, error) {
	deadline := time.Now().Add(within)
	var last error
	for time.Now().Before(deadline) {
		p, err := tputAsk(addr)
		if err == nil {
			return p, nil
		}
		last = err
		time.Sleep(10 * time.Millisecond)
	}
	return 0, fmt.Errorf("no answer from the tput server on %s within %s (%v)", addr, within, shortErr(last))
}

func tputAsk(addr string) (int, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte{'A', 0, 0, 0, 0, 0, 0, 0, 0}); err != nil {
		return 0, err
	}
	var p [2]byte
	if _, err := io.ReadFull(c, p[:]); err != nil {
		return 0, err
	}
	return int(binary.BigEndian.Uint16(p[:])), nil
}

// tputSample moves size bytes up ('U', client → server) or down ('D') with
// 1 MiB writes and reads, and returns MB/s from connect to the last byte
// (for 'U', to the server's one-byte answer after the last byte).
func tputSample(addr string, dir byte, size int64) (float64, error) {
	t0 := time.Now()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(flowDeadline))
	var h [9]byte
	h[0] = dir
	binary.BigEndian.PutUint64(h[1:], uint64(size))
	if _, err := c.Write(h[:]); err != nil {
		return 0, err
	}
	buf := make([]byte, 1<<20)
	for n := size; n > 0; {
		var k int
		if dir == 'U' {
			k, err = c.Write(buf[:min(int64(len(buf)), n)])
		} else {
			k, err = c.Read(buf)
		}
		if err != nil {
			return 0, fmt.Errorf("after %d of %d bytes: %w", size-n, size, err)
		}
		n -= int64(k)
	}
	if dir == 'U' {
		if _, err := io.ReadFull(c, buf[:1]); err != nil {
			return 0, fmt.Errorf("waiting for the server's answer: %w", err)
		}
	}
	return float64(size) / 1e6 / time.Since(t0).Seconds(), nil
}

// fastThroughputTargets: issue 10's hostPort throughput rows, busybox's
// (the default ones) and then the fast client's, default driver and
// bypass, each direction, Podman beside.
func (b *bench) fastThroughputTargets() []targetRow {
	rows := b.defaultThroughputTargets()
	const (
		copyWhy   = "the second TCP connection of the copying forwarder: a third busy party beside client and server (slirp/relay's package doc)"
		bypassWhy = "one TCP connection end to end here (checked: the server's end is on the hostPort), as on loopback: compare the floor's min–max, the machine's load"
	)
	for _, d := range []struct{ key, floor, what, why string }{
		{"tput-fast-down", "loop-fast-down", "hostPort throughput pod → host (Go tput server → Go client), default driver, against host loopback", copyWhy},
		{"tput-fast-up", "loop-fast-up", "hostPort throughput host → pod (Go client → Go tput server), default driver, against host loopback", copyWhy},
		{"tput-fast-bypass-down", "loop-fast-down", "the same pod → host, podbox.io/port-driver: bypass", bypassWhy},
		{"tput-fast-bypass-up", "loop-fast-up", "the same host → pod, podbox.io/port-driver: bypass", bypassWhy},
	} {
		m := b.byKey[d.key]
		if m == nil {
			continue // not defined (a test of the report)
		}
		row := targetRow{what: d.what, target: fmt.Sprintf("≥ %.1f× host loopback", tputTarget), peer: "–", verdict: "–"}
		pb, pm, loop := m.res["podbox"], m.res["podman"], b.floors[d.floor]
		switch {
		case !m.ran:
			row.measured = "not run (PODBOX_BENCH_ONLY)"
		case !pb.ok() || !loop.ok() || loop.median() == 0:
			row.measured = "n/a (see below)"
		default:
			r := pb.median() / loop.median()
			row.measured = fmt.Sprintf("%.2f× (%s over %s MB/s)", r, num(pb.median()), num(loop.median()))
			row.verdict = verdict(r, tputTarget, false)
			if r < tputTarget {
				row.why = d.why
			}
			if pm.ok() {
				row.peer = fmt.Sprintf("%.2f× (%s MB/s)", pm.median()/loop.median(), num(pm.median()))
			}
		}
		rows = append(rows, row)
	}
	return rows
}

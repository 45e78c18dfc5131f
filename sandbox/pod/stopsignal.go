package pod

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// signalFate says what a signal sent to a process would do, from its
// /proc/PID/status as the pod's PID 1 sees it (the pod's own /proc, where
// a container's pid is the one the runtime reported).
type signalFate int

const (
	fateDelivered signalFate = iota // a handler catches it, it is blocked for now, or its default action applies
	fateIgnored                     // the process ignores it (SIG_IGN)
	fateDropped                     // no handler in a PID namespace's init: the kernel discards it
)

// stopSignalFate tells whether sig can reach process pid. The init of a PID
// namespace (a container's PID 1: NSpid ends in 1) only gets the signals it
// has a handler for, from its own namespace or an ancestor's, SIGKILL and
// SIGSTOP aside (pid_namespaces(7)); a signal it ignores, or has no
// handler for, is discarded when sent. A blocked signal stays pending and
// may meet a handler later: it counts as delivered. When status cannot be
// read, the answer is fateDelivered, so the grace period is honoured.
func stopSignalFate(pid int, sig syscall.Signal) signalFate {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return fateDelivered
	}
	defer f.Close()
	masks := map[string]uint64{}
	isInit := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "SigBlk", "SigIgn", "SigCgt":
			m, err := strconv.ParseUint(v, 16, 64)
			if err != nil {
				return fateDelivered
			}
			masks[k] = m
		case "NSpid":
			ids := strings.Fields(v)
			isInit = len(ids) > 0 && ids[len(ids)-1] == "1"
		}
	}
	if len(masks) != 3 {
		return fateDelivered
	}
	return fateOf(masks["SigBlk"], masks["SigIgn"], masks["SigCgt"], isInit, sig)
}

func fateOf(blk, ign, cgt uint64, isInit bool, sig syscall.Signal) signalFate {
	bit := uint64(1) << (uint(sig) - 1)
	switch {
	case cgt&bit != 0 || blk&bit != 0:
		return fateDelivered
	case ign&bit != 0:
		return fateIgnored
	case isInit:
		return fateDropped
	}
	return fateDelivered
}

// signalName says sig as the kubelet's API does: "SIGTERM".
func signalName(sig syscall.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	return "signal " + strconv.Itoa(int(sig))
}

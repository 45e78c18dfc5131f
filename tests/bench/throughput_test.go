package main

import (
	"strings"
	"testing"
)

// The fast throughput rows: ratio to the loopback floor, Podman beside,
// and Podman's bypass row n/a.
func TestFastThroughputTargets(t *testing.T) {
	b := newTestBench("tput-fast")
	for _, k := range []string{"tput-fast-down", "tput-fast-bypass-down"} {
		b.byKey[k].ran = true
	}
	b.byKey["tput-fast-down"].res["podbox"].add(600, nil)
	b.byKey["tput-fast-down"].res["podman"].add(300, nil)
	b.byKey["tput-fast-bypass-down"].res["podbox"].add(1000, nil)
	b.floors["loop-fast-down"].add(1000, nil)
	var got []string
	for _, r := range b.fastThroughputTargets() {
		got = append(got, r.measured+" | "+r.peer+" | "+r.verdict)
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		"0.60× (600 over 1000 MB/s) | 0.30× (300 MB/s) | **missed**",
		"1.00× (1000 over 1000 MB/s) | – | met",
		"not run (PODBOX_BENCH_ONLY)",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("the rows lack %q:\n%s", want, all)
		}
	}
}

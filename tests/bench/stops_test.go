package main

import (
	"strings"
	"testing"
)

func TestSelected(t *testing.T) {
	b := &bench{only: onlyKeys(" down , tput")}
	for key, want := range map[string]bool{
		"down": true, "down-sleep": true, "down-trap": true, "tput-up": true,
		"up": false, "scale-down": false, "downx": false, "pull": false,
	} {
		if got := b.selected(key); got != want {
			t.Errorf("selected(%q) with %v = %v, want %v", key, b.only, got, want)
		}
	}
	if all := (&bench{}); !all.selected("scale-down") {
		t.Error("without PODBOX_BENCH_ONLY a metric is not selected")
	}
}

// A run limited to the down-* rows shows only those rows and no empty
// sections.
func TestReportOnly(t *testing.T) {
	b := &bench{only: []string{"down-sleep"}, breakdown: map[string]string{}}
	b.tools = []*tool{{name: "podbox", bin: "/nonexistent/podbox"}, {name: "podman", bin: "/nonexistent/podman"}}
	b.defineMetrics()
	m := b.byKey["down-sleep"]
	m.ran = true
	m.res["podbox"].add(30500, nil)
	m.res["podman"].add(1000, nil)
	r := b.report()
	for _, want := range []string{"| down, `sleep 3600` pod", "30500 ms", "30.50×", "metrics: only down-sleep"} {
		if !strings.Contains(r, want) {
			t.Errorf("the report lacks %q:\n%s", want, r)
		}
	}
	for _, not := range []string{"## Floors", "## Targets", "## Processes", "cold pull", "down: WAR pod"} {
		if strings.Contains(r, not) {
			t.Errorf("the report has %q:\n%s", not, r)
		}
	}
}

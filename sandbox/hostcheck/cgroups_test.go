package hostcheck

import (
	"strings"
	"testing"
)

func TestResourceLimitsValue(t *testing.T) {
	for _, tc := range []struct {
		layout      string
		controllers []string
		want        string
	}{
		{"hybrid cgroups", nil, "not enforced (hybrid cgroups: no cgroup v2 delegation)"},
		{"cgroup v1", nil, "not enforced (cgroup v1: no cgroup v2 delegation)"},
		{"cgroup v2", []string{"pids"}, "not enforced (cgroup v2 without the memory and cpu controllers delegated to you)"},
		{"cgroup v2", []string{"cpu", "memory", "pids"}, "not enforced (cgroup v2 delegates cpu, memory, pids to you, but podbox sets no cgroup limits yet)"},
	} {
		if got := resourceLimitsValue(tc.layout, tc.controllers); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s %v: %q, want %q…", tc.layout, tc.controllers, got, tc.want)
		}
	}
}

package pod

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// programRss is the resident kB of this process's read-only mappings of
// its own program file.
func programRss(t *testing.T) int {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Skip(err)
	}
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	n, in := 0, false
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if !strings.HasSuffix(f[0], ":") {
			in = len(f) >= 6 && f[5] == exe && (f[1] == "r-xp" || f[1] == "r--p")
			continue
		}
		if in && f[0] == "Rss:" {
			v, _ := strconv.Atoi(f[1])
			n += v
		}
	}
	return n
}

func TestUnmapProgram(t *testing.T) {
	before := programRss(t)
	unmapProgram()
	after := programRss(t) // runs code and reads data of the program again
	if after >= before {
		t.Errorf("program's resident pages: %d kB before, %d kB after: want fewer", before, after)
	}
	// The program still works, its read-only data included.
	if got := seconds(30e9); got != "30 s" {
		t.Errorf("seconds: %q", got)
	}
}

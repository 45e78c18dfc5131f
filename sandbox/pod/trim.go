package pod

import (
	"bufio"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// unmapProgram drops this process's mappings of the pages of its own
// program file that are read-only and were never written (text, rodata):
// MADV_DONTNEED on a private file mapping only unmaps; the pages stay in
// the page cache, shared and reclaimable, and a page the pod uses again
// faults back in. Setup and the runtime's start touch most of the binary
// (3.2 MiB resident), the idle pod a few hundred KiB of it. A mapping with
// any anonymous (copied on write) page is left alone: dropping it would
// bring the file's bytes back (a dynamic binary's RELRO).
func unmapProgram() {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return
	}
	defer f.Close()
	type region struct{ start, end uintptr }
	var todo []region
	var cur *region
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if !strings.HasSuffix(fields[0], ":") {
			cur = nil
			if len(fields) < 6 || fields[5] != exe || (fields[1] != "r-xp" && fields[1] != "r--p") {
				continue
			}
			lo, hi, ok := strings.Cut(fields[0], "-")
			start, err1 := strconv.ParseUint(lo, 16, 64)
			end, err2 := strconv.ParseUint(hi, 16, 64)
			if !ok || err1 != nil || err2 != nil {
				continue
			}
			todo = append(todo, region{uintptr(start), uintptr(end)})
			cur = &todo[len(todo)-1]
			continue
		}
		if cur != nil && fields[0] == "Anonymous:" && fields[1] != "0" {
			todo = todo[:len(todo)-1]
			cur = nil
		}
	}
	if sc.Err() != nil {
		return
	}
	for _, r := range todo {
		_, _, _ = unix.Syscall(unix.SYS_MADVISE, r.start, r.end-r.start, unix.MADV_DONTNEED)
	}
}

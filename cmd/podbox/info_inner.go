package main

import (
	"fmt"
	"strings"

	"github.com/podbox/podbox/image"
	"github.com/podbox/podbox/sandbox/hostcheck"
	"github.com/podbox/podbox/sandbox/ociruntime"
	"github.com/podbox/podbox/sandbox/ociruntime/probe"
	"github.com/urfave/cli/v2"
)

// runtimeAndStorageChecks runs inside the user namespace: it tries each OCI
// runtime with a real container (crun 1.8 fails on hybrid cgroup hosts
// unless an empty tmpfs hides them, so finding the binary is not enough) and
// names the storage driver podbox would use.
func runtimeAndStorageChecks(c *cli.Context) []hostcheck.Check {
	return []hostcheck.Check{runtimeCheck(c), storageCheck(c)}
}

func runtimeCheck(c *cli.Context) hostcheck.Check {
	ch := hostcheck.Check{Name: "runtime"}
	cands := ociruntime.Candidates()
	why := "the first of crun, runc that runs a container here"
	if want := c.String("runtime"); want != "" {
		r, _, err := probe.Find(c.Context, want)
		if err != nil {
			ch.Status, ch.Value, ch.Fix = hostcheck.Missing, err.Error(), "install runc: sudo apt-get install runc"
			return ch
		}
		cands = []*ociruntime.Runtime{r}
		why = "chosen with --runtime"
	}
	if len(cands) == 0 {
		ch.Status, ch.Value, ch.Fix = hostcheck.Missing, "no OCI runtime found (crun, runc)", "install runc: sudo apt-get install runc (or crun)"
		return ch
	}
	var works string
	var notes []string
	for _, r := range cands {
		desc := fmt.Sprintf("%s %s (%s)", r.Name, versionNumber(r.Version()), r.Path)
		res, err := probe.Probe(c.Context, r)
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s fails here: %s", desc, oneLine(err.Error())))
			continue
		}
		if how := res.String(); how != "" {
			desc = fmt.Sprintf("%s %s (%s, %s)", r.Name, versionNumber(r.Version()), r.Path, how)
		}
		if works == "" {
			works = desc + ": " + why
		} else {
			notes = append(notes, desc+" works too")
		}
	}
	if works == "" {
		ch.Status, ch.Value = hostcheck.Missing, strings.Join(notes, "; ")
		ch.Fix = "install runc (sudo apt-get install runc), which runs rootless on hybrid-cgroup hosts"
		return ch
	}
	ch.Status, ch.Value = hostcheck.OK, "using "+works
	if len(notes) > 0 {
		ch.Value += "; " + strings.Join(notes, "; ")
	}
	return ch
}

func versionNumber(v string) string {
	if f := strings.Fields(v); len(f) >= 3 {
		return f[2]
	}
	return v
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		s = strings.TrimSpace(s[i+1:])
	}
	return s
}

func storageCheck(c *cli.Context) hostcheck.Check {
	opts := storeOptions(c)
	driver, reason := image.DetectDriver(opts.Root)
	if opts.Driver != "" {
		driver, reason = opts.Driver, "chosen with --storage-driver or the config file"
	}
	ch := hostcheck.Check{Name: "storage", Status: hostcheck.OK, Value: fmt.Sprintf("%s: %s", driver, reason)}
	if driver == image.DriverVFS {
		ch.Status, ch.Fix = hostcheck.Warn, "vfs copies every layer: install fuse-overlayfs (sudo apt-get install fuse-overlayfs) or use a kernel ≥ 5.11"
	}
	return ch
}

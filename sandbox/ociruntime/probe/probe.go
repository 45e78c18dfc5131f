// Package probe chooses the OCI runtime podbox runs containers with: the
// CLI's side of package ociruntime, which the pod's PID 1 links and which
// therefore imports neither the OCI spec generator (package ocispec) nor,
// through it, the Kubernetes API types (issue 10). The CLI probes and hands
// the pod its choice; the pod never probes.
//
// Decisions:
//
//   - Which runtime: --runtime names one (runc, crun or a path: used even
//     if its probe fails); otherwise the first of crun, runc that runs a
//     trivial container here (Probe).
//     crun 1.8 fails in a rootless user namespace on a cgroup v1 hybrid host
//     ("cgroups in hybrid mode not supported") where runc 1.1 works, so
//     finding a binary is not enough. Probe results are cached in
//     $XDG_RUNTIME_DIR/podbox/runtime.json, keyed by the runtime's path and
//     podbox's own executable's path, and stamped with both binaries'
//     modification times and sizes (podbox writes the spec the probe
//     runs), so only the first command after a boot or an upgrade of
//     either pays for the probe, and two podbox builds never share a
//     result.
//   - crun is preferred wherever it works: it creates a container in ~10 ms
//     where runc takes ~30 (measured on a hybrid host, issue 10). crun 1.8
//     refuses a hybrid or v1 cgroup layout even rootless, where it would
//     use no cgroup at all, but runs when an empty tmpfs covers
//     /sys/fs/cgroup. So where cgroups are not unified and the plain probe
//     fails, Probe tries again with that tmpfs, in a mount namespace of its
//     own on a dedicated OS thread (the CLI's mounts stay as they are), and
//     Result.CgroupTmpfs tells the pod to mount the same tmpfs in its own
//     mount namespace before it runs the runtime
//     (podproto.Runtime.CgroupTmpfs). Nothing is lost: without cgroup v2
//     delegation a rootless runtime applies no limits anyway, and the
//     containers' specs mount no cgroup filesystem. runc stays the fallback,
//     and --runtime runc chooses it.
//   - The probe's program is not podbox itself: a podbox built with cgo
//     (`go build`, `go install`) is dynamically linked and cannot run in
//     an empty rootfs, and its failure said nothing about the runtime.
//     podbox writes a 132-byte static ELF that only calls exit(42) (machine
//     code for amd64, arm64 and riscv64; elsewhere name the runtime with
//     --runtime) into a rootfs of its own, and the probe passes only if the
//     runtime reports exit code 42. That is what a real container needs of
//     the runtime (a rootfs, pivot_root, the namespaces, mounts, seccomp,
//     capabilities, execve) without depending on the host's libraries:
//     bind-mounting podbox's interpreter and libraries (PT_INTERP,
//     DT_NEEDED) would make the probe depend on the host's library layout,
//     and the host's / as a read-only rootfs is no container rootfs at all
//     (locked submounts, remounts), so either could fail where containers
//     work. It is also cheaper: no 40 MB binary to start in the container.
package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/podbox/podbox/sandbox/ociruntime"
	"github.com/podbox/podbox/sandbox/ocispec"
	"golang.org/x/sys/unix"
)

// probeTimeout bounds one probe; a working runtime takes ~20 ms.
const probeTimeout = 15 * time.Second

// Result is how a runtime that passed its probe runs here.
type Result struct {
	// CgroupTmpfs: the runtime works only where an empty tmpfs covers
	// /sys/fs/cgroup (podproto.Runtime.CgroupTmpfs).
	CgroupTmpfs bool `json:"cgroupTmpfs,omitempty"`
	// Why says why CgroupTmpfs, for `podbox info`.
	Why string `json:"why,omitempty"`
}

// String is what `podbox info` adds after the runtime's name and version:
// "" when the runtime runs as it is.
func (r Result) String() string {
	if !r.CgroupTmpfs {
		return ""
	}
	return "with an empty /sys/fs/cgroup: " + r.Why
}

// Find returns the runtime named name: "runc", "crun", or a path to a
// binary, used even if its probe fails (the probe only says whether it
// needs CgroupTmpfs). "" picks the first of ociruntime.Known (crun first)
// that passes Probe here. Find must run inside podbox's user namespace.
func Find(ctx context.Context, name string) (*ociruntime.Runtime, Result, error) {
	cache := loadCache()
	if name != "" {
		r, err := ociruntime.Named(name)
		if err != nil {
			return nil, Result{}, err
		}
		res, err := cachedProbe(ctx, r, cache)
		if ctx.Err() != nil {
			return nil, Result{}, ctx.Err()
		}
		if err != nil {
			return r, Result{}, nil
		}
		return r, res, nil
	}
	cands := ociruntime.Candidates()
	if len(cands) == 0 {
		return nil, Result{}, ociruntime.ErrNoRuntime
	}
	var failures []string
	for _, r := range cands {
		res, err := cachedProbe(ctx, r, cache)
		if ctx.Err() != nil {
			return nil, Result{}, ctx.Err()
		}
		if err == nil {
			return r, res, nil
		}
		failures = append(failures, fmt.Sprintf("%s: %v", r.Path, err))
	}
	return nil, Result{}, ociruntime.WithHint(
		fmt.Errorf("no OCI runtime works here: %s", strings.Join(failures, "; ")),
		"install runc (sudo apt-get install runc), or choose one with --runtime; `podbox info` shows what was tried")
}

// cachedProbe is Probe, or its result in cache while both binaries are
// unchanged; a new result is saved.
func cachedProbe(ctx context.Context, r *ociruntime.Runtime, cache map[string]cacheEntry) (Result, error) {
	key, stamp := cacheKey(r.Path), cacheStamp(r.Path)
	if e, ok := cache[key]; ok && e.Stamp == stamp {
		if e.OK {
			return e.Result, nil
		}
		return Result{}, errors.New(e.Error)
	}
	res, err := Probe(ctx, r)
	if ctx.Err() != nil {
		return Result{}, ctx.Err()
	}
	e := cacheEntry{Stamp: stamp, OK: err == nil, Result: res}
	if err != nil {
		e.Error = err.Error()
	}
	cache[key] = e
	saveCache(cache)
	return res, err
}

// Probe runs a trivial container with the runtime: a tiny static program
// (probeProgram: exit(42), no libc) in a rootfs of its own on a tmpfs, with
// the spec podbox gives every container (seccomp, masked paths,
// capabilities) plus its own network, IPC and UTS namespaces so that it
// does not depend on where it runs, nor on how podbox was linked. It must
// run inside podbox's user namespace. The error carries the runtime's
// message. Where cgroups are not unified (v1 or hybrid) and the runtime
// fails, it tries again with an empty tmpfs over /sys/fs/cgroup, in a
// mount namespace of its own, and says so in the Result.
func Probe(ctx context.Context, r *ociruntime.Runtime) (Result, error) {
	err := run(ctx, r)
	if err == nil || ctx.Err() != nil {
		return Result{}, err
	}
	layout := cgroupLayout()
	if layout == "cgroup v2" {
		return Result{}, err
	}
	// crun refuses a hybrid layout even where it would use no cgroup at
	// all (rootless, no delegation): hide the layout from it.
	if err2 := inMountNamespace(func() error {
		if err := hideCgroups(); err != nil {
			return err
		}
		return run(ctx, r)
	}); err2 != nil {
		if ctx.Err() != nil {
			return Result{}, err2
		}
		return Result{}, fmt.Errorf("%w (and with an empty /sys/fs/cgroup: %v)", err, err2)
	}
	return Result{CgroupTmpfs: true, Why: layout}, nil
}

// HideCgroups mounts an empty tmpfs over /sys/fs/cgroup, in the caller's
// mount namespace: what a runtime whose Result says CgroupTmpfs needs
// before it runs.
func HideCgroups() error { return hideCgroups() }

func hideCgroups() error {
	if err := unix.Mount("tmpfs", "/sys/fs/cgroup", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0755,size=4k"); err != nil {
		return fmt.Errorf("mounting an empty tmpfs over /sys/fs/cgroup: %w", err)
	}
	return nil
}

// inMountNamespace runs f on an OS thread of its own in a new mount
// namespace (its mounts private), so that what f mounts, and the
// processes it starts, see mounts no other thread sees. The thread ends
// with f: it is never handed back to the Go scheduler.
func inMountNamespace(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // and never unlocked: the thread exits with the goroutine
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			errc <- fmt.Errorf("making a mount namespace: %w", err)
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			errc <- fmt.Errorf("making mounts private: %w", err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// cgroupLayout names how the cgroup hierarchies are mounted here: "cgroup
// v2" (unified), "hybrid cgroups" (v1 controllers, v2 at
// /sys/fs/cgroup/unified), or "cgroup v1".
func cgroupLayout() string {
	var st unix.Statfs_t
	if unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return "cgroup v2"
	}
	if unix.Statfs("/sys/fs/cgroup/unified", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return "hybrid cgroups"
	}
	return "cgroup v1"
}

func run(ctx context.Context, r *ociruntime.Runtime) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	prog, err := probeProgram(runtime.GOARCH)
	if err != nil {
		return fmt.Errorf("probing %s: %w", r.Name, err)
	}
	dir, err := os.MkdirTemp(probeBase(), "probe-")
	if err != nil {
		return fmt.Errorf("probing %s: %w", r.Name, err)
	}
	defer os.RemoveAll(dir)
	// A tmpfs of our own: the program runs even where the runtime dir or
	// /tmp is mounted noexec. Without the right to mount, the directory
	// as it is.
	if unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0700,size=1m") == nil {
		defer unix.Unmount(dir, unix.MNT_DETACH)
	}
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		return fmt.Errorf("probing %s: %w", r.Name, err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "probe"), prog, 0o755); err != nil {
		return fmt.Errorf("probing %s: %w", r.Name, err)
	}
	spec, err := ocispec.Generate(ocispec.Options{Args: []string{"/probe"}, Rootfs: rootfs})
	if err != nil {
		return fmt.Errorf("probing %s: %w", r.Name, err)
	}
	spec.Linux.Namespaces = append(spec.Linux.Namespaces,
		specs.LinuxNamespace{Type: specs.NetworkNamespace},
		specs.LinuxNamespace{Type: specs.IPCNamespace},
		specs.LinuxNamespace{Type: specs.UTSNamespace})
	if err := ocispec.WriteBundle(dir, spec); err != nil {
		return fmt.Errorf("probing %s: %w", r.Name, err)
	}

	probe := *r
	probe.Root = filepath.Join(dir, "state")
	probe.Run = nil
	id := "podbox-probe-" + strconv.Itoa(os.Getpid())
	logFile := filepath.Join(dir, "log.json")
	var out bytes.Buffer
	cmd := probe.Command(ctx, logFile, "run", "--bundle", dir, id)
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	defer func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer dcancel()
		_ = probe.Delete(dctx, id, true)
	}()
	// `run` exits with the container's code: 42 is the program's.
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == exitCode {
		return nil
	}
	msg := ociruntime.LogError(logFile)
	if msg == "" {
		msg = lastLine(out.String())
	}
	if ctx.Err() != nil {
		msg = "timed out after " + probeTimeout.String()
	}
	if err == nil {
		err = fmt.Errorf("exit code 0, not the probe program's %d", exitCode)
	}
	if msg == "" {
		return fmt.Errorf("%s run (probe): %w", r.Name, err)
	}
	return fmt.Errorf("%s run (probe): %s", r.Name, msg)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// probeBase is where probe bundles go: podbox's runtime dir if there is one.
func probeBase() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		p := filepath.Join(d, "podbox")
		if os.MkdirAll(p, 0o700) == nil {
			return p
		}
	}
	return ""
}

// cacheEntry is what runtime.json remembers about one binary.
type cacheEntry struct {
	Stamp string `json:"stamp"` // cacheStamp
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	Result
}

func cachePath() string {
	d := os.Getenv("XDG_RUNTIME_DIR")
	if d == "" {
		return ""
	}
	return filepath.Join(d, "podbox", "runtime.json")
}

// cacheKey is the entry of the runtime at path in runtime.json: one per
// runtime and podbox executable, so two podbox builds used side by side
// each keep their own result.
func cacheKey(path string) string { return path + " podbox:" + self() }

// cacheStamp identifies what a probe of the runtime at path depends on:
// that binary, and podbox's own executable, which writes the spec. An
// upgrade of either probes again.
func cacheStamp(path string) string { return binaryStamp(path) + " " + binaryStamp(self()) }

func self() string {
	exe, err := os.Executable()
	if err != nil {
		return "?"
	}
	return exe
}

func binaryStamp(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%d/%d", fi.ModTime().UnixNano(), fi.Size())
}

func loadCache() map[string]cacheEntry {
	c := map[string]cacheEntry{}
	if p := cachePath(); p != "" {
		if data, err := os.ReadFile(p); err == nil {
			_ = json.Unmarshal(data, &c)
		}
	}
	return c
}

// saveCache writes the cache atomically; a failure only costs a probe later.
func saveCache(c map[string]cacheEntry) {
	p := cachePath()
	if p == "" {
		return
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return
	}
	if os.MkdirAll(filepath.Dir(p), 0o700) != nil {
		return
	}
	tmp := fmt.Sprintf("%s.%d.tmp", p, os.Getpid())
	if os.WriteFile(tmp, data, 0o600) != nil {
		return
	}
	if os.Rename(tmp, p) != nil {
		_ = os.Remove(tmp)
	}
}

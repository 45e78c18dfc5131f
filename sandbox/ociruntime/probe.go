package ociruntime

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
	"github.com/podbox/podbox/sandbox/ocispec"
	"golang.org/x/sys/unix"
)

// probeTimeout bounds one probe; a working runtime takes ~20 ms.
const probeTimeout = 15 * time.Second

// Probe runs a trivial container with the runtime: a tiny static program
// (probeProgram: exit(42), no libc) in a rootfs of its own on a tmpfs, with
// the spec podbox gives every container (seccomp, masked paths,
// capabilities) plus its own network, IPC and UTS namespaces so that it
// does not depend on where it runs, nor on how podbox was linked. It must
// run inside podbox's user namespace. The error carries the runtime's
// message.
func (r *Runtime) Probe(ctx context.Context) error {
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
	id := "podbox-probe-" + strconv.Itoa(os.Getpid())
	logFile := filepath.Join(dir, "log.json")
	var out bytes.Buffer
	cmd := probe.command(ctx, logFile, "run", "--bundle", dir, id)
	cmd.Stdout, cmd.Stderr = &out, &out
	err = probe.run(cmd)
	defer func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer dcancel()
		_ = probe.exec(dctx, "delete", "--force", id)
	}()
	// `run` exits with the container's code: 42 is the program's.
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == exitCode {
		return nil
	}
	msg := logError(logFile)
	if msg == "" {
		msg = lastLine(out.String())
	}
	if ctx.Err() != nil {
		msg = "timed out after " + probeTimeout.String()
	}
	if err == nil {
		err = fmt.Errorf("exit code 0, not the probe program's %d", exitCode)
	}
	return r.failure("run (probe)", err, msg)
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

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// tool is podbox or podman, run by the test user with its own XDG
// directories under the bench's work dir (never the user's real stores), so
// that its processes can be told apart by that directory (marker).
type tool struct {
	name   string
	bin    string
	marker string // the tool's directory, with a trailing slash
	env    []string
}

const cmdTimeout = 2 * time.Minute

func newTool(name, bin, dir, registriesConf string) (*tool, error) {
	t := &tool{name: name, bin: bin, marker: dir + "/"}
	run := filepath.Join(dir, "run")
	for _, d := range []string{filepath.Join(dir, "data"), filepath.Join(dir, "config", "containers"), filepath.Join(dir, "cache")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(run, 0o700); err != nil {
		return nil, err
	}
	t.env = []string{
		"HOME=" + os.Getenv("HOME"),
		"USER=" + os.Getenv("USER"),
		"LOGNAME=" + os.Getenv("LOGNAME"),
		"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
		"XDG_DATA_HOME=" + filepath.Join(dir, "data"),
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"XDG_CACHE_HOME=" + filepath.Join(dir, "cache"),
		"XDG_RUNTIME_DIR=" + run,
		"CONTAINERS_REGISTRIES_CONF=" + registriesConf,
	}
	if name == "podman" {
		// runc and cgroupfs: crun fails on this kind of host (hybrid
		// cgroups) and there is no systemd user session. events to a file
		// (no journald). Native overlay, as podbox uses here.
		conf := "[engine]\nruntime = \"runc\"\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n"
		if err := os.WriteFile(filepath.Join(dir, "config", "containers", "containers.conf"), []byte(conf), 0o644); err != nil {
			return nil, err
		}
		storage := "[storage]\ndriver = \"overlay\"\n"
		if err := os.WriteFile(filepath.Join(dir, "config", "containers", "storage.conf"), []byte(storage), 0o644); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (t *tool) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, t.bin, args...)
	cmd.Env = t.env
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs the tool to completion; the error carries the end of its output.
func (t *tool) run(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	out, err := t.command(ctx, args...).CombinedOutput()
	if err != nil {
		return cmdError(t.name, args, out, err)
	}
	return nil
}

func (t *tool) output(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	var stderr bytes.Buffer
	cmd := t.command(ctx, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", cmdError(t.name, args, stderr.Bytes(), err)
	}
	return string(out), nil
}

func cmdError(name string, args []string, out []byte, err error) error {
	msg := strings.TrimSpace(string(out))
	lines := strings.Split(msg, "\n")
	// The error is usually the last line; keep it short for the table.
	last := ""
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			last = l
			break
		}
	}
	if len(last) > 160 {
		last = last[:160] + "…"
	}
	return fmt.Errorf("`%s %s`: %v: %s", name, strings.Join(args, " "), err, last)
}

func (t *tool) podman() bool { return t.name == "podman" }

// procs are the tool's live processes (toolProcs); podbox's are also known
// by their binary, podbox or podbox-pod beside it.
func (t *tool) procs() []*proc {
	var exes []string
	if !t.podman() {
		exes = []string{t.bin, filepath.Join(filepath.Dir(t.bin), filepath.Base(podBinary))}
	}
	return toolProcs(scanProcs(), t.marker, exes...)
}

// upArgs starts the pods of a manifest and returns once they run.
func (t *tool) upArgs(file string, loopback bool) []string {
	if t.podman() {
		network := "slirp4netns"
		if loopback {
			network = "slirp4netns:allow_host_loopback=true"
		}
		return []string{"kube", "play", "--tls-verify=false", "--network", network, file}
	}
	return []string{"up", "-d", "-f", file}
}

func (t *tool) downArgs(file, pod string) []string {
	if t.podman() {
		return []string{"kube", "down", file}
	}
	return []string{"down", pod}
}

func (t *tool) up(file string, loopback bool) error { return t.run(t.upArgs(file, loopback)...) }

func (t *tool) down(file, pod string) error { return t.run(t.downArgs(file, pod)...) }

func (t *tool) pull(ref string) error {
	if t.podman() {
		return t.run("pull", "--tls-verify=false", "-q", ref)
	}
	return t.run("pull", ref)
}

// rmi removes images, ignoring the ones that are not there.
func (t *tool) rmi(refs ...string) {
	for _, r := range refs {
		if t.podman() {
			_ = t.run("rmi", "-f", r)
		} else {
			_ = t.run("rmi", r)
		}
	}
}

// oneshot runs the one-shot pod to its end. podbox: `up` in the foreground,
// which returns when the pod is done. podman: `kube play`, `podman wait` for
// the container, `kube down`: the same work, from nothing to nothing.
func (t *tool) oneshot(file, pod string) error {
	if !t.podman() {
		return t.run("up", "-f", file)
	}
	if err := t.up(file, false); err != nil {
		return err
	}
	if err := t.run("wait", pod+"-oneshot"); err != nil {
		_ = t.down(file, pod)
		return err
	}
	return t.down(file, pod)
}

// cleanup removes every pod and the whole store of the tool; from inside
// its user namespace, as only that can delete subuid-owned files.
func (t *tool) cleanup() {
	if t.podman() {
		_ = t.run("pod", "rm", "-a", "-f", "-t", "0")
		_ = t.run("system", "reset", "--force")
		// The rootless pause process of this XDG_RUNTIME_DIR holds the
		// user namespace; podman leaves it running.
		pidFile := filepath.Join(strings.TrimSuffix(t.marker, "/"), "run", "libpod", "tmp", "pause.pid")
		if b, err := os.ReadFile(pidFile); err == nil {
			var pid int
			if _, err := fmt.Sscan(string(b), &pid); err == nil && pid > 1 {
				_ = killPid(pid)
			}
		}
		return
	}
	_ = t.run("down", "--all")
	_ = t.run("system", "reset", "--force")
}

func (t *tool) version() string {
	if t.podman() {
		out, err := t.output("--version")
		if err != nil {
			return "unknown"
		}
		return strings.TrimPrefix(firstLine(out), "podman version ")
	}
	out, err := t.output("version")
	if err != nil {
		return "unknown"
	}
	return strings.TrimPrefix(firstLine(out), "podbox version ")
}

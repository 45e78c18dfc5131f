// Command bench measures podbox against rootless Podman (`podman kube play`
// / `podman kube down`) on the same manifests, the same images from the same
// local registry, run by the same ordinary user, alternating the two tools in
// every round of one invocation. `make bench` runs it; bench/README.md says
// what each metric means and the floor it is held against.
//
// It has two roles in one binary:
//
//	bench [-rounds N] [-out DIR] [-only KEYS]
//	                                 as root: installs the peer (Debian's podman)
//	                                 if missing, creates the test user, starts a
//	                                 registry, pushes the test images, runs the
//	                                 measurements as the test user, writes the
//	                                 result file, and stops everything again.
//	bench measure -work DIR …        as the test user: the measurements.
//
// The measuring process makes itself a child subreaper first. On a machine
// whose PID 1 does not reap orphans (a container's or a VM's minimal init),
// conmon's and podbox's daemonized processes would stay zombies, and both
// Podman (it polls conmon's pid) and podbox wait on them: Podman's `kube
// play` of a pod with an init container then takes 20 s instead of 0.7 s.
// A real init (systemd) reaps them at once; the subreaper stands in for it.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const testUser = "podbox-test"

// podBinary is the small binary of the pod's PID 1 (issue 10), beside podbox.
const podBinary = "bin/podbox-pod"

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "measure":
			os.Exit(measureMain(os.Args[2:]))
		case "cleanup":
			os.Exit(cleanupMain(os.Args[2:]))
		}
	}
	os.Exit(rootMain(os.Args[1:]))
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// rootMain is `make bench`: set up, measure as the test user, tear down.
func rootMain(args []string) int {
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	rounds := fs.Int("rounds", envInt("PODBOX_BENCH_ROUNDS", 5), "rounds of each metric (each round runs podbox and podman once)")
	outDir := fs.String("out", "bench/results", "`DIR` for the result file DATE-HOSTNAME.md")
	only := fs.String("only", os.Getenv("PODBOX_BENCH_ONLY"), "run only the metrics `KEY[,KEY…]` (and those whose key starts with KEY-)")
	_ = fs.Parse(args)

	if os.Getuid() != 0 {
		logf("make bench runs as root: it installs podman, creates the user %s and measures as that user", testUser)
		logf("run: sudo make bench")
		return 1
	}
	repo, err := os.Getwd()
	if err != nil {
		logf("%v", err)
		return 1
	}
	for _, f := range []string{"bin/podbox", "bin/testimages", "bin/bench", "scripts/test-user.sh", "scripts/registry.sh"} {
		if _, err := os.Stat(filepath.Join(repo, f)); err != nil {
			logf("%s is missing: run make bench from the repository (it builds bin/ first)", f)
			return 1
		}
	}
	start := time.Now()

	if err := run(os.Stderr, "scripts/install-deps.sh"); err != nil {
		logf("installing the dependencies: %v", err)
		return 1
	}
	if err := installPodman(); err != nil {
		logf("installing podman: %v", err)
		return 1
	}
	if err := run(os.Stderr, "scripts/test-user.sh", "create"); err != nil {
		logf("creating the test user: %v", err)
		return 1
	}
	u, err := user.Lookup(testUser)
	if err != nil {
		logf("%v", err)
		return 1
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)

	// Everything lives in one directory under /tmp, removed at the end: the
	// registry (root's), and the test user's part w/u (stores, runtime dirs,
	// configs, copies of the binaries and manifests, so that a checkout the
	// user cannot read does not matter).
	work, err := os.MkdirTemp("/tmp", "pbb.")
	if err != nil {
		logf("%v", err)
		return 1
	}
	_ = os.Chmod(work, 0o755)
	uw := filepath.Join(work, "u")
	rc := 0
	registryDir := filepath.Join(work, "registry")
	defer func() {
		logf("tearing down")
		if err := run(os.Stderr, "scripts/test-user.sh", "run", filepath.Join(uw, "bin", "bench"), "cleanup", "-work", uw); err != nil {
			logf("cleanup as %s: %v", testUser, err)
		}
		if err := run(os.Stderr, "scripts/registry.sh", "stop", registryDir); err != nil {
			logf("stopping the registry: %v", err)
		}
		killLeftovers(uw)
		if err := os.RemoveAll(work); err != nil {
			logf("removing %s: %v", work, err)
		}
		logf("done in %s", time.Since(start).Round(time.Second))
	}()

	for _, d := range []string{uw, filepath.Join(uw, "bin"), filepath.Join(uw, "manifests")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			logf("%v", err)
			return 1
		}
	}
	copies := map[string]string{
		"bin/podbox": "bin/podbox",
		"bin/bench":  "bin/bench",
		// The tput server on the host, for the fast throughput floor
		// (throughput.go).
		"bin/testimages": "bin/testimages",
	}
	// The pod's PID 1 binary of issue 10, where the build made one: podbox
	// looks for it beside itself, and runs its pods from its own binary
	// without it.
	if _, err := os.Stat(filepath.Join(repo, podBinary)); err == nil {
		copies[podBinary] = podBinary
	}
	mans, _ := filepath.Glob(filepath.Join(repo, "bench/manifests/*.yaml"))
	for _, m := range mans {
		copies[strings.TrimPrefix(m, repo+"/")] = "manifests/" + filepath.Base(m)
	}
	for from, to := range copies {
		if err := copyFile(filepath.Join(repo, from), filepath.Join(uw, to)); err != nil {
			logf("copying %s: %v", from, err)
			return 1
		}
	}
	if err := chownR(uw, uid, gid); err != nil {
		logf("%v", err)
		return 1
	}

	addr, err := output("scripts/registry.sh", "start", registryDir)
	if err != nil {
		logf("starting the registry: %v", err)
		return 1
	}
	addr = strings.TrimSpace(addr)
	logf("registry at %s", addr)
	imagesDir := filepath.Join(uw, "images")
	if err := run(os.Stderr, "bin/testimages", "-registry", addr, "-out", imagesDir); err != nil {
		logf("pushing the test images: %v", err)
		return 1
	}
	if err := chownR(imagesDir, uid, gid); err != nil {
		logf("%v", err)
		return 1
	}

	host, _ := os.Hostname()
	logf("measuring as %s, %d rounds", testUser, *rounds)
	cmd := exec.Command("scripts/test-user.sh", "run", filepath.Join(uw, "bin", "bench"), "measure",
		"-work", uw, "-registry", addr, "-rounds", strconv.Itoa(*rounds), "-hostname", host, "-only", *only)
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		logf("measuring: %v", err)
		rc = 1
	}
	result := filepath.Join(uw, "result.md")
	if _, err := os.Stat(result); err == nil {
		if err := os.MkdirAll(*outDir, 0o755); err != nil {
			logf("%v", err)
			return 1
		}
		name := time.Now().UTC().Format("2006-01-02") + "-" + host
		if keys := onlyKeys(*only); len(keys) > 0 {
			// A partial run does not overwrite the day's full one.
			name += "-only-" + strings.Join(keys, "-")
		}
		dest := filepath.Join(*outDir, name+".md")
		if err := copyFile(result, dest); err != nil {
			logf("writing %s: %v", dest, err)
			return 1
		}
		_ = os.Chmod(dest, 0o644)
		logf("wrote %s", dest)
	} else {
		rc = 1
	}
	return rc
}

// installPodman installs Debian's podman and catatonit (Podman 4 builds its
// pause image from catatonit) when either is missing.
func installPodman() error {
	_, errP := exec.LookPath("podman")
	_, errC := os.Stat("/usr/libexec/podman/catatonit")
	if errP == nil && errC == nil {
		return nil
	}
	logf("installing podman (the peer) with apt-get")
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	upd := exec.Command("apt-get", "update", "-qq")
	upd.Env = env
	if out, err := upd.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get update: %w\n%s", err, out)
	}
	inst := exec.Command("apt-get", "install", "-y", "-qq", "--no-install-recommends", "podman", "catatonit")
	inst.Env = env
	if out, err := inst.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get install podman catatonit: %w\n%s", err, out)
	}
	return nil
}

// killLeftovers ends, by pid, any process still alive whose command line or
// environment names the bench's directory: nothing of ours stays behind.
func killLeftovers(marker string) {
	for _, p := range scanProcs() {
		if p.pid == os.Getpid() || p.zombie {
			continue
		}
		if strings.Contains(p.cmdline, marker) || strings.Contains(p.environ, marker) {
			logf("killing leftover pid %d (%s)", p.pid, p.comm)
			_ = killPid(p.pid)
		}
	}
}

func run(stdout io.Writer, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Stdout = stdout
	cmd.Stderr = os.Stderr
	return cmd.Run()
}

func output(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	return string(out), err
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, st.Mode().Perm()|0o444)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func chownR(dir string, uid, gid int) error {
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

func envInt(key string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(key)); err == nil && v > 0 {
		return v
	}
	return def
}

// firstLine is the first non-empty line of s.
func firstLine(s string) string {
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			return l
		}
	}
	return ""
}

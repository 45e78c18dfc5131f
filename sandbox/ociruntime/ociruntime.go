// Package ociruntime drives an OCI runtime binary (runc or crun) from inside
// the pod's user namespace.
//
// Decisions:
//
//   - Containers are made with `create` then `start`, never `run`: the
//     runtime process exits once the container exists, so no runtime process
//     stays per container (a foreground `runc run` holds ~10 MB for the
//     container's whole life). The caller passes the container's stdio as
//     files and keeps them, as conmon does.
//   - Because the container's stdio are the runtime's own, the runtime's
//     error messages are read from its --log file (JSON lines), not from its
//     stderr, which belongs to the container.
//   - Which runtime to use is the CLI's business (package probe, which
//     runs a trivial container with each candidate and caches the result):
//     this package is what the pod's PID 1 links, so it imports neither the
//     OCI spec generator nor the Kubernetes API types (issue 10) and never
//     probes.
//   - Binaries are looked up on PATH and then in /usr/sbin, /usr/bin,
//     /usr/local/bin and /sbin: Debian installs runc in /usr/sbin, which an
//     ordinary user's PATH lacks.
//   - Every command goes through Runtime.Run, so that the pod's PID 1, which
//     reaps all its children, can wait for the runtime without racing its
//     reaper.
package ociruntime

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Runtime is one OCI runtime binary.
type Runtime struct {
	Name string                // "runc" or "crun"
	Path string                // absolute path of the binary
	Root string                // state dir passed as --root (under podbox's runroot); "": the runtime's default
	Run  func(*exec.Cmd) error // how to run the runtime binary; nil: cmd.Run
}

// Known are the runtimes podbox looks for, in order of preference.
var Known = []string{"crun", "runc"}

// searchDirs are looked in after PATH.
var searchDirs = []string{"/usr/sbin", "/usr/bin", "/usr/local/bin", "/sbin"}

type hintError struct {
	err  error
	hint string
}

// WithHint returns err with a Hint() the CLI prints under it: what the
// user can do about it (the probe package's errors use it too).
func WithHint(err error, hint string) error { return &hintError{err: err, hint: hint} }

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }
func (e *hintError) Hint() string  { return e.hint }

// ErrNoRuntime reports that no OCI runtime binary was found; its Hint names
// the packages.
var ErrNoRuntime error = &hintError{
	err:  errors.New("no OCI runtime found (looked for crun and runc on PATH and in /usr/sbin, /usr/bin, /usr/local/bin, /sbin)"),
	hint: "install one: sudo apt-get install runc (or crun); on Fedora: sudo dnf install crun",
}

// lookPath finds name on PATH or in searchDirs.
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return filepath.Abs(p)
	}
	for _, d := range searchDirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: %w", name, exec.ErrNotFound)
}

// Candidates returns the known runtimes whose binaries exist, not probed.
func Candidates() []*Runtime {
	var rs []*Runtime
	for _, n := range Known {
		if p, err := lookPath(n); err == nil {
			rs = append(rs, &Runtime{Name: n, Path: p})
		}
	}
	return rs
}

// Named returns the runtime named name, "runc", "crun" (looked up on PATH
// and in searchDirs) or a path to a binary, as given: not probed.
func Named(name string) (*Runtime, error) {
	p := name
	if !strings.Contains(name, "/") {
		var err error
		if p, err = lookPath(name); err != nil {
			return nil, &hintError{
				err:  fmt.Errorf("OCI runtime %q not found on PATH or in %s", name, strings.Join(searchDirs, ", ")),
				hint: fmt.Sprintf("install it (sudo apt-get install %s) or give its path: --runtime /path/to/%s", name, name),
			}
		}
	} else if fi, err := os.Stat(p); err != nil || fi.IsDir() {
		return nil, fmt.Errorf("OCI runtime %q: not an executable file", name)
	}
	return &Runtime{Name: filepath.Base(p), Path: p}, nil
}

// Version returns the first line of `RUNTIME --version`, "" if it fails.
func (r *Runtime) Version() string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, r.Path, "--version")
	cmd.Stdout = &out
	if err := r.run(cmd); err != nil {
		return ""
	}
	line, _, _ := strings.Cut(out.String(), "\n")
	return strings.TrimSpace(line)
}

func (r *Runtime) run(cmd *exec.Cmd) error {
	if r.Run != nil {
		return r.Run(cmd)
	}
	return cmd.Run()
}

// Command builds `RUNTIME [--root ROOT] [--log FILE --log-format json]
// ARGS…`, for commands this package has no method for (the probe's `run`).
// The caller runs it, not Run: the probe runs where no reaper does, and
// must start the runtime from its own OS thread (its mount namespace).
func (r *Runtime) Command(ctx context.Context, logFile string, args ...string) *exec.Cmd {
	var global []string
	if r.Root != "" {
		global = append(global, "--root", r.Root)
	}
	if logFile != "" {
		global = append(global, "--log", logFile, "--log-format", "json")
	}
	return exec.CommandContext(ctx, r.Path, append(global, args...)...)
}

// exec runs a runtime command whose stdio podbox owns, and turns a failure
// into an error with the runtime's message.
func (r *Runtime) exec(ctx context.Context, args ...string) error {
	var stderr bytes.Buffer
	cmd := r.Command(ctx, "", args...)
	cmd.Stderr = &stderr
	if err := r.run(cmd); err != nil {
		return r.failure(args[0], err, stderr.String())
	}
	return nil
}

func (r *Runtime) failure(op string, err error, msg string) error {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return fmt.Errorf("%s %s: %w", r.Name, op, err)
	}
	return fmt.Errorf("%s %s: %s", r.Name, op, msg)
}

// Create creates container id from the bundle dir (`create --pid-file`),
// passing stdin, stdout and stderr (nil: /dev/null) through to the
// container's process, and returns that process's pid (as seen from where
// the runtime runs). The process waits for Start.
func (r *Runtime) Create(ctx context.Context, id, bundle string, stdin, stdout, stderr *os.File) (int, error) {
	if _, err := os.Stat(filepath.Join(bundle, "config.json")); err != nil {
		return 0, fmt.Errorf("%s create %s: %w", r.Name, id, err)
	}
	pidFile := filepath.Join(bundle, "pid")
	logFile := filepath.Join(bundle, r.Name+".log")
	_ = os.Remove(pidFile)
	_ = os.Remove(logFile)
	cmd := r.Command(ctx, logFile, "create", "--bundle", bundle, "--pid-file", pidFile, id)
	// Assign only non-nil files: a typed nil *os.File in an io.Reader
	// would not be nil to exec.
	if stdin != nil {
		cmd.Stdin = stdin
	}
	if stdout != nil {
		cmd.Stdout = stdout
	}
	if stderr != nil {
		cmd.Stderr = stderr
	}
	if err := r.run(cmd); err != nil {
		msg := strings.TrimPrefix(logError(logFile), r.Name+" create failed: ")
		return 0, r.failure("create "+id, err, msg)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, fmt.Errorf("%s create %s: reading pid file: %w", r.Name, id, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, fmt.Errorf("%s create %s: bad pid file %q", r.Name, id, data)
	}
	return pid, nil
}

// logError returns the error messages of a runtime's JSON log, or its last
// line when it is not JSON.
func logError(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var msgs []string
	var last string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		last = line
		var e struct{ Level, Msg string }
		if json.Unmarshal([]byte(line), &e) == nil && (e.Level == "error" || e.Level == "fatal") && e.Msg != "" {
			msgs = append(msgs, e.Msg)
		}
	}
	if len(msgs) > 0 {
		return strings.Join(msgs, ": ")
	}
	return last
}

// Start starts the process of a created container.
func (r *Runtime) Start(ctx context.Context, id string) error {
	return r.exec(ctx, "start", id)
}

// Kill sends sig to the container's process.
func (r *Runtime) Kill(ctx context.Context, id string, sig syscall.Signal) error {
	return r.exec(ctx, "kill", id, strconv.Itoa(int(sig)))
}

// Delete removes the container's runtime state; force kills it first if it
// still runs.
func (r *Runtime) Delete(ctx context.Context, id string, force bool) error {
	if force {
		return r.exec(ctx, "delete", "--force", id)
	}
	return r.exec(ctx, "delete", id)
}

// State returns the runtime's view of container id (status and pid).
func (r *Runtime) State(ctx context.Context, id string) (*specs.State, error) {
	var stdout, stderr bytes.Buffer
	cmd := r.Command(ctx, "", "state", id)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := r.run(cmd); err != nil {
		return nil, r.failure("state "+id, err, stderr.String())
	}
	var st specs.State
	if err := json.Unmarshal(stdout.Bytes(), &st); err != nil {
		return nil, fmt.Errorf("%s state %s: %w", r.Name, id, err)
	}
	return &st, nil
}

// List returns the ids of the containers in Root.
func (r *Runtime) List(ctx context.Context) ([]string, error) {
	var stdout, stderr bytes.Buffer
	cmd := r.Command(ctx, "", "list", "-q")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := r.run(cmd); err != nil {
		return nil, r.failure("list", err, stderr.String())
	}
	var ids []string
	for _, l := range strings.Split(stdout.String(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			ids = append(ids, l)
		}
	}
	return ids, nil
}

// ExecOptions say how to run a process in a running container.
type ExecOptions struct {
	ProcessFile   string   // required: the process's spec (process.json), args and terminal included
	PidFile       string   // required: where the runtime writes the process's pid
	ConsoleSocket string   // with a terminal: the unix socket the runtime sends the pty master to
	Stdin         *os.File // without a terminal, the process's own stdio; nil: /dev/null
	Stdout        *os.File
	Stderr        *os.File
	Log           string // "": none; the runtime's JSON log, for its own errors
}

// Exec starts a process in container id (`exec --detach --process`) and
// returns its pid as seen from where the runtime runs. The runtime exits
// once the process runs (as with Create, no runtime process stays), so
// the process becomes the caller's to reap: the pod's PID 1 is the init
// of the runtime's PID namespace, the kernel gives it the orphan. runc
// takes a console socket only when it detaches, too. Without a terminal,
// the process's stdio are o's files themselves, not copies.
func (r *Runtime) Exec(ctx context.Context, id string, o ExecOptions) (int, error) {
	args := []string{"exec", "--detach", "--process", o.ProcessFile, "--pid-file", o.PidFile}
	if o.ConsoleSocket != "" {
		args = append(args, "--console-socket", o.ConsoleSocket)
	}
	_ = os.Remove(o.PidFile)
	cmd := r.Command(ctx, o.Log, append(args, id)...)
	// Assign only non-nil files: a typed nil *os.File in an io.Reader
	// would not be nil to exec.
	if o.Stdin != nil {
		cmd.Stdin = o.Stdin
	}
	if o.Stdout != nil {
		cmd.Stdout = o.Stdout
	}
	if o.Stderr != nil {
		cmd.Stderr = o.Stderr
	}
	if err := r.run(cmd); err != nil {
		if msg := LogError(o.Log); msg != "" {
			return 0, fmt.Errorf("%s exec %s: %s", r.Name, id, msg)
		}
		return 0, r.failure("exec "+id, err, "")
	}
	data, err := os.ReadFile(o.PidFile)
	if err != nil {
		return 0, fmt.Errorf("%s exec %s: reading pid file: %w", r.Name, id, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, fmt.Errorf("%s exec %s: bad pid file %q", r.Name, id, data)
	}
	return pid, nil
}

// LogError returns the error messages of a runtime's JSON log file, ""
// when it has none: what the runtime itself reported, as opposed to the
// exit code of the process it ran.
func LogError(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var msgs []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		var e struct{ Level, Msg string }
		if json.Unmarshal(sc.Bytes(), &e) == nil && (e.Level == "error" || e.Level == "fatal") && e.Msg != "" {
			msgs = append(msgs, e.Msg)
		}
	}
	return strings.Join(msgs, ": ")
}

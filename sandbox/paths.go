package sandbox

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/podbox/podbox/image"
)

// Dirs are one pod's directories.
type Dirs struct {
	Run  string // $XDG_RUNTIME_DIR/podbox/pods/<pod>: ctl.sock, pid, bundles, /etc files, runtime state
	Data string // $XDG_DATA_HOME/podbox/pods/<pod>: volumes/, logs/
}

// PodDirs returns the directories of the pod named name.
func PodDirs(name string) Dirs {
	return Dirs{
		Run:  filepath.Join(podsRunDir(), name),
		Data: filepath.Join(podsDataDir(), name),
	}
}

func podsRunDir() string  { return filepath.Join(image.RunDir(), "pods") }
func podsDataDir() string { return filepath.Join(image.DataDir(), "pods") }

func (d Dirs) ctlSock() string        { return filepath.Join(d.Run, "ctl.sock") }
func (d Dirs) pidFile() string        { return filepath.Join(d.Run, "pid") }
func (d Dirs) podLog() string         { return filepath.Join(d.Run, "podbox.log") }
func (d Dirs) slirpLog() string       { return filepath.Join(d.Run, "slirp4netns.log") }
func (d Dirs) slirpPidFile() string   { return filepath.Join(d.Run, "slirp4netns.pid") }
func (d Dirs) manifestFile() string   { return filepath.Join(d.Run, "pod.json") }
func (d Dirs) runtimeRoot() string    { return filepath.Join(d.Run, "runtime") }
func (d Dirs) bundle(c string) string { return filepath.Join(d.Run, "bundles", c) }
func (d Dirs) etcDir() string         { return filepath.Join(d.Run, "etc") }
func (d Dirs) logDir() string         { return filepath.Join(d.Data, "logs") }

// LogPath is the CRI log file of container c.
func (d Dirs) LogPath(c string) string { return filepath.Join(d.logDir(), c+".log") }

// podProcess is what the pid file holds: the pod's PID 1 as the host sees
// it, with its start time so that a reused pid is not taken for the pod.
type podProcess struct {
	PID   int
	Start string
}

func writePidFile(path string, pid int) error {
	return os.WriteFile(path, []byte(strconv.Itoa(pid)+" "+procStart(pid)+"\n"), 0o600)
}

func readPidFile(path string) (podProcess, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return podProcess{}, err
	}
	f := strings.Fields(string(b))
	var p podProcess
	if len(f) > 0 {
		p.PID, _ = strconv.Atoi(f[0])
	}
	if len(f) > 1 {
		p.Start = f[1]
	}
	return p, nil
}

// alive reports whether the process is still the pod's.
func (p podProcess) alive() bool {
	if p.PID <= 0 {
		return false
	}
	if err := syscall.Kill(p.PID, 0); err != nil && err != syscall.EPERM {
		return false
	}
	if p.Start != "" && procStart(p.PID) != p.Start {
		return false
	}
	// A zombie is dead too (its parent has not reaped it yet).
	return procState(p.PID) != "Z"
}

// procStart is field 22 of /proc/PID/stat, the start time in clock ticks.
func procStart(pid int) string {
	f := procStat(pid)
	if len(f) < 20 {
		return ""
	}
	return f[19]
}

func procState(pid int) string {
	f := procStat(pid)
	if len(f) < 1 {
		return ""
	}
	return f[0]
}

// procStat returns the fields of /proc/PID/stat after the command name.
func procStat(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

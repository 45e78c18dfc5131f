package sandbox

// Which program runs a pod's PID 1 (issue 10). The pod's PID 1 lives as
// long as the pod, and every page of program it touches is paid per pod:
// podbox itself links the Kubernetes types, the image store and the CLI,
// the pod's side needs none of them. So the pod runs the small podbox-pod
// binary when there is one of the same build next to podbox, and podbox
// itself (/proc/self/exe with podproto.EnvPodChild) when there is not: a
// lone `go build ./cmd/podbox` still runs pods, with more memory each.
//
// Where: podbox-pod in podbox's own directory (go install puts both in
// GOBIN, make build both in bin/), else ../libexec/podbox/podbox-pod (a
// packaged layout), both from podbox's executable with symbolic links
// resolved (a link in ~/bin to a checkout's bin/podbox finds the checkout's
// podbox-pod).
//
// Same build: the two sides speak podproto, which has no version of its
// own, so a podbox-pod left from another build must not run the pods. Go
// records in every binary the module's version (go install …@v1.2.0) and,
// built from a checkout, the VCS revision, its time and whether the tree
// was modified; and, built without -trimpath, the -ldflags, where the
// Makefile's -X main.version is (debug/buildinfo). podbox-pod is used only
// if all of these that either binary has, and the Go version, are
// podbox's own. The Makefile builds podbox-pod without -trimpath for that:
// -trimpath drops -ldflags from the build information (go.dev/issue/52372),
// and with GOFLAGS=-buildvcs=false (as on the CI machine), or in a git
// worktree (whose .git is a file, where go build stamps no revision),
// main.version is the only stamp a make-built binary carries. Build settings that may
// differ are not compared: bin/podbox-dynamic (cgo, no tags) goes with
// bin/podbox-pod. A build that has no version, revision or main.version
// (go build -buildvcs=false, no Makefile) proves nothing, and its
// podbox-pod is not used. Two builds of one modified tree look alike: make
// build and go install build both binaries at once, so that is taken as
// the same build. The answer is cached in memory by the file's path,
// inode, size and modification time.

import (
	"debug/buildinfo"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"
)

// PodBinaryName is the lean binary of the pod's PID 1 (cmd/podbox-pod).
const PodBinaryName = "podbox-pod"

// PodBinary returns the podbox-pod binary of podbox's own build that a pod's
// PID 1 runs, and why it is that one; path "" means none was found and the
// pod runs in podbox itself (/proc/self/exe, with podproto.EnvPodChild),
// and why says why.
func PodBinary() (path, why string) {
	b := findPodBinary()
	return b.path, b.why
}

// PodProcessInfo is `podbox info`'s line about the pod's process; warn is
// true when a podbox-pod was found but is of another build (a stale
// install), which the user may want to fix.
func PodProcessInfo() (value string, warn bool) {
	b := findPodBinary()
	if b.path != "" {
		return b.path + " (lean)", false
	}
	return "podbox itself (" + b.why + ")", b.otherBuild
}

type podBinary struct {
	path, why  string
	otherBuild bool // a podbox-pod exists, of another build
}

func findPodBinary() podBinary {
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		return podBinary{why: fmt.Sprintf("podbox's own path is unknown: %v", err)}
	}
	self, ok := debug.ReadBuildInfo()
	if !ok {
		return podBinary{why: "podbox has no build information"}
	}
	return findPodBinaryFrom(exe, self)
}

// podBinaryCandidates are where podbox-pod may be, for podbox at exe.
func podBinaryCandidates(exe string) []string {
	dir := filepath.Dir(exe)
	return []string{
		filepath.Join(dir, PodBinaryName),
		filepath.Join(filepath.Dir(dir), "libexec", "podbox", PodBinaryName),
	}
}

// findPodBinaryFrom returns the first candidate of the same build as self;
// if none is, why names the first one found, or where it was looked for.
func findPodBinaryFrom(exe string, self *debug.BuildInfo) podBinary {
	var first *podBinary
	for _, c := range podBinaryCandidates(exe) {
		b, exists := checkPodBinary(c, self)
		if b.path != "" {
			return b
		}
		if exists && first == nil {
			first = &b
		}
	}
	if first != nil {
		return *first
	}
	return podBinary{why: fmt.Sprintf("%s not found next to %s", PodBinaryName, exe)}
}

// readBuildInfo reads another binary's build information (a variable for
// the tests).
var readBuildInfo = buildinfo.ReadFile

type podBinaryKey struct {
	path        string
	ino, size   int64
	modTime     time.Time
	selfVersion string
}

var podBinaryCache struct {
	sync.Mutex
	m map[podBinaryKey]podBinary
}

// checkPodBinary checks one candidate: exists reports whether there is a
// file at path at all.
func checkPodBinary(path string, self *debug.BuildInfo) (b podBinary, exists bool) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return podBinary{}, false
	}
	if err != nil {
		return podBinary{why: fmt.Sprintf("%s: %v", path, err), otherBuild: true}, true
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return podBinary{why: fmt.Sprintf("%s is not an executable file", path), otherBuild: true}, true
	}
	key := podBinaryKey{path: path, size: fi.Size(), modTime: fi.ModTime(), selfVersion: buildString(self)}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		key.ino = int64(st.Ino)
	}
	podBinaryCache.Lock()
	defer podBinaryCache.Unlock()
	if b, ok := podBinaryCache.m[key]; ok {
		return b, true
	}
	b = podBinary{path: path, why: "of podbox's own build"}
	if other, err := readBuildInfo(path); err != nil {
		b = podBinary{why: fmt.Sprintf("%s is not a Go program of podbox's: %v", path, err), otherBuild: true}
	} else if err := sameBuild(self, other); errors.Is(err, errUnidentifiedBuild) {
		b = podBinary{why: fmt.Sprintf("%s may be of another build: %v", path, err), otherBuild: true}
	} else if err != nil {
		b = podBinary{why: fmt.Sprintf("%s is of another build: %v", path, err), otherBuild: true}
	}
	if podBinaryCache.m == nil {
		podBinaryCache.m = map[podBinaryKey]podBinary{}
	}
	podBinaryCache.m[key] = b
	return b, true
}

// errUnidentifiedBuild: podbox's own build says nothing to compare.
var errUnidentifiedBuild = errors.New("podbox's build has no module version, VCS revision or main.version to compare it with (build with make, or go install …@version)")

// sameBuild returns nil if the two binaries were built from the same
// source, as far as their build information tells (see the top of this
// file), else what differs.
func sameBuild(self, other *debug.BuildInfo) error {
	if !identified(self) {
		return errUnidentifiedBuild
	}
	differ := self.GoVersion != other.GoVersion || self.Main.Path != other.Main.Path ||
		self.Main.Version != other.Main.Version || self.Main.Sum != other.Main.Sum ||
		ldflagsVersion(self) != ldflagsVersion(other)
	for _, k := range []string{"vcs", "vcs.revision", "vcs.time", "vcs.modified"} {
		differ = differ || setting(self, k) != setting(other, k)
	}
	if differ {
		return fmt.Errorf("%s, podbox is %s", buildString(other), buildString(self))
	}
	return nil
}

// identified reports whether a build says which source it is of.
func identified(bi *debug.BuildInfo) bool {
	v := bi.Main.Version
	return (v != "" && v != "(devel)") || setting(bi, "vcs.revision") != "" || ldflagsVersion(bi) != ""
}

// ldflagsVersion is the value of -X main.version in the recorded -ldflags.
func ldflagsVersion(bi *debug.BuildInfo) string {
	f := strings.Fields(setting(bi, "-ldflags"))
	for i := range f {
		x := strings.TrimPrefix(strings.TrimPrefix(f[i], "-"), "-")
		var arg string
		switch {
		case x == "X" && i+1 < len(f):
			arg = f[i+1]
		case strings.HasPrefix(x, "X="):
			arg = x[2:]
		default:
			continue
		}
		if v, ok := strings.CutPrefix(arg, "main.version="); ok {
			return v
		}
	}
	return ""
}

func setting(bi *debug.BuildInfo, key string) string {
	for _, s := range bi.Settings {
		if s.Key == key {
			return s.Value
		}
	}
	return ""
}

// buildString describes a build for a message: module version,
// main.version, revision, modified, Go version.
func buildString(bi *debug.BuildInfo) string {
	s := bi.Main.Version
	if s == "" {
		s = "(devel)"
	}
	if v := ldflagsVersion(bi); v != "" {
		s += " " + v
	}
	if r := setting(bi, "vcs.revision"); r != "" {
		if len(r) > 12 {
			r = r[:12]
		}
		s += " " + r
		if setting(bi, "vcs.modified") == "true" {
			s += " modified"
		}
	}
	return s + " " + bi.GoVersion
}

package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/podbox/podbox/image"
	"github.com/podbox/podbox/mounts"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// maxContainerID bounds the runtime and storage names of a pod's
// containers: the runtime makes a directory of that name (at most 255
// bytes), and shorter keeps every path built from it sane.
const maxContainerID = 128

// containerID is the runtime and storage name of container ctr of pod:
// <pod>-<ctr>, unique per pod. A name that would be too long keeps the
// start of the pod's name and a hash of all of it.
func containerID(pod, ctr string) string {
	id := pod + "-" + ctr
	if len(id) <= maxContainerID {
		return id
	}
	sum := sha256.Sum256([]byte(pod))
	h := hex.EncodeToString(sum[:8])
	keep := maxContainerID - len(ctr) - len(h) - 2
	return strings.TrimRight(pod[:keep], "-.") + "-" + h + "-" + ctr
}

// containerMetadata marks the storage containers podbox makes for a pod,
// so that those a dead pod left are found without its directories.
func containerMetadata(pod string) string { return podArgv0(pod) }

// cleanupIfDead removes what pod name left, under lockPods, unless its
// process (or a new pod of the same name, started meanwhile) is alive:
// then it removes nothing and returns ErrPodRunning.
func cleanupIfDead(name string, so image.StoreOptions) error {
	unlock, err := lockPods()
	if err != nil {
		return err
	}
	defer unlock()
	if podAlive(name) {
		return fmt.Errorf("%w: it was started again meanwhile", ErrPodRunning)
	}
	return cleanupDead(name, probePod(name), so)
}

// findPodProcess finds pod name's PID 1 by its command line (podArgv0)
// among the user's live processes, whatever its pid file says (being
// written, lost, damaged): garbage collection never removes the data of a
// live pod, and `down` can still stop it.
func findPodProcess(name string) (podProcess, bool) {
	want := podArgv0(name) + "\x00"
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return podProcess{}, false
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline"); err != nil || string(b) != want {
			continue
		}
		p := podProcess{PID: pid, Start: procStart(pid), name: name}
		if p.isPod() && procState(pid) != "Z" {
			return p, true
		}
	}
	return podProcess{}, false
}

// livePodProcess returns pod name's PID 1 if it lives: the process its
// pid file names, proved (podProcess.isPod), else the one findPodProcess
// finds.
func livePodProcess(name string) (podProcess, bool) {
	if pp, err := readPidFile(PodDirs(name).pidFile()); err == nil && pp.alive() {
		return pp, true
	}
	return findPodProcess(name)
}

// removeOrphanContainers removes, under lockPods, the storage containers
// podbox made for pod (every pod if pod is "") whose pod is not alive,
// and returns how many it removed.
func removeOrphanContainers(so image.StoreOptions, pod string) (int, error) {
	unlock, err := lockPods()
	if err != nil {
		return 0, err
	}
	defer unlock()
	store, err := image.OpenStore(so)
	if err != nil {
		return 0, err
	}
	defer store.Shutdown()
	return removeContainersOf(store, pod, podAlive)
}

// podAlive reports whether pod name's process lives (livePodProcess).
func podAlive(name string) bool {
	_, ok := livePodProcess(name)
	return ok
}

// removeContainersOf removes the storage containers marked for pod (every
// pod if pod is ""), skipping those of pods for which alive (if not nil)
// is true. The caller holds lockPods.
func removeContainersOf(store *image.Store, pod string, alive func(string) bool) (int, error) {
	all, err := store.Storage().Containers()
	if err != nil {
		return 0, fmt.Errorf("listing storage containers: %w", err)
	}
	n := 0
	var errs []error
	seen := map[string]bool{}
	for _, c := range all {
		owner, ok := strings.CutPrefix(c.Metadata, podArgv0(""))
		if !ok || ValidatePodName(owner) != nil || (pod != "" && owner != pod) {
			continue
		}
		if a, ok := seen[owner]; a || (!ok && alive != nil && alive(owner)) {
			seen[owner] = true
			continue
		}
		seen[owner] = false
		logrus.Infof("removing storage container %s of pod %q, which is gone", c.ID[:12], owner)
		if err := mounts.RemoveRootfs(store.Storage(), c.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// maxSunPath is the size of sun_path in struct sockaddr_un, NUL included.
const maxSunPath = 108

// sockPath returns a path by which the unix socket at path can be bound or
// reached even if path is longer than sun_path: /proc/PID/fd/N/<base>,
// N an O_PATH descriptor of its directory (as Podman reaches conmon's
// sockets). PID is this process's pid, so another process (the runtime
// connecting to a console socket) can use it too. Call done once the
// socket is bound or connected.
func sockPath(path string) (p string, done func(), err error) {
	if len(path) < maxSunPath {
		return path, func() {}, nil
	}
	dir, base := path[:strings.LastIndexByte(path, '/')], path[strings.LastIndexByte(path, '/')+1:]
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, fmt.Errorf("opening %s: %w", dir, err)
	}
	return "/proc/" + strconv.Itoa(os.Getpid()) + "/fd/" + strconv.Itoa(fd) + "/" + base, func() { unix.Close(fd) }, nil
}

package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/podbox/podbox/image"
	"github.com/podbox/podbox/mounts"
	"github.com/podbox/podbox/sandbox/downward"
	"github.com/podbox/podbox/sandbox/manifest"
	"github.com/podbox/podbox/sandbox/ociruntime"
	"github.com/podbox/podbox/sandbox/ocispec"
	"github.com/podbox/podbox/sandbox/podproto"
	"github.com/podbox/podbox/slirp/relay"
	"github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
)

// imageInfo is how `up` got a container's image.
type imageInfo struct {
	ID     string
	Config *imgspecv1.Image
	Ref    string         // the status's imageID: repo@digest
	Pull   *podproto.Pull // nil: it was present
}

// ensureImage gets container c's image per its imagePullPolicy and says
// whether it was pulled, and when, for the pod's events.
func ensureImage(ctx context.Context, store *image.Store, c *corev1.Container, o image.PullOptions) (imageInfo, error) {
	_, lookErr := store.Lookup(c.Image)
	start := time.Now()
	img, err := store.Ensure(ctx, c.Image, o)
	if err != nil {
		return imageInfo{}, err
	}
	info := imageInfo{ID: img.ID, Config: img.Config, Ref: imageRef(img)}
	if lookErr != nil || o.Policy == corev1.PullAlways || (o.Policy == "" && image.DefaultPullPolicy(c.Image) == corev1.PullAlways) {
		info.Pull = &podproto.Pull{Start: start, End: time.Now()}
	}
	return info, nil
}

// imageRef is the Image ID the status shows, as containerd's kubelet does:
// the repository at the manifest digest (docker.io/library/busybox@sha256:…),
// else the image ID.
func imageRef(img *image.Image) string {
	if img.Digest != "" && len(img.Names) > 0 {
		repo := img.Names[0]
		if i := strings.LastIndexByte(repo, '@'); i >= 0 {
			repo = repo[:i]
		} else if i := strings.LastIndexByte(repo, ':'); i > strings.LastIndexByte(repo, '/') {
			repo = repo[:i]
		}
		return repo + "@" + img.Digest
	}
	return "sha256:" + img.ID
}

// chosenRuntime is the OCI runtime `up` chose for its pods, and how it
// runs here (probe.Result).
type chosenRuntime struct {
	rt          *ociruntime.Runtime
	cgroupTmpfs bool
}

// preparedPod is a pod made ready for its PID 1: its work, and what
// sendRootfs needs to make the containers' root filesystems and bundles.
type preparedPod struct {
	work   podproto.Work
	pod    *corev1.Pod // with the defaults the work has
	ctrs   []*corev1.Container
	images map[string]imageInfo
	// vols are the pod's volumes; the tmpfs ones with content are filled
	// once the pod has mounted them (fillTmpfs).
	vols map[string]mounts.Volume
	etc  mounts.Etc
	env  image.EnvSources // what the containers' env takes from outside the pod
}

// hostIP is the pod's status.hostIP, as package pod reports it.
const hostIP = "127.0.0.1"

// saidOnce holds the notes already said by this podbox process.
var saidOnce sync.Map

// sayOnce writes note to w unless this process has said it already.
func sayOnce(w io.Writer, note string) {
	if _, said := saidOnce.LoadOrStore(note, true); !said && w != nil {
		fmt.Fprintf(w, "note: %s\n", note)
	}
}

// needsFill reports whether the pod has tmpfs volumes with content.
func (pp *preparedPod) needsFill() bool {
	for _, v := range pp.vols {
		if v.Content && v.Kind == mounts.KindMemory {
			return true
		}
	}
	return false
}

// preparePod computes the pod's work, in `up`, inside podbox's user
// namespace: the pod's defaults (uid, creationTimestamp, nodeName), the
// volume directories, the /etc files, and each container's paths. The
// work goes to the pod's PID 1 at once; sendRootfs follows. On error what
// it made stays for the pod's cleanup.
func preparePod(rt chosenRuntime, pod *corev1.Pod, objs *manifest.File, images map[string]imageInfo, dirs Dirs, o UpOptions) (*preparedPod, error) {
	p := pod.DeepCopy()
	if p.UID == "" {
		p.UID = uuid.NewUUID()
	}
	now := time.Now()
	p.CreationTimestamp = metav1.NewTime(now)
	if p.Spec.NodeName == "" {
		p.Spec.NodeName, _ = os.Hostname()
	}
	// The status the downward API reads (the pod reports the same).
	p.Status.HostIP, p.Status.HostIPs = hostIP, []corev1.HostIP{{IP: hostIP}}
	p.Status.PodIP, p.Status.PodIPs = mounts.PodIP, []corev1.PodIP{{IP: mounts.PodIP}}
	pp := &preparedPod{pod: p, ctrs: allContainers(p), images: images}
	w := &pp.work
	w.Name, w.Namespace, w.UID, w.Created, w.NodeName = p.Name, p.Namespace, string(p.UID), now, p.Spec.NodeName
	w.Hostname = mounts.Hostname(p)
	meta, err := json.Marshal(p.ObjectMeta)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(meta, &w.Metadata); err != nil {
		return nil, err
	}
	if w.Spec, err = json.Marshal(p.Spec); err != nil {
		return nil, err
	}
	w.RestartPolicy = string(p.Spec.RestartPolicy)
	if w.RestartPolicy == "" {
		w.RestartPolicy = podproto.RestartAlways
	}
	w.GraceSeconds = 30
	if d := p.Spec.ActiveDeadlineSeconds; d != nil {
		w.ActiveDeadlineSeconds = *d
	}
	if g := p.Spec.TerminationGracePeriodSeconds; g != nil {
		w.GraceSeconds = *g
	}
	w.Dirs = podproto.Dirs{Run: dirs.Run, Data: dirs.Data}
	w.Runtime = podproto.Runtime{Name: rt.rt.Name, Path: rt.rt.Path, Root: dirs.runtimeRoot(), CgroupTmpfs: rt.cgroupTmpfs}
	w.Foreground = !o.Detach
	w.LogLevel = o.LogLevel
	for _, d := range []string{dirs.logDir(), dirs.etcDir(), dirs.runtimeRoot()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	node := downward.ThisNode(dirs.Data)
	src := mounts.Sources{Node: node, Claims: claimsDir()}
	pp.env.Node = node
	if objs != nil {
		src.Objects, pp.env.Objects = objs, objs
	}
	var notes []string
	if pp.vols, notes, err = mounts.Setup(p, dirs.Data, src); err != nil {
		return nil, fmt.Errorf("setting up volumes: %w", err)
	}
	for _, n := range notes {
		sayOnce(o.Err, n)
	}
	for _, v := range pp.vols {
		if v.Kind == mounts.KindMemory {
			w.Tmpfs = append(w.Tmpfs, podproto.Tmpfs{Path: v.Source, Options: v.TmpfsOptions})
		}
	}
	w.VolumeLimits = volumeLimits(p, pp.vols)
	w.Sysctls = podSysctls(p)
	if pp.etc, err = mounts.WriteEtc(p, dirs.etcDir()); err != nil {
		return nil, fmt.Errorf("writing /etc files: %w", err)
	}
	inits := len(p.Spec.InitContainers)
	watched := restartOnChange(p)
	var ids []string
	for i, c := range pp.ctrs {
		init := i < inits
		img := images[c.Name]
		pc := podproto.Container{
			Name: c.Name, Image: c.Image, Init: init, Sidecar: init && isSidecar(c),
			ID: containerID(p.Name, c.Name), Bundle: dirs.bundle(c.Name), LogDir: dirs.containerLogDir(c.Name), LogPath: dirs.LogPath(c.Name),
			ImageID: img.Ref, Pull: img.Pull,
		}
		pc.Rootfs = filepath.Join(pc.Bundle, "rootfs")
		if pc.ImageID == "" {
			pc.ImageID = "sha256:" + img.ID
		}
		if !init {
			pc.WatchPaths = watched[c.Name]
		}
		if err := containerHooks(&pc, c, img.Config); err != nil {
			return nil, err
		}
		for _, warn := range ocispec.RootlessWarnings(c) {
			warnOnce(o.Err, warn)
		}
		w.Containers = append(w.Containers, pc)
		ids = append(ids, pc.ID)
	}
	// The pod removes what it leaves through podbox in the cleanup role
	// (cleanup.go), as its last step.
	w.Cleanup, w.CleanupEnv = CleanupCommand(dirs, p.Name, o.Store, ids)
	w.ProbeHelper, w.ProbeHelperEnv = probeHelperCommand(w.Containers)
	return pp, nil
}

// sendRootfs makes each container's root filesystem and bundle and sends
// the root filesystem on sock (FDMounts) as soon as it is made, so that
// the pod mounts one while the next is made; then it ends the list.
func (pp *preparedPod) sendRootfs(store *image.Store, sock *os.File) error {
	for i, c := range pp.ctrs {
		f, err := prepareContainer(store, pp.pod, c, pp.images[c.Name], pp.work.Containers[i], pp.vols, pp.etc, pp.env, pp.work.SeccompAgent)
		if err != nil {
			return fmt.Errorf("preparing container %q: %w", c.Name, err)
		}
		err = podproto.SendMount(sock, c.Name, int(f.Fd()))
		f.Close()
		if err != nil {
			return err
		}
	}
	return podproto.EndMounts(sock, "")
}

// prepareContainer creates container c's storage container and mounts it
// (in `up`'s own mount namespace), writes its bundle, whose root.path is
// where the pod mounts the root filesystem, and returns the mount cloned
// as a detached mount (open_tree); its own mount here it unmounts: the
// clone lives on in the pod's mount namespace.
func prepareContainer(store *image.Store, p *corev1.Pod, c *corev1.Container, img imageInfo, pc podproto.Container, vols map[string]mounts.Volume, etc mounts.Etc, env image.EnvSources, seccompAgent string) (*os.File, error) {
	path, err := mounts.MountRootfs(store.Storage(), pc.ID, img.ID, containerMetadata(p.Name))
	if err != nil {
		return nil, err
	}
	defer func() {
		if _, err := store.Storage().Unmount(pc.ID, false); err != nil {
			logrus.Warnf("unmounting the root filesystem of %q here: %v", c.Name, err)
		}
	}()
	proc, err := image.ProcessFor(img.Config, p, c, path, env)
	if err != nil {
		return nil, err
	}
	ms, err := mounts.ForContainer(c, vols, etc)
	if err != nil {
		return nil, err
	}
	spec, err := ocispec.Generate(ocispec.Options{
		Args: proc.Args, Env: proc.Env, Cwd: proc.Cwd,
		UID: proc.UID, GID: proc.GID, AdditionalGids: proc.AdditionalGids,
		Rootfs: pc.Rootfs, Mounts: ms, Container: c, Pod: p,
		SeccompListener: seccompAgent, SeccompNotify: relay.SeccompAcceptSyscalls,
	})
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(pc.Rootfs, 0o700); err != nil {
		return nil, err
	}
	if err := ocispec.WriteBundle(pc.Bundle, spec); err != nil {
		return nil, err
	}
	return podproto.OpenTreeClone(path)
}

// fillTmpfs writes the files of the pod's secret and projected volumes
// into the tmpfs its PID 1 mounted, once it has: the pod mounts them
// before it receives the root filesystems and then closes its end of the
// mounts socket, so EOF there (or the pod's end) comes after the mounts.
func (pp *preparedPod) fillTmpfs(pid int, mountsSock *os.File, exited <-chan struct{}) error {
	if !pp.needsFill() {
		return nil
	}
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 16)
		for {
			if _, err := mountsSock.Read(buf); err != nil {
				done <- err
				return
			}
		}
	}()
	select {
	case <-done:
	case <-exited:
		return os.ErrClosed // it died: diedError says how
	}
	if err := mounts.FillTmpfs(pid, pp.vols); err != nil {
		return fmt.Errorf("filling the pod's secret volumes: %w", err)
	}
	return nil
}

// Package mounts makes what a pod's containers see besides their image: the
// pod's volumes, the generated /etc/hosts, /etc/resolv.conf and
// /etc/hostname, each container's bind mounts, and the container's rootfs
// from go.podman.io/storage.
//
// Decisions, following Kubernetes where it has a rule:
//
//   - emptyDir is a directory under the pod's data dir,
//     $XDG_DATA_HOME/podbox/pods/<pod>/volumes/<name>, mode 0777 as the
//     kubelet makes it, so a container running as any uid can write there.
//     `medium: Memory` is a tmpfs mounted on that directory inside the pod's
//     mount namespace, sized by sizeLimit (else the kernel's default, half
//     of RAM), so it goes away with the pod even if podbox is killed. Setup
//     runs in the CLI and only says how (Volume.TmpfsOptions); the pod's
//     PID 1 mounts it, in its own mount namespace.
//   - Volume types podbox does not implement yet (configMap, secret, …;
//     manifest.Load warns about them) are empty directories too.
//   - hostPath is bound as is. Its `type` is checked on the host side before
//     anything starts, as the kubelet does (DirectoryOrCreate and
//     FileOrCreate create it, 0755 and 0644). A path that is missing (type
//     unset) or that the user cannot read is an error naming it, never a
//     silent empty mount: a rootless bind would otherwise fail late, inside
//     the runtime.
//   - subPath is resolved inside its volume with symlinks confined to the
//     volume (filepath-securejoin), and created as a directory when missing,
//     as the kubelet does.
//   - Mount propagation as Kubernetes maps it: None → rprivate,
//     HostToContainer → rslave, Bidirectional → rshared.
//   - /etc/hosts, /etc/resolv.conf and /etc/hostname are written once per
//     pod and bound read-write into every container, as the kubelet does; a
//     volumeMount on the same path wins.
package mounts

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	corev1 "k8s.io/api/core/v1"
)

// Kinds of Volume.
const (
	KindEmptyDir = "emptyDir"
	KindMemory   = "memory"
	KindHostPath = "hostPath"
)

// Volume is one pod volume, ready to be bound into containers.
type Volume struct {
	Name     string
	Source   string // absolute path on the pod's side
	Kind     string // KindEmptyDir, KindMemory or KindHostPath
	ReadOnly bool   // every mount of it is read-only
	// TmpfsOptions, for KindMemory: the tmpfs's mount(2) data, for the
	// pod's PID 1 to mount it on Source.
	TmpfsOptions string
}

// VolumesDir is where Setup puts a pod's volumes under its data dir.
func VolumesDir(dataDir string) string { return filepath.Join(dataDir, "volumes") }

// Setup makes the pod's volumes under dataDir/volumes/<name>: emptyDir
// directories (medium Memory ones too: the pod's PID 1 mounts a tmpfs
// there, with TmpfsOptions), hostPath as is. What it made goes with the
// pod's data dir.
func Setup(pod *corev1.Pod, dataDir string) (map[string]Volume, error) {
	base := VolumesDir(dataDir)
	vols := make(map[string]Volume, len(pod.Spec.Volumes))
	for _, v := range pod.Spec.Volumes {
		if hp := v.HostPath; hp != nil {
			vols[v.Name] = Volume{Name: v.Name, Source: filepath.Clean(hp.Path), Kind: KindHostPath}
			continue
		}
		dir := filepath.Join(base, v.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("making volume %q: %w", v.Name, err)
		}
		vol := Volume{Name: v.Name, Source: dir, Kind: KindEmptyDir}
		if ed := v.EmptyDir; ed != nil && ed.Medium == corev1.StorageMediumMemory {
			vol.TmpfsOptions = "mode=0777"
			if ed.SizeLimit != nil && ed.SizeLimit.Value() > 0 {
				vol.TmpfsOptions += ",size=" + strconv.FormatInt(ed.SizeLimit.Value(), 10)
			}
			vol.Kind = KindMemory
		} else if err := os.Chmod(dir, 0o777); err != nil { // past the umask
			return nil, fmt.Errorf("making volume %q: %w", v.Name, err)
		}
		vols[v.Name] = vol
	}
	return vols, nil
}

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
//     (The kubelet's emptyDir plugin: const perm = 0777, chmod past the
//     umask; not the sticky 01777.) `medium: Memory` is a tmpfs, mode 01777
//     as the kubelet's (it mounts tmpfs with no mode, so tmpfs's default),
//     mounted on that directory inside the pod's
//     mount namespace, sized by sizeLimit (else the kernel's default, half
//     of RAM), so it goes away with the pod even if podbox is killed. Setup
//     runs in the CLI and only says how (Volume.TmpfsOptions); the pod's
//     PID 1 mounts it, in its own mount namespace.
//   - configMap, secret, downwardAPI and projected volumes hold the files
//     the kubelet would write (content.go: every key or the items, key →
//     path, mode over defaultMode, binaryData, a Secret's stringData; the
//     downward API's values from package downward), in the kubelet's
//     atomic-writer layout (the files under a timestamped ..<time>
//     directory, ..data linking to it, each top-level name linking into
//     ..data), and are mounted read-only, as the kubelet mounts them.
//     They are written once, at up: podbox has no API server whose
//     changes would update them.
//   - secret and projected volumes are on tmpfs, as the kubelet puts them
//     (projected volumes may hold secrets and tokens), and never on disk:
//     the pod's PID 1 mounts the tmpfs (podproto.Work.Tmpfs) in its mount
//     namespace, and `up` writes the files through /proc/<pid>/root once
//     it has (FillTmpfs), after checking that the directory is a tmpfs
//     there. The CLI holds no mount of its own of them, and the directory
//     under the data dir stays empty on disk. configMap and downwardAPI
//     volumes are on disk under the pod's data dir, as the kubelet's are.
//   - A projected serviceAccountToken or clusterTrustBundle source has no
//     API server behind it: its file holds a placeholder
//     (TokenPlaceholder, TrustBundlePlaceholder), and up says so once.
//   - A persistentVolumeClaim volume is the claim's directory under
//     podbox's data dir, <data>/claims/<namespace>/<claim> (ClaimDir, from
//     Sources.Claims), bound as a hostPath is: it is no part of the pod's
//     data dir, so neither the pod's cleanup nor `down` removes it; only
//     `down --volumes` does (package sandbox). readOnly makes every
//     mount of it read-only.
//   - Volume types podbox does not implement (image, …; manifest.Load
//     warns about them) are empty directories.
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
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Kinds of Volume.
const (
	KindEmptyDir = "emptyDir"
	KindMemory   = "memory"
	KindHostPath = "hostPath"
	KindConfig   = "config" // configMap, downwardAPI: files on disk
)

// Volume is one pod volume, ready to be bound into containers.
type Volume struct {
	Name     string
	Source   string // absolute path on the pod's side
	Kind     string // KindEmptyDir, KindMemory, KindHostPath or KindConfig
	ReadOnly bool   // every mount of it is read-only
	// TmpfsOptions, for KindMemory: the tmpfs's mount(2) data, for the
	// pod's PID 1 to mount it on Source.
	TmpfsOptions string
	// Content: a configMap, secret, downwardAPI or projected volume, whose
	// Files podbox writes (Setup on disk, FillTmpfs on tmpfs).
	Content bool
	Files   []File
	dataDir string   // the atomic writer's ..<time> directory
	subDirs []string // tmpfs content volumes: subPaths the containers mount that no file has, made as directories
}

// VolumesDir is where Setup puts a pod's volumes under its data dir.
func VolumesDir(dataDir string) string { return filepath.Join(dataDir, "volumes") }

// Setup makes the pod's volumes under dataDir/volumes/<name>: emptyDir
// directories (medium Memory ones too: the pod's PID 1 mounts a tmpfs
// there, with TmpfsOptions), hostPath as is, configMap and downwardAPI
// volumes with their files, secret and projected volumes as tmpfs whose
// files FillTmpfs writes. What it made goes with the pod's data dir. notes
// are for the user (placeholders written).
func Setup(pod *corev1.Pod, dataDir string, src Sources) (vols map[string]Volume, notes []string, err error) {
	base := VolumesDir(dataDir)
	vols = make(map[string]Volume, len(pod.Spec.Volumes))
	now := time.Now()
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if hp := v.HostPath; hp != nil {
			vols[v.Name] = Volume{Name: v.Name, Source: filepath.Clean(hp.Path), Kind: KindHostPath}
			continue
		}
		if pvc := v.PersistentVolumeClaim; pvc != nil {
			if src.Claims == "" {
				return nil, nil, fmt.Errorf("volume %q: no directory for PersistentVolumeClaims", v.Name)
			}
			dir, _, err := EnsureClaim(src.Claims, pod.Namespace, pvc.ClaimName)
			if err != nil {
				return nil, nil, fmt.Errorf("volume %q: %w", v.Name, err)
			}
			vols[v.Name] = Volume{Name: v.Name, Source: dir, Kind: KindClaim, ReadOnly: pvc.ReadOnly}
			continue
		}
		dir := filepath.Join(base, v.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, nil, fmt.Errorf("making volume %q: %w", v.Name, err)
		}
		vol := Volume{Name: v.Name, Source: dir, Kind: KindEmptyDir}
		if s := v.VolumeSource; s.ConfigMap != nil || s.Secret != nil || s.DownwardAPI != nil || s.Projected != nil {
			files, ns, err := content(pod, v, src)
			if err != nil {
				return nil, nil, fmt.Errorf("volume %q: %w", v.Name, err)
			}
			notes = append(notes, ns...)
			vol.Content, vol.Files, vol.dataDir, vol.ReadOnly = true, files, dataDirName(now), true
			if s.Secret != nil || s.Projected != nil {
				// The kubelet's memory-backed emptyDir: mode 1777.
				vol.Kind, vol.TmpfsOptions = KindMemory, "mode=1777"
				vol.subDirs = missingSubPaths(pod, vol)
				vols[v.Name] = vol
				continue
			}
			vol.Kind = KindConfig
		}
		if ed := v.EmptyDir; ed != nil && ed.Medium == corev1.StorageMediumMemory {
			vol.TmpfsOptions = "mode=1777" // tmpfs's own default, which the kubelet keeps
			if ed.SizeLimit != nil && ed.SizeLimit.Value() > 0 {
				vol.TmpfsOptions += ",size=" + strconv.FormatInt(ed.SizeLimit.Value(), 10)
			}
			vol.Kind = KindMemory
		} else if err := os.Chmod(dir, 0o777); err != nil { // past the umask
			return nil, nil, fmt.Errorf("making volume %q: %w", v.Name, err)
		}
		if vol.Kind == KindConfig {
			if err := writeContentAt(dir, vol.dataDir, vol.Files); err != nil {
				return nil, nil, fmt.Errorf("writing volume %q: %w", v.Name, err)
			}
		}
		vols[v.Name] = vol
	}
	return vols, notes, nil
}

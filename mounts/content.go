package mounts

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/podbox/podbox/sandbox/downward"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// Objects are the ConfigMaps and Secrets a pod's volumes take their files
// from (*manifest.File).
type Objects interface {
	ConfigMap(ns, name string) *corev1.ConfigMap
	Secret(ns, name string) *corev1.Secret
}

// Sources are what configMap, secret, downwardAPI and projected volumes are
// made of.
type Sources struct {
	Objects Objects       // nil: none
	Node    downward.Node // for resourceFieldRef limits left unset
	Claims  string        // podbox's claims directory (ClaimDir); "": persistentVolumeClaim volumes are an error
}

// File is one file of a volume whose content podbox writes.
type File struct {
	Path string // relative to the volume, clean
	Data []byte
	Mode fs.FileMode
}

// defaultMode is the API server's default for defaultMode (0644).
const defaultMode = 0o644

// Placeholder contents for the projected sources that need an API server.
const (
	TokenPlaceholder       = "podbox: no API server here, so no service account token\n"
	TrustBundlePlaceholder = "# podbox: no API server here, so no ClusterTrustBundle\n"
	placeholderNote        = "projected volume %q: %s has no API server behind it here; podbox writes a placeholder file at %s"
	errNoKey               = "key %q not found in %s %q"
	errNoObject            = "%s %q not found"
	volumeTypeConfigMap    = "ConfigMap"
	volumeTypeSecret       = "Secret"
)

// content computes the files of volume v of pod, as the kubelet's
// MakePayload (configMap, secret), CollectData (downwardAPI) and the
// projected plugin do: every key, or the items (key → path, mode over
// defaultMode), binaryData beside data, a Secret's stringData over its
// data; a missing object or key is an error unless optional (then it adds
// nothing). notes are said once to the user.
func content(pod *corev1.Pod, v *corev1.Volume, src Sources) (files []File, notes []string, err error) {
	s := &v.VolumeSource
	switch {
	case s.ConfigMap != nil:
		return configMapFiles(pod, s.ConfigMap.Name, s.ConfigMap.Items, s.ConfigMap.DefaultMode, s.ConfigMap.Optional, src)
	case s.Secret != nil:
		return secretFiles(pod, s.Secret.SecretName, s.Secret.Items, s.Secret.DefaultMode, s.Secret.Optional, src)
	case s.DownwardAPI != nil:
		return downwardFiles(pod, s.DownwardAPI.Items, s.DownwardAPI.DefaultMode, src)
	case s.Projected != nil:
		seen := map[string]bool{}
		for _, ps := range s.Projected.Sources {
			var fs []File
			var ns []string
			var err error
			mode := s.Projected.DefaultMode
			switch {
			case ps.ConfigMap != nil:
				fs, ns, err = configMapFiles(pod, ps.ConfigMap.Name, ps.ConfigMap.Items, mode, ps.ConfigMap.Optional, src)
			case ps.Secret != nil:
				fs, ns, err = secretFiles(pod, ps.Secret.Name, ps.Secret.Items, mode, ps.Secret.Optional, src)
			case ps.DownwardAPI != nil:
				fs, ns, err = downwardFiles(pod, ps.DownwardAPI.Items, mode, src)
			case ps.ServiceAccountToken != nil:
				fs = []File{{Path: path.Clean(ps.ServiceAccountToken.Path), Data: []byte(TokenPlaceholder), Mode: modeOf(nil, mode)}}
				ns = []string{fmt.Sprintf(placeholderNote, v.Name, "serviceAccountToken", ps.ServiceAccountToken.Path)}
			case ps.ClusterTrustBundle != nil:
				fs = []File{{Path: path.Clean(ps.ClusterTrustBundle.Path), Data: []byte(TrustBundlePlaceholder), Mode: modeOf(nil, mode)}}
				ns = []string{fmt.Sprintf(placeholderNote, v.Name, "clusterTrustBundle", ps.ClusterTrustBundle.Path)}
			}
			if err != nil {
				return nil, nil, err
			}
			for _, f := range fs {
				if seen[f.Path] {
					return nil, nil, fmt.Errorf("projected volume %q: two sources write %s", v.Name, f.Path)
				}
				seen[f.Path] = true
			}
			files = append(files, fs...)
			notes = append(notes, ns...)
		}
		return files, notes, nil
	}
	return nil, nil, nil
}

func modeOf(item, def *int32) fs.FileMode {
	switch {
	case item != nil:
		return fs.FileMode(*item)
	case def != nil:
		return fs.FileMode(*def)
	}
	return defaultMode
}

func isTrue(b *bool) bool { return b != nil && *b }

// payload is MakePayload over data: every key, or the items.
func payload(kind, name string, data map[string][]byte, items []corev1.KeyToPath, optional *bool, defMode *int32) ([]File, error) {
	var files []File
	if len(items) == 0 {
		for k, d := range data {
			files = append(files, File{Path: k, Data: d, Mode: modeOf(nil, defMode)})
		}
	}
	for _, it := range items {
		d, ok := data[it.Key]
		if !ok {
			if isTrue(optional) {
				continue
			}
			return nil, fmt.Errorf(errNoKey, it.Key, kind, name)
		}
		files = append(files, File{Path: path.Clean(it.Path), Data: d, Mode: modeOf(it.Mode, defMode)})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

func configMapFiles(pod *corev1.Pod, name string, items []corev1.KeyToPath, defMode *int32, optional *bool, src Sources) ([]File, []string, error) {
	var cm *corev1.ConfigMap
	if src.Objects != nil {
		cm = src.Objects.ConfigMap(pod.Namespace, name)
	}
	if cm == nil {
		if isTrue(optional) {
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf(errNoObject, volumeTypeConfigMap, name)
	}
	data := make(map[string][]byte, len(cm.Data)+len(cm.BinaryData))
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	files, err := payload(volumeTypeConfigMap, name, data, items, optional, defMode)
	return files, nil, err
}

func secretFiles(pod *corev1.Pod, name string, items []corev1.KeyToPath, defMode *int32, optional *bool, src Sources) ([]File, []string, error) {
	var s *corev1.Secret
	if src.Objects != nil {
		s = src.Objects.Secret(pod.Namespace, name)
	}
	if s == nil {
		if isTrue(optional) {
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf(errNoObject, volumeTypeSecret, name)
	}
	data := make(map[string][]byte, len(s.Data)+len(s.StringData))
	for k, v := range s.Data {
		data[k] = v
	}
	for k, v := range s.StringData {
		data[k] = []byte(v)
	}
	files, err := payload(volumeTypeSecret, name, data, items, optional, defMode)
	return files, nil, err
}

func downwardFiles(pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile, defMode *int32, src Sources) ([]File, []string, error) {
	var files []File
	for _, it := range items {
		var val string
		var err error
		switch {
		case it.FieldRef != nil:
			val, err = downward.FieldValue(pod, it.FieldRef.FieldPath)
		case it.ResourceFieldRef != nil:
			c := downward.Container(pod, it.ResourceFieldRef.ContainerName)
			if c == nil {
				return nil, nil, fmt.Errorf("%s: resourceFieldRef: no container %q", it.Path, it.ResourceFieldRef.ContainerName)
			}
			val, err = downward.ResourceValue(c, it.ResourceFieldRef, src.Node)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", it.Path, err)
		}
		files = append(files, File{Path: path.Clean(it.Path), Data: []byte(val), Mode: modeOf(it.Mode, defMode)})
	}
	return files, nil, nil
}

// dataDirName is the timestamped directory of the kubelet's atomic writer
// ("..2006_01_02_15_04_05.<n>"), which ..data points at.
func dataDirName(t time.Time) string {
	return ".." + t.Format("2006_01_02_15_04_05.000000000")
}

// writeContent writes files into the directory root holds, in the
// kubelet's atomic-writer layout: the files under dataDir, the symbolic
// link ..data → dataDir, and for each top-level name a link name →
// ..data/name. Modes are set past the umask. Everything goes through
// root: nothing lands outside that directory, and a tmpfs unmounted
// meanwhile takes the files with it rather than letting them reach the
// disk below.
func writeContent(root *os.Root, dataDir string, files []File) error {
	if err := root.Mkdir(dataDir, 0o755); err != nil {
		return err
	}
	if err := root.Chmod(dataDir, 0o755); err != nil {
		return err
	}
	top := map[string]bool{}
	for _, f := range files {
		p := path.Join(dataDir, f.Path)
		if err := root.MkdirAll(path.Dir(p), 0o755); err != nil {
			return err
		}
		if err := root.WriteFile(p, f.Data, f.Mode.Perm()); err != nil {
			return err
		}
		if err := root.Chmod(p, f.Mode.Perm()); err != nil {
			return err
		}
		first, _, _ := strings.Cut(f.Path, "/")
		top[first] = true
	}
	if err := root.Symlink(dataDir, "..data"); err != nil {
		return err
	}
	names := make([]string, 0, len(top))
	for n := range top {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := root.Symlink(path.Join("..data", n), n); err != nil {
			return err
		}
	}
	return nil
}

// writeContentAt is writeContent into directory dir.
func writeContentAt(dir, dataDir string, files []File) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	return writeContent(root, dataDir, files)
}

// ErrNotTmpfs reports a secret volume whose tmpfs is not where it should
// be: podbox writes no secret on disk.
var ErrNotTmpfs = errors.New("not a tmpfs: refusing to write secret files on disk")

// FillTmpfs writes the files of the pod's volumes that are tmpfs (secret
// and projected volumes) through /proc/<pid>/root, pid being the pod's
// PID 1, once it has mounted them in its own mount namespace: so their
// content only ever exists in the pod's memory. Each must be a tmpfs,
// checked on the directory the writes go through.
func FillTmpfs(pid int, vols map[string]Volume) error {
	names := make([]string, 0, len(vols))
	for n := range vols {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := vols[n]
		if v.Kind != KindMemory || !v.Content {
			continue
		}
		if err := fillOne(filepath.Join(fmt.Sprintf("/proc/%d/root", pid), v.Source), v); err != nil {
			return fmt.Errorf("volume %q: %w", v.Name, err)
		}
	}
	return nil
}

func fillOne(dir string, v Volume) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	d, err := root.Open(".")
	if err != nil {
		return err
	}
	var st unix.Statfs_t
	err = unix.Fstatfs(int(d.Fd()), &st)
	d.Close()
	if err != nil {
		return err
	}
	if st.Type != unix.TMPFS_MAGIC {
		return fmt.Errorf("%s: %w", v.Source, ErrNotTmpfs)
	}
	if err := writeContent(root, v.dataDir, v.Files); err != nil {
		return err
	}
	for _, d := range v.subDirs {
		if err := root.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// contentSubPath is where subPath sub of a tmpfs content volume is, from
// the files podbox writes there (they are written later, in the pod's
// mount namespace, so the disk cannot tell): under the data directory if
// a file is there, else the directory FillTmpfs makes for it, as the
// kubelet makes a missing subPath.
func contentSubPath(v Volume, sub string) (string, error) {
	sub = path.Clean(sub)
	if hasPath(v.Files, sub) {
		return filepath.Join(v.Source, v.dataDir, filepath.FromSlash(sub)), nil
	}
	for _, d := range v.subDirs {
		if d == sub {
			return filepath.Join(v.Source, filepath.FromSlash(sub)), nil
		}
	}
	return "", fmt.Errorf("no file or directory %q in the volume", sub)
}

// hasPath reports whether p is a file of files or a directory above one.
func hasPath(files []File, p string) bool {
	for _, f := range files {
		if f.Path == p || strings.HasPrefix(f.Path, p+"/") {
			return true
		}
	}
	return false
}

// missingSubPaths are the subPaths of v that pod's containers mount and
// that none of v's files provides.
func missingSubPaths(pod *corev1.Pod, v Volume) []string {
	var out []string
	seen := map[string]bool{}
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			for _, vm := range c.VolumeMounts {
				sub := path.Clean(vm.SubPath)
				if vm.Name != v.Name || vm.SubPath == "" || hasPath(v.Files, sub) || seen[sub] {
					continue
				}
				// ".." and the atomic writer's own names are not ours to make.
				if path.IsAbs(sub) || strings.HasPrefix(sub, "..") {
					continue
				}
				seen[sub] = true
				out = append(out, sub)
			}
		}
	}
	return out
}

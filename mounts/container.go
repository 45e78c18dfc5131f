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

	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
)

// ForContainer returns the OCI mounts of container c: its volumeMounts
// (readOnly, subPath, mountPropagation) and the pod's /etc files, parents
// before children. subPath directories are created in their volume when
// missing.
func ForContainer(c *corev1.Container, vols map[string]Volume, etc Etc) ([]specs.Mount, error) {
	var ms []specs.Mount
	taken := map[string]bool{}
	for _, vm := range c.VolumeMounts {
		v, ok := vols[vm.Name]
		if !ok {
			return nil, fmt.Errorf("container %q: volumeMount %q: no such volume", c.Name, vm.Name)
		}
		src := v.Source
		if vm.SubPath != "" {
			var err error
			if v.Content && v.Kind == KindMemory {
				src, err = contentSubPath(v, vm.SubPath)
			} else {
				src, err = subPath(v, vm.SubPath)
			}
			if err != nil {
				return nil, fmt.Errorf("container %q: volumeMount %q: subPath %q: %w", c.Name, vm.Name, vm.SubPath, err)
			}
		}
		opts := []string{"rbind", propagation(vm.MountPropagation)}
		if vm.ReadOnly || v.ReadOnly {
			opts = append(opts, "ro")
		}
		if v.Kind == KindMemory {
			// As the tmpfs itself is: runc keeps its flags on the bind,
			// crun remounts the bind with the spec's flags only.
			opts = append(opts, "nosuid", "nodev")
		}
		dst := path.Clean(vm.MountPath)
		taken[dst] = true
		ms = append(ms, specs.Mount{Destination: dst, Type: "bind", Source: src, Options: opts})
	}
	for _, f := range []struct{ dst, src string }{
		{"/etc/hosts", etc.Hosts},
		{"/etc/resolv.conf", etc.Resolv},
		{"/etc/hostname", etc.Hostname},
	} {
		if f.src == "" || taken[f.dst] || taken["/etc"] {
			continue
		}
		ms = append(ms, specs.Mount{Destination: f.dst, Type: "bind", Source: f.src, Options: []string{"rbind", "rprivate"}})
	}
	// runc mounts in order: a mount must come after the one it lies in.
	sort.SliceStable(ms, func(i, j int) bool { return depth(ms[i].Destination) < depth(ms[j].Destination) })
	return ms, nil
}

func depth(p string) int {
	if p == "/" {
		return 0
	}
	return strings.Count(p, "/")
}

func propagation(p *corev1.MountPropagationMode) string {
	if p != nil {
		switch *p {
		case corev1.MountPropagationHostToContainer:
			return "rslave"
		case corev1.MountPropagationBidirectional:
			return "rshared"
		}
	}
	return "rprivate"
}

// subPath resolves sub inside volume v, symlinks confined to the volume,
// and creates it as a directory when it does not exist.
func subPath(v Volume, sub string) (string, error) {
	if filepath.IsAbs(sub) {
		return "", errors.New("must be a relative path")
	}
	for _, part := range strings.Split(sub, "/") {
		if part == ".." {
			return "", errors.New("must not contain '..'")
		}
	}
	p, err := securejoin.SecureJoin(v.Source, sub)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		perm := fs.FileMode(0o755)
		if v.Kind != KindHostPath {
			perm = 0o777
		}
		if err := os.MkdirAll(p, perm); err != nil {
			return "", err
		}
		if perm == 0o777 {
			_ = os.Chmod(p, perm) // past the umask
		}
	} else if err != nil {
		return "", err
	}
	return p, nil
}

package mounts

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"k8s.io/apimachinery/pkg/util/validation"
)

// KindClaim is a persistentVolumeClaim volume: a directory of podbox's
// that outlives the pod (ClaimDir).
const KindClaim = "claim"

// ErrBadClaimName is a namespace or claim name that is not a Kubernetes
// name, so never made into a path.
var ErrBadClaimName = errors.New("not a valid name")

// ClaimDir is the directory of claim name in namespace ns under root
// (podbox's claims directory): root/<ns>/<name>. Both are checked as the
// API server checks them (a DNS-1123 label and subdomain), so a name is
// never a path.
func ClaimDir(root, ns, name string) (string, error) {
	if len(validation.IsDNS1123Label(ns)) > 0 {
		return "", fmt.Errorf("namespace %q: %w", ns, ErrBadClaimName)
	}
	if len(validation.IsDNS1123Subdomain(name)) > 0 {
		return "", fmt.Errorf("PersistentVolumeClaim %q: %w", name, ErrBadClaimName)
	}
	return filepath.Join(root, ns, name), nil
}

// EnsureClaim makes claim name's directory if it does not exist, mode
// 0777 as dynamic provisioners of local volumes make it (so a container
// running as any uid can write there); made reports whether it did. An
// existing claim is left as it is, its mode too.
func EnsureClaim(root, ns, name string) (dir string, made bool, err error) {
	if dir, err = ClaimDir(root, ns, name); err != nil {
		return "", false, err
	}
	fi, err := os.Lstat(dir)
	switch {
	case err == nil && fi.IsDir():
		return dir, false, nil
	case err == nil:
		return "", false, fmt.Errorf("PersistentVolumeClaim %q: %s is not a directory", name, dir)
	case !errors.Is(err, fs.ErrNotExist):
		return "", false, fmt.Errorf("PersistentVolumeClaim %q: %w", name, err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return "", false, fmt.Errorf("making PersistentVolumeClaim %q: %w", name, err)
	}
	if err := os.Mkdir(dir, 0o777); err != nil {
		if errors.Is(err, fs.ErrExist) { // made by another up at the same moment
			return dir, false, nil
		}
		return "", false, fmt.Errorf("making PersistentVolumeClaim %q: %w", name, err)
	}
	if err := os.Chmod(dir, 0o777); err != nil { // past the umask
		return "", false, fmt.Errorf("making PersistentVolumeClaim %q: %w", name, err)
	}
	return dir, true, nil
}

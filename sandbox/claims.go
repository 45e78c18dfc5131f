package sandbox

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/podbox/podbox/image"
	"github.com/podbox/podbox/mounts"
	"github.com/podbox/podbox/sandbox/manifest"
	"github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
)

// claimsDir is where PersistentVolumeClaims live:
// $XDG_DATA_HOME/podbox/claims/<namespace>/<claim> (mounts.ClaimDir). Not
// under any pod's directory, so that no pod's cleanup removes them.
func claimsDir() string { return filepath.Join(image.DataDir(), "claims") }

// claimRef is a claim by namespace and name.
type claimRef struct{ ns, name string }

func (c claimRef) String() string {
	if c.ns == manifest.DefaultNamespace {
		return "persistentvolumeclaim/" + c.name
	}
	return c.ns + "/persistentvolumeclaim/" + c.name
}

// podClaims adds the claims pod mounts to set.
func podClaims(set map[claimRef]bool, pod *corev1.Pod) {
	ns := pod.Namespace
	if ns == "" {
		ns = manifest.DefaultNamespace
	}
	for _, v := range pod.Spec.Volumes {
		if c := v.PersistentVolumeClaim; c != nil {
			set[claimRef{ns, c.ClaimName}] = true
		}
	}
}

// fileClaims are the claims of the files and those their pods and Jobs
// mount.
func fileClaims(f *manifest.File) map[claimRef]bool {
	set := map[claimRef]bool{}
	for _, c := range f.Claims {
		set[claimRef{c.Namespace, c.Name}] = true
	}
	for _, p := range f.Pods {
		podClaims(set, p)
	}
	for _, j := range f.Jobs {
		podClaims(set, manifest.JobPod(j, 0, 0))
	}
	return set
}

// ensureClaims makes, at up, the directory of every claim of the files and
// of every claim their pods mount. A claim a pod names that is in none of
// the files is made too, with a note: on a cluster the pod would wait,
// Pending, for a claim someone makes; here the one who could is the user
// running up, so podbox makes an empty one rather than fail.
func ensureClaims(f *manifest.File, errOut io.Writer) error {
	declared := map[claimRef]bool{}
	for _, c := range f.Claims {
		declared[claimRef{c.Namespace, c.Name}] = true
	}
	all := fileClaims(f)
	refs := make([]claimRef, 0, len(all))
	for c := range all {
		refs = append(refs, c)
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].String() < refs[j].String() })
	root := claimsDir()
	for _, c := range refs {
		if err := image.MkdirOwn(image.DataDir(), filepath.Join(root, c.ns)); err != nil {
			return err
		}
		dir, made, err := mounts.EnsureClaim(root, c.ns, c.name)
		if err != nil {
			return err
		}
		if made && !declared[c] {
			sayOnce(errOut, fmt.Sprintf("PersistentVolumeClaim %q is in none of the files: podbox made it, an empty directory (%s) kept until podbox down --volumes", c.name, dir))
		}
	}
	return nil
}

// removeClaims removes the claims' directories (down --volumes), except
// those a pod that is still there mounts; each removed one is a line on
// out.
func removeClaims(claims map[claimRef]bool, out io.Writer) error {
	if len(claims) == 0 {
		return nil
	}
	inUse := map[claimRef]string{}
	names, err := podNames()
	if err != nil {
		return err
	}
	for _, n := range names {
		if st := probePod(n); st.exists && st.spec != nil {
			used := map[claimRef]bool{}
			podClaims(used, st.spec)
			for c := range used {
				inUse[c] = n
			}
		}
	}
	refs := make([]claimRef, 0, len(claims))
	for c := range claims {
		refs = append(refs, c)
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].String() < refs[j].String() })
	var errs []error
	for _, c := range refs {
		if pod, used := inUse[c]; used {
			logrus.Warnf("PersistentVolumeClaim %q kept: pod %q still mounts it (podbox down %s --volumes removes both)", c.name, pod, pod)
			continue
		}
		removed, err := removeClaim(c)
		if err != nil {
			errs = append(errs, fmt.Errorf("removing PersistentVolumeClaim %q: %w", c.name, err))
		} else if removed {
			fmt.Fprintln(out, c)
		}
	}
	return errors.Join(errs...)
}

// allClaims lists every claim of podbox's (down --all --volumes).
func allClaims() (map[claimRef]bool, error) {
	set := map[claimRef]bool{}
	root := claimsDir()
	nss, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return set, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing PersistentVolumeClaims: %w", err)
	}
	for _, ns := range nss {
		ents, err := os.ReadDir(filepath.Join(root, ns.Name()))
		if err != nil {
			continue
		}
		for _, e := range ents {
			if _, err := mounts.ClaimDir(root, ns.Name(), e.Name()); err == nil && e.IsDir() {
				set[claimRef{ns.Name(), e.Name()}] = true
			}
		}
	}
	return set, nil
}

// removeClaim removes one claim's directory, after checking that the
// directories down to it are podbox's own and none is a symbolic link;
// false if it was not there.
func removeClaim(c claimRef) (bool, error) {
	root := claimsDir()
	dir, err := mounts.ClaimDir(root, c.ns, c.name)
	if err != nil {
		return false, err
	}
	for _, d := range []string{root, filepath.Join(root, c.ns)} {
		if err := image.CheckDir(d); err != nil {
			return false, err
		}
	}
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("refusing to remove %s: not a directory", dir)
	}
	return true, os.RemoveAll(dir)
}

package image

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/podbox/podbox/sandbox/userns"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/pkg/shortnames"
	"go.podman.io/storage"
)

// ErrImageInUse reports an image that a pod's container uses.
var ErrImageInUse = errors.New("image is in use")

// InUseError names the containers that use an image.
type InUseError struct {
	Image      string
	Containers []string
}

func (e *InUseError) Error() string {
	return fmt.Sprintf("image %s is in use by container %s", e.Image, strings.Join(e.Containers, ", "))
}

func (e *InUseError) Unwrap() error { return ErrImageInUse }

// Hint says how to remove it anyway.
func (e *InUseError) Hint() string {
	return "stop the pod first (podbox down), or remove the containers too with --force"
}

// RemoveReport says what Remove did.
type RemoveReport struct {
	Untagged []string // names removed from an image that stays (it has others)
	Deleted  string   // the ID of the deleted image, if it was deleted
}

// Remove removes ref from the store. A name of an image that has other names
// is only untagged, as Podman does; an ID, or an image's last name, deletes
// the image and its layers that no other image uses. An image that a
// container in the store uses is refused unless force, which removes those
// containers first.
// On a full disk it uses the store's reserve (see Removing).
func (s *Store) Remove(ref string, force bool) (rep RemoveReport, err error) {
	err = s.Removing(func() error {
		rep, err = s.remove(ref, force)
		return err
	})
	return rep, err
}

func (s *Store) remove(ref string, force bool) (RemoveReport, error) {
	var rep RemoveReport
	simg, err := s.find(ref)
	if err != nil {
		return rep, err
	}
	if name := s.nameMatching(simg, ref); name != "" && len(simg.Names) > 1 {
		if err := s.store.RemoveNames(simg.ID, []string{name}); err != nil {
			if errors.Is(err, storage.ErrImageUnknown) {
				return rep, fmt.Errorf("%w: %s", ErrImageNotFound, ref)
			}
			return rep, fmt.Errorf("untagging %s: %w", name, err)
		}
		rep.Untagged = append(rep.Untagged, name)
		return rep, nil
	}
	ctrs, err := s.containersOf(simg.ID)
	if err != nil {
		return rep, err
	}
	if len(ctrs) > 0 {
		if !force {
			e := &InUseError{Image: ref}
			for _, c := range ctrs {
				e.Containers = append(e.Containers, containerName(c))
			}
			return rep, e
		}
		for _, c := range ctrs {
			if _, err := s.store.Unmount(c.ID, true); err != nil && !errors.Is(err, storage.ErrContainerUnknown) {
				return rep, fmt.Errorf("unmounting container %s: %w", containerName(c), err)
			}
			if err := s.store.DeleteContainer(c.ID); err != nil && !errors.Is(err, storage.ErrContainerUnknown) {
				return rep, fmt.Errorf("removing container %s: %w", containerName(c), err)
			}
		}
	}
	rep.Untagged = simg.Names
	if _, err := s.store.DeleteImage(simg.ID, true); err != nil {
		if errors.Is(err, storage.ErrNotAnImage) || errors.Is(err, storage.ErrImageUnknown) {
			// Removed by another rmi since find.
			return RemoveReport{}, fmt.Errorf("%w: %s", ErrImageNotFound, ref)
		}
		return rep, fmt.Errorf("removing image %.12s: %w", simg.ID, err)
	}
	rep.Deleted = simg.ID
	return rep, nil
}

// nameMatching returns the name of simg that ref (a name, not an ID) means,
// resolving a short name as Lookup does; "" for an ID.
func (s *Store) nameMatching(simg *storage.Image, ref string) string {
	if strings.HasPrefix(simg.ID, strings.TrimPrefix(ref, "sha256:")) {
		return ""
	}
	src, err := parseSource(ref)
	if err != nil {
		return ""
	}
	var cands []reference.Named
	if src.ref != nil {
		if n := src.ref.DockerReference(); n != nil {
			cands = append(cands, n)
		}
	} else if cands, err = shortnames.ResolveLocally(s.systemContext(PullOptions{}, ""), src.docker); err != nil {
		return ""
	}
	for _, c := range cands {
		want := reference.TagNameOnly(c).String()
		if slices.Contains(simg.Names, want) {
			return want
		}
	}
	return ""
}

func (s *Store) containersOf(imageID string) ([]storage.Container, error) {
	all, err := s.store.Containers()
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	var out []storage.Container
	for _, c := range all {
		if c.ImageID == imageID {
			out = append(out, c)
		}
	}
	return out, nil
}

func containerName(c storage.Container) string {
	if len(c.Names) > 0 {
		return c.Names[0]
	}
	return c.ID[:12]
}

// Reset deletes podbox's image store and its runtime state, and, unless
// opts names another store, everything under podbox's data and runtime
// directories (pods' volumes and state too). It must run inside the user namespace: only there can
// the user delete files that layers own as subordinate ids.
func Reset(opts StoreOptions) error {
	if !userns.Inside() {
		return ErrNotInUserNS
	}
	dirs := []string{}
	if opts.Root == "" && opts.RunRoot == "" {
		dirs = append(dirs, DataDir(), RunDir())
	}
	opts = opts.withDefaults()
	dirs = append(dirs, opts.Root, opts.RunRoot)
	var errs []error
	for _, d := range slices.Compact(dirs) {
		if err := removeAll(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeAll is os.RemoveAll after making directories writable: a layer may
// hold a directory without write permission, which even the namespace's
// root can only empty once it may write to it.
func removeAll(dir string) error {
	if err := os.RemoveAll(dir); err == nil {
		return nil
	}
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing %s: %w", dir, err)
	}
	return nil
}

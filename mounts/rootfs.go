package mounts

import (
	"errors"
	"fmt"

	"go.podman.io/storage"
)

// MountRootfs creates the go.podman.io/storage container name on image
// imageID, removing a stale container of that name first (left by a pod
// that died), and mounts it; it returns the rootfs path. metadata is stored
// with the container (podbox marks whose pod it is). It runs inside the
// pod's user and mount namespaces, so the mount is the pod's alone.
func MountRootfs(store storage.Store, name, imageID, metadata string) (string, error) {
	if _, err := store.Container(name); err == nil {
		if err := RemoveRootfs(store, name); err != nil {
			return "", fmt.Errorf("removing stale container %q: %w", name, err)
		}
	}
	c, err := store.CreateContainer("", []string{name}, imageID, "", metadata, nil)
	if err != nil {
		return "", fmt.Errorf("creating rootfs %q from image %s: %w", name, shortID(imageID), err)
	}
	path, err := store.Mount(c.ID, "")
	if err != nil {
		_ = store.DeleteContainer(c.ID)
		return "", fmt.Errorf("mounting rootfs %q: %w", name, err)
	}
	return path, nil
}

// RemoveRootfs unmounts and deletes the storage container name; a container
// that does not exist is not an error.
func RemoveRootfs(store storage.Store, name string) error {
	c, err := store.Container(name)
	if errors.Is(err, storage.ErrContainerUnknown) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("looking up rootfs %q: %w", name, err)
	}
	// force: the mount count may be stale after a crash, or shared with
	// another pod's bookkeeping.
	if _, err := store.Unmount(c.ID, true); err != nil && !errors.Is(err, storage.ErrLayerNotMounted) {
		return fmt.Errorf("unmounting rootfs %q: %w", name, err)
	}
	if err := store.DeleteContainer(c.ID); err != nil && !errors.Is(err, storage.ErrContainerUnknown) {
		return fmt.Errorf("deleting rootfs %q: %w", name, err)
	}
	return nil
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

package pod

import (
	"fmt"
	"os"
	"strings"

	"github.com/podbox/podbox/sandbox/podproto"
)

// receiveRootfs receives each container's root filesystem from the CLI on
// FDMounts (a detached mount per container) and moves it onto
// Container.Rootfs, in the pod's mount namespace; teardown unmounts them.
// Every container must get one.
func (p *podProc) receiveRootfs() error {
	sock := os.NewFile(podproto.FDMounts, "mounts")
	defer sock.Close()
	got := map[string]bool{}
	err := podproto.RecvMounts(sock, func(name string, m *os.File) error {
		defer m.Close()
		c, ok := p.byName[name]
		if !ok || got[name] {
			return fmt.Errorf("receiving the root filesystems: unexpected container %q", name)
		}
		if err := podproto.MoveMountTo(m, c.spec.Rootfs); err != nil {
			return fmt.Errorf("mounting the root filesystem of container %q: %w", name, err)
		}
		got[name] = true
		p.mounts = append(p.mounts, c.spec.Rootfs)
		return nil
	})
	if err != nil {
		return err
	}
	var missing []string
	for _, c := range p.ctrs {
		if !got[c.spec.Name] {
			missing = append(missing, c.spec.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("receiving the root filesystems: none came for %s", strings.Join(missing, ", "))
	}
	return nil
}

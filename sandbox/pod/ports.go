package pod

import (
	"fmt"
	"net"
	"os"

	"github.com/podbox/podbox/slirp/relay"
)

// forwardPorts starts serving the hostPort sockets (builtin driver) from
// inside the pod's network namespace; teardown closes them, and the ports
// are free again.
func (p *podProc) forwardPorts() error {
	if len(p.w.Ports) == 0 {
		return nil
	}
	specs := make([]relay.Spec, len(p.w.Ports))
	files := make([]*os.File, len(p.w.Ports))
	for i, pt := range p.w.Ports {
		specs[i] = relay.Spec{Proto: pt.Proto, ParentIP: pt.ParentIP, ParentPort: pt.ParentPort, ChildPort: pt.ChildPort}
		files[i] = os.NewFile(uintptr(pt.FD), fmt.Sprintf("hostPort %d", pt.ParentPort))
	}
	fw, err := relay.Forward(specs, files)
	if err != nil {
		return err
	}
	p.undo = append(p.undo, fw.Close)
	if path := p.w.SeccompAgent; path != "" {
		// The bypass driver: before any container is created.
		_ = os.Remove(path)
		l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
		if err != nil {
			return fmt.Errorf("listening for the runtime's seccomp notify fds: %w", err)
		}
		go fw.ServeSeccompAgent(l)
		p.undo = append(p.undo, l.Close)
	}
	return nil
}

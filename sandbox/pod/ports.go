package pod

import (
	"fmt"
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
	return nil
}

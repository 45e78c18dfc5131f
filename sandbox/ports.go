package sandbox

import (
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/podbox/podbox/sandbox/podproto"
	"github.com/podbox/podbox/slirp"
	"github.com/rootless-containers/rootlesskit/v3/pkg/port"
	corev1 "k8s.io/api/core/v1"
)

// podPorts are one pod's hostPorts and how they reach it.
type podPorts struct {
	driver string
	specs  []port.Spec
	host   *slirp.HostSockets // builtin: the bound sockets, until handed over
}

// portDriver is the pod's port driver: --port-driver for every pod of the
// run when given, else the pod's podbox.io/port-driver annotation, else
// builtin.
func portDriver(pod *corev1.Pod, flag string) (string, error) {
	if flag != "" {
		if err := slirp.CheckDriver(flag); err != nil {
			return "", fmt.Errorf("--port-driver: %w", err)
		}
		return flag, nil
	}
	d := pod.Annotations[slirp.AnnotationPortDriver]
	if err := slirp.CheckDriver(d); err != nil {
		return "", fmt.Errorf("metadata.annotations[%s]: %w", slirp.AnnotationPortDriver, err)
	}
	if d == "" {
		d = slirp.DriverBuiltin
	}
	return d, nil
}

// podPortSpecs are the pod's hostPorts, init containers' (sidecars) too,
// as rootlesskit port specs.
func podPortSpecs(pod *corev1.Pod) ([]port.Spec, error) {
	var specs []port.Spec
	for _, c := range allContainers(pod) {
		for _, p := range c.Ports {
			if p.HostPort == 0 {
				continue
			}
			s, err := slirp.NewSpec(string(p.Protocol), p.HostIP, int(p.HostPort), int(p.ContainerPort))
			if err != nil {
				return nil, fmt.Errorf("container %q: %w", c.Name, err)
			}
			specs = append(specs, s)
		}
	}
	return specs, nil
}

// bindPorts runs before anything starts. For the builtin driver it binds
// every hostPort in this (the host's) network namespace, so that the pod's
// PID 1 gets the sockets; for slirp4netns it checks the ports are free,
// and slirp4netns binds them later. A port that cannot be bound fails the
// whole up, and nothing stays bound.
func bindPorts(pods []*corev1.Pod, flagDriver string) (map[string]*podPorts, error) {
	if err := slirp.CheckDriver(flagDriver); err != nil {
		return nil, fmt.Errorf("--port-driver: %w", err)
	}
	out := map[string]*podPorts{}
	asked := map[string]string{} // proto/address → the pod that asks for it
	fail := func(err error) (map[string]*podPorts, error) {
		closePorts(out)
		return nil, err
	}
	for _, pod := range pods {
		driver, err := portDriver(pod, flagDriver)
		if err != nil {
			return fail(fmt.Errorf("pod %q: %w", pod.Name, err))
		}
		specs, err := podPortSpecs(pod)
		if err != nil {
			return fail(fmt.Errorf("pod %q: %w", pod.Name, err))
		}
		for _, s := range specs {
			key := s.Proto + "/" + net.JoinHostPort(s.ParentIP, strconv.Itoa(s.ParentPort))
			if other, dup := asked[key]; dup {
				if other == pod.Name {
					return fail(fmt.Errorf("pod %q: hostPort %d: %s is asked for twice", pod.Name, s.ParentPort, key))
				}
				return fail(fmt.Errorf("pod %q: hostPort %d: pod %q of the same file asks for %s too", pod.Name, s.ParentPort, other, key))
			}
			asked[key] = pod.Name
		}
		pp := &podPorts{driver: driver, specs: specs}
		out[pod.Name] = pp
		if len(specs) == 0 {
			continue
		}
		if driver == slirp.DriverSlirp4netns {
			err = slirp.CheckFree(specs)
		} else {
			pp.host, err = slirp.Bind(specs)
		}
		if err != nil {
			return fail(fmt.Errorf("pod %q: %w", pod.Name, err))
		}
	}
	return out, nil
}

func closePorts(m map[string]*podPorts) {
	for _, pp := range m {
		pp.close()
	}
}

// close closes this process's copies of the host sockets (the pod's PID 1
// has its own once it runs).
func (pp *podPorts) close() {
	if pp != nil {
		pp.host.Close()
	}
}

// files are the host sockets for the pod's ExtraFiles, the first of them
// becoming fd first in the pod, and what the pod is told about them.
func (pp *podPorts) files(first int) ([]*os.File, []podproto.Port) {
	if pp == nil || pp.host == nil {
		return nil, nil
	}
	fds := make([]podproto.Port, len(pp.host.Specs))
	for i, s := range pp.host.Specs {
		fds[i] = podproto.Port{Proto: s.Proto, ParentIP: s.ParentIP, ParentPort: s.ParentPort, ChildPort: s.ChildPort, FD: first + i}
	}
	return pp.host.Files, fds
}

// slirpSpecs are the ports slirp4netns forwards itself; nil unless the
// pod's driver is slirp4netns.
func (pp *podPorts) slirpSpecs() []port.Spec {
	if pp == nil || pp.driver != slirp.DriverSlirp4netns {
		return nil
	}
	return pp.specs
}

// slirpAPISocket is where the pod's slirp4netns serves its API, when the
// pod needs it.
func (pp *podPorts) slirpAPISocket(d Dirs) string {
	if len(pp.slirpSpecs()) == 0 {
		return ""
	}
	return d.Run + "/slirp4netns.sock"
}

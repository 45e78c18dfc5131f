package sandbox

import (
	"fmt"
	"io"
	"sort"
	"strconv"

	"github.com/podbox/podbox/sandbox/manifest"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Services (decisions): podbox has no cluster network, so a Service of
// type ClusterIP (the default) or ExternalName, or a headless one, is
// accepted without effect and without a word: the pods reach each other
// as they reach anything, and a ClusterIP has no meaning on one machine.
// A Service of type NodePort or LoadBalancer publishes, on 127.0.0.1, as
// a local cluster's node would: NodePort on its nodePort (on its port
// when nodePort is unset, rather than a random one the user would have to
// look up), LoadBalancer on its port, as local load balancers (k3s's
// servicelb, Docker Desktop) do on localhost. It forwards to the
// targetPort (a number, or a containerPort's name) of one pod of the
// files its selector matches, the first by name: there is no proxy to
// balance between replicas, and up says which pod it chose. The
// forwarding is a hostPort on 127.0.0.1 of that pod, bound with its
// hostPorts (bindPorts): the pod's manifest stays as written.

// servicePorts returns the pods of f, those that a NodePort or
// LoadBalancer Service publishes as copies with the Service's ports
// added as hostPorts on 127.0.0.1, for bindPorts; notes to errOut say what
// each Service publishes, or why nothing.
func servicePorts(f *manifest.File, errOut io.Writer) ([]*corev1.Pod, error) {
	pods := append([]*corev1.Pod(nil), f.Pods...)
	index := map[string]int{}
	for i, p := range pods {
		index[p.Namespace+"/"+p.Name] = i
	}
	for _, svc := range f.Services {
		if !publishes(svc) {
			continue
		}
		what := fmt.Sprintf("Service %q (%s)", svc.Name, svc.Spec.Type)
		target := selectPod(f.Pods, svc)
		if target == nil {
			sayOnce(errOut, what+": no pod of the files matches its selector: nothing published")
			continue
		}
		i := index[target.Namespace+"/"+target.Name]
		if pods[i] == target {
			pods[i] = target.DeepCopy()
		}
		pod := pods[i]
		for j, sp := range svc.Spec.Ports {
			host := sp.Port
			if svc.Spec.Type == corev1.ServiceTypeNodePort && sp.NodePort != 0 {
				host = sp.NodePort
			}
			c, port, err := targetPort(pod, sp)
			if err != nil {
				return nil, fmt.Errorf("%s: spec.ports[%d].targetPort: %w", what, j, err)
			}
			c.Ports = append(c.Ports, corev1.ContainerPort{ContainerPort: port, HostPort: host, HostIP: "127.0.0.1", Protocol: sp.Protocol})
			sayOnce(errOut, fmt.Sprintf("%s publishes 127.0.0.1:%d → pod %q port %d/%s%s", what, host, pod.Name, port, sp.Protocol, balanceNote(f.Pods, svc)))
		}
	}
	return pods, nil
}

// publishes reports whether up publishes svc's ports on 127.0.0.1.
func publishes(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer
}

// selectPod is the first pod by name of svc's namespace that its selector
// matches; nil if none (or no selector: such a Service's endpoints are
// made by hand on a cluster).
func selectPod(pods []*corev1.Pod, svc *corev1.Service) *corev1.Pod {
	matching := matchingPods(pods, svc)
	if len(matching) == 0 {
		return nil
	}
	return matching[0]
}

func matchingPods(pods []*corev1.Pod, svc *corev1.Service) []*corev1.Pod {
	if len(svc.Spec.Selector) == 0 {
		return nil
	}
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	var out []*corev1.Pod
	for _, p := range pods {
		if p.Namespace == svc.Namespace && sel.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func balanceNote(pods []*corev1.Pod, svc *corev1.Service) string {
	if n := len(matchingPods(pods, svc)); n > 1 {
		return fmt.Sprintf(" (%d pods match: podbox does not balance, it forwards to the first)", n)
	}
	return ""
}

// targetPort finds the container and port a Service port forwards to: a
// named targetPort is a containerPort's name (an error if none has it), a
// number the port in the pod's network namespace (on the container that
// declares it, else the first).
func targetPort(pod *corev1.Pod, sp corev1.ServicePort) (*corev1.Container, int32, error) {
	cs := allContainers(pod)
	if sp.TargetPort.Type == intstr.String {
		name := sp.TargetPort.StrVal
		if n, err := strconv.Atoi(name); err == nil {
			return cs[len(pod.Spec.InitContainers)], int32(n), nil
		}
		for _, c := range cs {
			for _, p := range c.Ports {
				if p.Name == name {
					return c, p.ContainerPort, nil
				}
			}
		}
		return nil, 0, fmt.Errorf("%q names no containerPort of pod %q", name, pod.Name)
	}
	n := sp.TargetPort.IntVal
	for _, c := range cs {
		for _, p := range c.Ports {
			if p.ContainerPort == n {
				return c, n, nil
			}
		}
	}
	return cs[len(pod.Spec.InitContainers)], n, nil
}

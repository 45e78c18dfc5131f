package sandbox

import (
	"github.com/podbox/podbox/sandbox/manifest"
	corev1 "k8s.io/api/core/v1"
)

// restartOnChange maps each container that pod p's
// podbox.io/restart-on-change annotation names to the host paths of its
// hostPath volumeMounts, which the pod's PID 1 watches
// (podproto.Container.WatchPaths); nil without the annotation. The
// manifest checked the names at load.
func restartOnChange(p *corev1.Pod) map[string][]string {
	names := manifest.RestartOnChange(p)
	if len(names) == 0 {
		return nil
	}
	out := map[string][]string{}
	for _, n := range names {
		for i := range p.Spec.Containers {
			if c := &p.Spec.Containers[i]; c.Name == n {
				out[n] = manifest.HostPathMounts(p, c)
			}
		}
	}
	return out
}

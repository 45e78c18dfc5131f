package manifest

import (
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// AnnotationRestartOnChange names the app containers that podbox restarts
// when a file under their hostPath volumes changes: "web", or "web,worker"
// (comma-separated, spaces around a name allowed). See the package doc.
const AnnotationRestartOnChange = "podbox.io/restart-on-change"

// RestartOnChange returns the containers pod p's AnnotationRestartOnChange
// names, each once, in its order; nil when it has none.
func RestartOnChange(p *corev1.Pod) []string {
	v, ok := p.Annotations[AnnotationRestartOnChange]
	if !ok {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, n := range strings.Split(v, ",") {
		n = strings.TrimSpace(n)
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// HostPathMounts returns the host paths of container c's hostPath
// volumeMounts in pod p (with their subPath), as they are mounted.
func HostPathMounts(p *corev1.Pod, c *corev1.Container) []string {
	hp := map[string]string{}
	for _, v := range p.Spec.Volumes {
		if v.HostPath != nil {
			hp[v.Name] = v.HostPath.Path
		}
	}
	var out []string
	for _, m := range c.VolumeMounts {
		path, ok := hp[m.Name]
		if !ok {
			continue
		}
		if m.SubPath != "" {
			path = filepath.Join(path, m.SubPath)
		}
		out = append(out, filepath.Clean(path))
	}
	return out
}

// restartOnChange checks AnnotationRestartOnChange: every name is one of
// the pod's app containers, and one that mounts a hostPath volume.
func (v *validator) restartOnChange(p *corev1.Pod) {
	if _, ok := p.Annotations[AnnotationRestartOnChange]; !ok {
		return
	}
	field := "metadata.annotations[" + AnnotationRestartOnChange + "]"
	apps := map[string]*corev1.Container{}
	var names []string
	for i := range p.Spec.Containers {
		c := &p.Spec.Containers[i]
		apps[c.Name] = c
		names = append(names, c.Name)
	}
	inits := map[string]bool{}
	for _, c := range p.Spec.InitContainers {
		inits[c.Name] = true
	}
	for _, n := range RestartOnChange(p) {
		c := apps[n]
		switch {
		case n == "":
			v.fail(field, "must be a comma-separated list of container names, got %q", p.Annotations[AnnotationRestartOnChange])
		case inits[n]:
			v.fail(field, "%q is an init container: only containers in spec.containers restart on change", n)
		case c == nil:
			v.fail(field, "no container %q in the pod (its containers: %s)", n, strings.Join(names, ", "))
		case len(HostPathMounts(p, c)) == 0:
			v.fail(field, "container %q mounts no hostPath volume: nothing to watch; mount the source directory with a hostPath volume", n)
		}
	}
}

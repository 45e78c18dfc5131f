package manifest

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// checkRefs checks, for every pod, what its env, envFrom and volumes take
// from ConfigMaps and Secrets, against those of all the files (same
// namespace), as the kubelet does when it starts a container or sets up a
// volume: a missing object or key that is not optional is an error here,
// where the kubelet would report CreateContainerConfigError or
// FailedMount. The words are the same for env and volumes. The pods are
// left as written: the values are read when the pod is prepared (package
// image for env, package mounts for volumes), so that `get pod` shows the
// references, and no secret value is copied into the pod.
func (f *File) checkRefs() error {
	type podV struct {
		p *corev1.Pod
		v *validator
	}
	var pods []podV
	for _, p := range f.Pods {
		pods = append(pods, podV{p, f.validator(p)})
	}
	for _, j := range f.Jobs {
		s := f.src[j]
		pods = append(pods, podV{JobPod(j, 0, 0), &validator{file: s.file, lines: s.lines, prefix: s.prefix}})
	}
	for _, c := range f.CronJobs {
		s := f.src[c]
		pods = append(pods, podV{JobPod(jobOfCronJob(c), 0, 0), &validator{file: s.file, lines: s.lines, prefix: s.prefix}})
	}
	for _, pv := range pods {
		p, v := pv.p, pv.v
		r := refChecker{f: f, v: v, ns: p.Namespace}
		for i, vol := range p.Spec.Volumes {
			r.volume(fmt.Sprintf("spec.volumes[%d]", i), &vol.VolumeSource)
		}
		for _, list := range []struct {
			field string
			cs    []corev1.Container
		}{{"spec.initContainers", p.Spec.InitContainers}, {"spec.containers", p.Spec.Containers}} {
			for i := range list.cs {
				r.container(fmt.Sprintf("%s[%d]", list.field, i), &list.cs[i])
			}
		}
		if v.err != nil {
			return v.err
		}
	}
	return nil
}

type refChecker struct {
	f  *File
	v  *validator
	ns string
}

// configMap checks a reference to ConfigMap name and its keys; field is
// where the name is, keyField(i) where key i is.
func (r refChecker) configMap(field, name string, optional *bool, keys []string, keyField func(int) string) {
	cm := r.f.ConfigMap(r.ns, name)
	if cm == nil {
		if !isTrue(optional) {
			r.v.fail(field, "%s", r.f.notFound("ConfigMap", name))
		}
		return
	}
	for i, k := range keys {
		_, ok := cm.Data[k]
		if _, bin := cm.BinaryData[k]; !ok && !bin && !isTrue(optional) {
			r.v.fail(keyField(i), "%s", keyNotFound(k, "ConfigMap", name))
		}
	}
}

func (r refChecker) secret(field, name string, optional *bool, keys []string, keyField func(int) string) {
	s := r.f.Secret(r.ns, name)
	if s == nil {
		if !isTrue(optional) {
			r.v.fail(field, "%s", r.f.notFound("Secret", name))
		}
		return
	}
	data := SecretData(s)
	for i, k := range keys {
		if _, ok := data[k]; !ok && !isTrue(optional) {
			r.v.fail(keyField(i), "%s", keyNotFound(k, "Secret", name))
		}
	}
}

// notFound is the message for a missing ConfigMap or Secret, for env and
// volumes alike.
func (f *File) notFound(kind, name string) string {
	return fmt.Sprintf("%s %q not found in %s (give its file with another -f, or mark the reference optional: true)", kind, name, f.Path)
}

func keyNotFound(key, kind, name string) string {
	return fmt.Sprintf("key %q not found in %s %q", key, kind, name)
}

func itemKeys(items []corev1.KeyToPath) []string {
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = it.Key
	}
	return keys
}

func (r refChecker) volume(f string, s *corev1.VolumeSource) {
	items := func(field string) func(int) string {
		return func(i int) string { return fmt.Sprintf("%s.items[%d].key", field, i) }
	}
	if cm := s.ConfigMap; cm != nil {
		r.configMap(f+".configMap.name", cm.Name, cm.Optional, itemKeys(cm.Items), items(f+".configMap"))
	}
	if sec := s.Secret; sec != nil {
		r.secret(f+".secret.secretName", sec.SecretName, sec.Optional, itemKeys(sec.Items), items(f+".secret"))
	}
	if pr := s.Projected; pr != nil {
		for i, src := range pr.Sources {
			sf := fmt.Sprintf("%s.projected.sources[%d]", f, i)
			if cm := src.ConfigMap; cm != nil {
				r.configMap(sf+".configMap.name", cm.Name, cm.Optional, itemKeys(cm.Items), items(sf+".configMap"))
			}
			if sec := src.Secret; sec != nil {
				r.secret(sf+".secret.name", sec.Name, sec.Optional, itemKeys(sec.Items), items(sf+".secret"))
			}
		}
	}
}

func (r refChecker) container(field string, c *corev1.Container) {
	for i, src := range c.EnvFrom {
		ef := fmt.Sprintf("%s.envFrom[%d]", field, i)
		var keys []string
		switch {
		case src.ConfigMapRef != nil:
			r.configMap(ef+".configMapRef.name", src.ConfigMapRef.Name, src.ConfigMapRef.Optional, nil, nil)
			if cm := r.f.ConfigMap(r.ns, src.ConfigMapRef.Name); cm != nil {
				keys = sortedKeys(cm.Data)
			}
		case src.SecretRef != nil:
			r.secret(ef+".secretRef.name", src.SecretRef.Name, src.SecretRef.Optional, nil, nil)
			if s := r.f.Secret(r.ns, src.SecretRef.Name); s != nil {
				for k := range SecretData(s) {
					keys = append(keys, k)
				}
				sort.Strings(keys)
			}
		}
		// The kubelet skips them with an InvalidEnvironmentVariableNames
		// event; podbox says so at once.
		var bad []string
		for _, k := range keys {
			if len(validation.IsEnvVarName(src.Prefix+k)) > 0 {
				bad = append(bad, src.Prefix+k)
			}
		}
		if len(bad) > 0 {
			r.f.warn(fmt.Sprintf("%s:%d: %s%s: keys %s skipped: they are not valid environment variable names", r.v.file, r.v.line(ef), r.v.prefix, ef, strings.Join(bad, ", ")))
		}
	}
	for i, e := range c.Env {
		if e.ValueFrom == nil {
			continue
		}
		vf := fmt.Sprintf("%s.env[%d].valueFrom", field, i)

		if ref := e.ValueFrom.ConfigMapKeyRef; ref != nil {
			// A missing key is reported at the reference, as a missing object.
			r.configMap(vf+".configMapKeyRef.name", ref.Name, ref.Optional, []string{ref.Key}, func(int) string { return vf + ".configMapKeyRef.key" })
		}
		if ref := e.ValueFrom.SecretKeyRef; ref != nil {
			r.secret(vf+".secretKeyRef.name", ref.Name, ref.Optional, []string{ref.Key}, func(int) string { return vf + ".secretKeyRef.key" })
		}

	}
}

// ConfigMap is the ConfigMap name of namespace ns in the files, nil if
// there is none; of two with the same name, the last, as `kubectl apply`
// leaves it.
func (f *File) ConfigMap(ns, name string) *corev1.ConfigMap {
	for i := len(f.ConfigMaps) - 1; i >= 0; i-- {
		if cm := f.ConfigMaps[i]; cm.Name == name && namespaceOf(cm.Namespace) == namespaceOf(ns) {
			return cm
		}
	}
	return nil
}

// Secret is the Secret name of namespace ns in the files, nil if there is
// none; of two, the last.
func (f *File) Secret(ns, name string) *corev1.Secret {
	for i := len(f.Secrets) - 1; i >= 0; i-- {
		if s := f.Secrets[i]; s.Name == name && namespaceOf(s.Namespace) == namespaceOf(ns) {
			return s
		}
	}
	return nil
}

// SecretData is a Secret's data with stringData over it, as the API server
// merges them when the Secret is written.
func SecretData(s *corev1.Secret) map[string][]byte {
	m := make(map[string][]byte, len(s.Data)+len(s.StringData))
	for k, v := range s.Data {
		m[k] = v
	}
	for k, v := range s.StringData {
		m[k] = []byte(v)
	}
	return m
}

func namespaceOf(ns string) string {
	if ns == "" {
		return DefaultNamespace
	}
	return ns
}

func isTrue(b *bool) bool { return b != nil && *b }

// warn adds a warning once: the replicas of a workload would repeat it.
func (f *File) warn(w string) {
	for _, x := range f.Warnings {
		if x == w {
			return
		}
	}
	f.Warnings = append(f.Warnings, w)
}

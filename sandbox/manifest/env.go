package manifest

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// resolveEnv replaces, in every container of every pod, envFrom and
// env[].valueFrom.configMapKeyRef/secretKeyRef with plain values from the
// ConfigMaps and Secrets of the same file (same namespace), as the kubelet
// does when it starts a container: envFrom first, in order, then env over
// it. A missing ConfigMap, Secret or key that is not optional is an error
// here, where the kubelet would report CreateContainerConfigError.
// valueFrom.fieldRef is left for image.ProcessFor; the other valueFrom
// sources (resourceFieldRef, fileKeyRef) are warned about and dropped.
func (f *File) resolveEnv() error {
	for _, p := range f.Pods {
		v := &validator{file: f.Path, lines: f.lines[p]}
		for _, list := range []struct {
			field string
			cs    []corev1.Container
		}{{"spec.initContainers", p.Spec.InitContainers}, {"spec.containers", p.Spec.Containers}} {
			for i := range list.cs {
				f.containerEnv(v, p.Namespace, fmt.Sprintf("%s[%d]", list.field, i), &list.cs[i])
			}
		}
		if v.err != nil {
			return v.err
		}
	}
	return nil
}

func (f *File) containerEnv(v *validator, ns, field string, c *corev1.Container) {
	if len(c.EnvFrom) == 0 && !hasRefs(c.Env) {
		return
	}
	var env []corev1.EnvVar
	set := func(name, value string) {
		for i := range env {
			if env[i].Name == name {
				env[i].Value = value
				return
			}
		}
		env = append(env, corev1.EnvVar{Name: name, Value: value})
	}
	for i, src := range c.EnvFrom {
		ef := fmt.Sprintf("%s.envFrom[%d]", field, i)
		var data map[string]string
		switch {
		case src.ConfigMapRef != nil:
			cm := f.configMap(ns, src.ConfigMapRef.Name)
			if cm == nil {
				if !isTrue(src.ConfigMapRef.Optional) {
					v.fail(ef+".configMapRef.name", "ConfigMap %q not found in %s", src.ConfigMapRef.Name, f.Path)
				}
				continue
			}
			data = cm.Data
		case src.SecretRef != nil:
			s := f.secret(ns, src.SecretRef.Name)
			if s == nil {
				if !isTrue(src.SecretRef.Optional) {
					v.fail(ef+".secretRef.name", "Secret %q not found in %s", src.SecretRef.Name, f.Path)
				}
				continue
			}
			data = secretData(s)
		}
		for _, k := range sortedKeys(data) {
			name := src.Prefix + k
			if len(validation.IsEnvVarName(name)) > 0 {
				continue // the kubelet skips invalid names too
			}
			set(name, data[k])
		}
	}
	for i, e := range c.Env {
		vf := fmt.Sprintf("%s.env[%d].valueFrom", field, i)
		switch {
		case e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			cm := f.configMap(ns, ref.Name)
			val, ok := "", false
			if cm != nil {
				val, ok = cm.Data[ref.Key]
			}
			if !ok {
				if !isTrue(ref.Optional) {
					v.fail(vf+".configMapKeyRef", "key %q of ConfigMap %q not found in %s", ref.Key, ref.Name, f.Path)
				}
				continue
			}
			set(e.Name, val)
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			s := f.secret(ns, ref.Name)
			val, ok := "", false
			if s != nil {
				val, ok = secretData(s)[ref.Key]
			}
			if !ok {
				if !isTrue(ref.Optional) {
					v.fail(vf+".secretKeyRef", "key %q of Secret %q not found in %s", ref.Key, ref.Name, f.Path)
				}
				continue
			}
			set(e.Name, val)
		case e.ValueFrom != nil && e.ValueFrom.FieldRef == nil:
			// resourceFieldRef, fileKeyRef: warned about, ignored.
			continue
		default:
			// value or fieldRef: keep as is, after what came before.
			kept := false
			for j := range env {
				if env[j].Name == e.Name {
					env[j] = e
					kept = true
				}
			}
			if !kept {
				env = append(env, e)
			}
		}
	}
	c.EnvFrom = nil
	c.Env = env
}

func hasRefs(env []corev1.EnvVar) bool {
	for _, e := range env {
		if e.ValueFrom != nil && e.ValueFrom.FieldRef == nil {
			return true
		}
	}
	return false
}

func (f *File) configMap(ns, name string) *corev1.ConfigMap {
	for _, cm := range f.ConfigMaps {
		if cm.Name == name && namespaceOf(cm.Namespace) == ns {
			return cm
		}
	}
	return nil
}

func (f *File) secret(ns, name string) *corev1.Secret {
	for _, s := range f.Secrets {
		if s.Name == name && namespaceOf(s.Namespace) == ns {
			return s
		}
	}
	return nil
}

// secretData is data with stringData over it, as the API server merges them.
func secretData(s *corev1.Secret) map[string]string {
	m := make(map[string]string, len(s.Data)+len(s.StringData))
	for k, v := range s.Data {
		m[k] = string(v)
	}
	for k, v := range s.StringData {
		m[k] = v
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

package manifest

import (
	"fmt"
	"net"
	"path"
	"reflect"
	"sort"
	"strings"

	"github.com/podbox/podbox/sandbox/downward"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Defaults the API server fills that podbox relies on.
const (
	DefaultNamespace                     = "default"
	DefaultTerminationGracePeriodSeconds = int64(30)
)

func setPodDefaults(p *corev1.Pod) {
	if p.Namespace == "" {
		p.Namespace = DefaultNamespace
	}
	if p.Spec.RestartPolicy == "" {
		p.Spec.RestartPolicy = corev1.RestartPolicyAlways
	}
	if p.Spec.TerminationGracePeriodSeconds == nil {
		g := DefaultTerminationGracePeriodSeconds
		p.Spec.TerminationGracePeriodSeconds = &g
	}
	for _, cs := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for i := range cs {
			c := &cs[i]
			if c.ImagePullPolicy == "" {
				c.ImagePullPolicy = DefaultPullPolicy(c.Image)
			}
			for j := range c.Ports {
				if c.Ports[j].Protocol == "" {
					c.Ports[j].Protocol = corev1.ProtocolTCP
				}
			}
		}
	}
}

// DefaultPullPolicy is Kubernetes' default imagePullPolicy for image:
// Always for the tag latest or no tag (and no digest), else IfNotPresent.
func DefaultPullPolicy(image string) corev1.PullPolicy {
	if strings.Contains(image, "@") {
		return corev1.PullIfNotPresent
	}
	last := image[strings.LastIndex(image, "/")+1:]
	if _, tag, ok := strings.Cut(last, ":"); !ok || tag == "latest" {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

// validate checks every pod of the file, and with refs what they take from
// ConfigMaps and Secrets; the first problem wins.
func (f *File) validate(refs bool) error {
	seen := map[string]bool{}
	warned := map[string]bool{} // a workload's replicas share their template's lines
	for _, p := range f.Pods {
		v := f.validator(p)
		v.pod(p)
		for _, w := range v.warnings {
			if !warned[w] {
				warned[w] = true
				f.Warnings = append(f.Warnings, w)
			}
		}
		key := p.Namespace + "/" + p.Name
		if v.err == nil && seen[key] {
			v.prefix = "" // the name comes from the workload's
			v.fail("metadata.name", "pod %q is defined twice", p.Name)
		}
		seen[key] = true
		if v.err != nil {
			return v.err
		}
	}
	// A Job's template is checked as the pod it makes.
	for _, j := range f.Jobs {
		if err := f.checkJobPod(j, f.src[j]); err != nil {
			return err
		}
	}
	for _, c := range f.CronJobs {
		if err := f.checkJobPod(jobOfCronJob(c), f.src[c]); err != nil {
			return err
		}
	}
	if !refs {
		return nil
	}
	return f.checkRefs()
}

func (f *File) checkJobPod(j *batchv1.Job, src source) error {
	v := &validator{file: src.file, lines: src.lines, prefix: src.prefix}
	v.pod(JobPod(j, 0, 0))
	if v.err != nil {
		return v.err
	}
	return nil
}

// validator is the validator of pod p's fields, with its file and lines.
func (f *File) validator(p *corev1.Pod) *validator {
	return &validator{file: f.files[p], lines: f.lines[p], prefix: f.prefix[p]}
}

type validator struct {
	file     string
	lines    map[string]int
	prefix   string // a workload's pod: the path of its template plus "." ("spec.template.")
	err      *Error
	warnings []string // "pod.yaml:12: spec.hostUsers: …"
}

// warn records a warning at field path.
func (v *validator) warn(field, format string, args ...any) {
	v.warnings = append(v.warnings, fmt.Sprintf("%s:%d: %s: %s", v.file, v.line(field), v.prefix+field, fmt.Sprintf(format, args...)))
}

// fail records the first error at field path; its line is the field's, or
// its nearest parent's.
func (v *validator) fail(field, format string, args ...any) {
	if v.err != nil {
		return
	}
	v.err = &Error{File: v.file, Line: v.line(field), Field: v.prefix + field, Msg: fmt.Sprintf(format, args...)}
}

// line is the line of field (relative to the prefix), or of its nearest
// parent.
func (v *validator) line(field string) int {
	for p := v.prefix + field; p != ""; {
		if l, ok := v.lines[p]; ok {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return v.lines[""] // the document's first line
}

func (v *validator) pod(p *corev1.Pod) {
	switch {
	case p.Name == "" && p.GenerateName != "":
		v.fail("metadata.generateName", "not supported: give the pod a metadata.name")
	case p.Name == "":
		v.fail("metadata.name", "required")
	case v.prefix != "" && len(validation.IsDNS1123Subdomain(p.Name)) > 0:
		// A workload's pod: its name comes from the workload's.
		prefix := v.prefix
		v.prefix = ""
		v.fail("metadata.name", "the pod name %q made from it is not a valid name (at most 253 characters): shorten the name", p.Name)
		v.prefix = prefix
	default:
		v.dns("metadata.name", p.Name, true)
	}
	v.dns("metadata.namespace", p.Namespace, false)

	s := &p.Spec
	switch s.RestartPolicy {
	case corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever:
	default:
		v.fail("spec.restartPolicy", "must be Always, OnFailure or Never, got %q", s.RestartPolicy)
	}
	if g := s.TerminationGracePeriodSeconds; g != nil && *g < 0 {
		v.fail("spec.terminationGracePeriodSeconds", "must be 0 or more, got %d", *g)
	}

	vols := map[string]bool{}
	for i, vol := range s.Volumes {
		v.volume(fmt.Sprintf("spec.volumes[%d]", i), &vol, vols)
	}

	if len(s.Containers) == 0 {
		v.fail("spec.containers", "required: a pod needs at least one container")
	}
	names := map[string]bool{}
	hostPorts := map[string]string{}
	for i := range s.InitContainers {
		f := fmt.Sprintf("spec.initContainers[%d]", i)
		v.container(f, &s.InitContainers[i], names, vols, hostPorts)
		// Kubernetes 1.28+: Always makes a sidecar; no other value is allowed.
		if rp := s.InitContainers[i].RestartPolicy; rp != nil && *rp != corev1.ContainerRestartPolicyAlways {
			v.fail(f+".restartPolicy", "only Always (a sidecar) is allowed, got %q", *rp)
		}
		// As the API server: probes and hooks only on sidecars.
		if ic := &s.InitContainers[i]; ic.RestartPolicy == nil {
			for _, x := range []struct {
				name string
				set  bool
			}{{"livenessProbe", ic.LivenessProbe != nil}, {"readinessProbe", ic.ReadinessProbe != nil},
				{"startupProbe", ic.StartupProbe != nil}, {"lifecycle", ic.Lifecycle != nil}} {
				if x.set {
					v.fail(f+"."+x.name, "may not be set for init containers without restartPolicy: Always")
				}
			}
		}
	}
	for i := range s.Containers {
		f := fmt.Sprintf("spec.containers[%d]", i)
		v.container(f, &s.Containers[i], names, vols, hostPorts)
		if s.Containers[i].RestartPolicy != nil {
			v.fail(f+".restartPolicy", "may be set on init containers only (sidecars); use spec.restartPolicy")
		}
	}
	for i := range s.Volumes {
		v.downwardVolume(fmt.Sprintf("spec.volumes[%d]", i), &s.Volumes[i].VolumeSource, names)
	}
	for _, list := range []struct {
		field string
		cs    []corev1.Container
	}{{"spec.initContainers", s.InitContainers}, {"spec.containers", s.Containers}} {
		for i := range list.cs {
			v.envRefs(fmt.Sprintf("%s[%d]", list.field, i), &list.cs[i], names)
		}
	}

	for i, a := range s.HostAliases {
		f := fmt.Sprintf("spec.hostAliases[%d]", i)
		if net.ParseIP(a.IP) == nil {
			v.fail(f+".ip", "must be an IP address, got %q", a.IP)
		}
		for j, h := range a.Hostnames {
			v.dns(fmt.Sprintf("%s.hostnames[%d]", f, j), h, true)
		}
	}
	v.podNetwork(p)
	v.podSecurity(p)
	v.restartOnChange(p)
}

func (v *validator) volume(f string, vol *corev1.Volume, vols map[string]bool) {
	v.dns(f+".name", vol.Name, false)
	if vols[vol.Name] {
		v.fail(f+".name", "volume %q is defined twice", vol.Name)
	}
	vols[vol.Name] = true
	if n := countSources(&vol.VolumeSource); n > 1 {
		v.fail(f, "may have only one volume type, has %d", n)
	}
	if e := vol.EmptyDir; e != nil {
		switch e.Medium {
		case corev1.StorageMediumDefault, corev1.StorageMediumMemory:
		default:
			v.fail(f+".emptyDir.medium", "must be \"\" or Memory, got %q", e.Medium)
		}
		if e.SizeLimit != nil && e.SizeLimit.Sign() < 0 {
			v.fail(f+".emptyDir.sizeLimit", "must not be negative")
		}
	}
	if cm := vol.ConfigMap; cm != nil {
		v.mode(f+".configMap.defaultMode", cm.DefaultMode)
		v.items(f+".configMap.items", cm.Items)
	}
	if sec := vol.Secret; sec != nil {
		v.mode(f+".secret.defaultMode", sec.DefaultMode)
		v.items(f+".secret.items", sec.Items)
	}
	if d := vol.DownwardAPI; d != nil {
		v.mode(f+".downwardAPI.defaultMode", d.DefaultMode)
		paths := map[string]bool{}
		for i, it := range d.Items {
			v.itemPath(fmt.Sprintf("%s.downwardAPI.items[%d]", f, i), it.Path, it.Mode, paths)
		}
	}
	if pr := vol.Projected; pr != nil {
		v.mode(f+".projected.defaultMode", pr.DefaultMode)
		paths := map[string]bool{}
		for i, src := range pr.Sources {
			sf := fmt.Sprintf("%s.projected.sources[%d]", f, i)
			n := 0
			if src.ConfigMap != nil {
				n++
				for j, it := range src.ConfigMap.Items {
					v.itemPath(fmt.Sprintf("%s.configMap.items[%d]", sf, j), it.Path, it.Mode, paths)
				}
			}
			if src.Secret != nil {
				n++
				for j, it := range src.Secret.Items {
					v.itemPath(fmt.Sprintf("%s.secret.items[%d]", sf, j), it.Path, it.Mode, paths)
				}
			}
			if src.DownwardAPI != nil {
				n++
				for j, it := range src.DownwardAPI.Items {
					v.itemPath(fmt.Sprintf("%s.downwardAPI.items[%d]", sf, j), it.Path, it.Mode, paths)
				}
			}
			if t := src.ServiceAccountToken; t != nil {
				n++
				v.itemPath(sf+".serviceAccountToken", t.Path, nil, paths)
			}
			if t := src.ClusterTrustBundle; t != nil {
				n++
				v.itemPath(sf+".clusterTrustBundle", t.Path, nil, paths)
			}
			if src.PodCertificate != nil {
				n++
			}
			if n != 1 {
				v.fail(sf, "must have exactly one source (configMap, secret, downwardAPI, serviceAccountToken or clusterTrustBundle), has %d", n)
			}
		}
	}
	if c := vol.PersistentVolumeClaim; c != nil {
		v.dns(f+".persistentVolumeClaim.claimName", c.ClaimName, true)
	}
	if h := vol.HostPath; h != nil {
		if !path.IsAbs(h.Path) {
			v.fail(f+".hostPath.path", "must be an absolute path, got %q", h.Path)
		}
		if h.Type != nil {
			switch *h.Type {
			case corev1.HostPathUnset, corev1.HostPathDirectoryOrCreate, corev1.HostPathDirectory,
				corev1.HostPathFileOrCreate, corev1.HostPathFile, corev1.HostPathSocket,
				corev1.HostPathCharDev, corev1.HostPathBlockDev:
			default:
				v.fail(f+".hostPath.type", "must be one of Directory, DirectoryOrCreate, File, FileOrCreate, Socket, CharDevice, BlockDevice, got %q", *h.Type)
			}
		}
	}
}

// mode checks a file mode of a volume: 0 to 0777, as the API server.
func (v *validator) mode(field string, m *int32) {
	if m != nil && (*m < 0 || *m > 0o777) {
		v.fail(field, "must be a number between 0 and 0777 (octal), both inclusive, got %#o", *m)
	}
}

// items checks the key → path items of a configMap or secret volume.
func (v *validator) items(field string, items []corev1.KeyToPath) {
	paths := map[string]bool{}
	for i, it := range items {
		f := fmt.Sprintf("%s[%d]", field, i)
		if it.Key == "" {
			v.fail(f+".key", "required")
		}
		v.itemPath(f, it.Path, it.Mode, paths)
	}
}

// itemPath checks the path and mode of a file of a volume (item field f):
// relative, without '..' and not starting with '..', at most once in the
// volume, as the API server's validateLocalDescendingPath.
func (v *validator) itemPath(f, p string, m *int32, paths map[string]bool) {
	v.mode(f+".mode", m)
	switch {
	case p == "":
		v.fail(f+".path", "required")
	case path.IsAbs(p):
		v.fail(f+".path", "must be a relative path, got %q", p)
	case strings.HasPrefix(p, ".."):
		v.fail(f+".path", "must not start with '..', got %q", p)
	default:
		for _, part := range strings.Split(p, "/") {
			if part == ".." {
				v.fail(f+".path", "must not contain '..', got %q", p)
			}
		}
	}
	if paths[path.Clean(p)] {
		v.fail(f+".path", "%q is used twice in the volume", p)
	}
	paths[path.Clean(p)] = true
}

// downwardVolume checks the items of downwardAPI volumes and projected
// sources: the fieldRef paths a volume may use, the resources and the
// container they name.
func (v *validator) downwardVolume(f string, s *corev1.VolumeSource, ctrs map[string]bool) {
	check := func(field string, items []corev1.DownwardAPIVolumeFile) {
		for i, it := range items {
			itf := fmt.Sprintf("%s.items[%d]", field, i)
			switch {
			case it.FieldRef != nil && it.ResourceFieldRef != nil:
				v.fail(itf, "fieldRef and resourceFieldRef may not both be set")
			case it.FieldRef != nil:
				if !downward.Allowed(downward.VolumeFieldPaths, it.FieldRef.FieldPath) {
					v.fail(itf+".fieldRef.fieldPath", "%q is not supported in a volume: use one of %s", it.FieldRef.FieldPath, strings.Join(downward.VolumeFieldPaths, ", "))
				}
			case it.ResourceFieldRef != nil:
				v.resource(itf+".resourceFieldRef", it.ResourceFieldRef, ctrs, true)
			default:
				v.fail(itf, "one of fieldRef or resourceFieldRef is required")
			}
		}
	}
	if d := s.DownwardAPI; d != nil {
		check(f+".downwardAPI", d.Items)
	}
	if pr := s.Projected; pr != nil {
		for i, src := range pr.Sources {
			if src.DownwardAPI != nil {
				check(fmt.Sprintf("%s.projected.sources[%d].downwardAPI", f, i), src.DownwardAPI.Items)
			}
		}
	}
}

// resource checks a resourceFieldRef; a volume's must name its container.
func (v *validator) resource(f string, r *corev1.ResourceFieldSelector, ctrs map[string]bool, needContainer bool) {
	if !contains(downward.Resources, r.Resource) {
		v.fail(f+".resource", "%q is not supported: use one of %s", r.Resource, strings.Join(downward.Resources, ", "))
	}
	switch {
	case r.ContainerName == "" && needContainer:
		v.fail(f+".containerName", "required in a volume")
	case r.ContainerName != "" && !ctrs[r.ContainerName]:
		v.fail(f+".containerName", "no container named %q in the pod", r.ContainerName)
	}
	if r.Divisor.Sign() < 0 {
		v.fail(f+".divisor", "must not be negative")
	}
}

// envRefs checks a container's env fieldRef and resourceFieldRef.
func (v *validator) envRefs(f string, c *corev1.Container, ctrs map[string]bool) {
	for i, e := range c.Env {
		if e.ValueFrom == nil {
			continue
		}
		vf := fmt.Sprintf("%s.env[%d].valueFrom", f, i)
		if r := e.ValueFrom.FieldRef; r != nil {
			if r.APIVersion != "" && r.APIVersion != "v1" {
				v.fail(vf+".fieldRef.apiVersion", "must be v1, got %q", r.APIVersion)
			}
			if !downward.Allowed(downward.EnvFieldPaths, r.FieldPath) {
				v.fail(vf+".fieldRef.fieldPath", "%q is not supported: use one of %s", r.FieldPath, strings.Join(downward.EnvFieldPaths, ", "))
			}
		}
		if r := e.ValueFrom.ResourceFieldRef; r != nil {
			v.resource(vf+".resourceFieldRef", r, ctrs, false)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// countSources counts the volume types set in s.
func countSources(s *corev1.VolumeSource) int {
	n := 0
	rv := reflect.ValueOf(s).Elem()
	for i := 0; i < rv.NumField(); i++ {
		if !rv.Field(i).IsNil() {
			n++
		}
	}
	return n
}

func (v *validator) container(f string, c *corev1.Container, names, vols map[string]bool, hostPorts map[string]string) {
	v.dns(f+".name", c.Name, false)
	if c.Name != "" && names[c.Name] {
		v.fail(f+".name", "container %q is defined twice in the pod", c.Name)
	}
	names[c.Name] = true
	if strings.TrimSpace(c.Image) == "" {
		v.fail(f+".image", "required")
	}
	switch c.ImagePullPolicy {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		v.fail(f+".imagePullPolicy", "must be Always, IfNotPresent or Never, got %q", c.ImagePullPolicy)
	}
	for i, e := range c.Env {
		if e.Name == "" {
			v.fail(fmt.Sprintf("%s.env[%d].name", f, i), "required")
		}
	}
	v.probes(f, c)
	if sc := c.SecurityContext; sc != nil && sc.Privileged != nil && *sc.Privileged {
		v.fail(f+".securityContext.privileged", "not possible rootless: podbox cannot give a container the host's devices or capabilities; remove it, or add only the capabilities the container needs (securityContext.capabilities.add)")
	}
	for i, p := range c.Ports {
		pf := fmt.Sprintf("%s.ports[%d]", f, i)
		if p.ContainerPort < 1 || p.ContainerPort > 65535 {
			v.fail(pf+".containerPort", "must be 1-65535, got %d", p.ContainerPort)
		}
		if p.HostPort != 0 && (p.HostPort < 1 || p.HostPort > 65535) {
			v.fail(pf+".hostPort", "must be 1-65535, got %d", p.HostPort)
		}
		switch p.Protocol {
		case corev1.ProtocolTCP, corev1.ProtocolUDP:
		case corev1.ProtocolSCTP:
			v.fail(pf+".protocol", "SCTP is not supported by podbox: use TCP or UDP")
		default:
			v.fail(pf+".protocol", "must be TCP, UDP or SCTP, got %q", p.Protocol)
		}
		if p.HostIP != "" && net.ParseIP(p.HostIP) == nil {
			v.fail(pf+".hostIP", "must be an IP address, got %q", p.HostIP)
		}
		if p.HostPort != 0 {
			key := fmt.Sprintf("%s/%d/%s", p.HostIP, p.HostPort, p.Protocol)
			if other, dup := hostPorts[key]; dup {
				v.fail(pf+".hostPort", "%d/%s is already used by %s", p.HostPort, p.Protocol, other)
			}
			hostPorts[key] = pf
		}
	}
	paths := map[string]bool{}
	for i, m := range c.VolumeMounts {
		mf := fmt.Sprintf("%s.volumeMounts[%d]", f, i)
		if !vols[m.Name] {
			v.fail(mf+".name", "no volume named %q in spec.volumes", m.Name)
		}
		if !path.IsAbs(m.MountPath) {
			v.fail(mf+".mountPath", "must be an absolute path, got %q", m.MountPath)
		}
		if paths[path.Clean(m.MountPath)] {
			v.fail(mf+".mountPath", "%q is mounted twice", m.MountPath)
		}
		paths[path.Clean(m.MountPath)] = true
		if sp := m.SubPath; sp != "" {
			if path.IsAbs(sp) || sp == ".." || strings.HasPrefix(sp, "../") || strings.Contains(sp, "/../") || strings.HasSuffix(sp, "/..") {
				v.fail(mf+".subPath", "must be a relative path without '..', got %q", sp)
			}
		}
		if mp := m.MountPropagation; mp != nil {
			switch *mp {
			case corev1.MountPropagationNone, corev1.MountPropagationHostToContainer, corev1.MountPropagationBidirectional:
			default:
				v.fail(mf+".mountPropagation", "must be None, HostToContainer or Bidirectional, got %q", *mp)
			}
		}
	}
}

// dns checks a name: an RFC 1123 subdomain (pod names, host names) or
// label (the rest).
func (v *validator) dns(field, value string, subdomain bool) {
	check, what := validation.IsDNS1123Label, "at most 63 lowercase letters, digits or '-'"
	if subdomain {
		check, what = validation.IsDNS1123Subdomain, "at most 253 lowercase letters, digits, '-' or '.'"
	}
	if value == "" {
		v.fail(field, "required")
		return
	}
	if errs := check(value); len(errs) > 0 {
		v.fail(field, "invalid name %q: must be %s, starting and ending with a letter or digit (RFC 1123)", value, what)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// probes checks the container's probes and lifecycle hooks as the API
// server does, and that a named port is one of the container's: the
// kubelet would only fail such a probe forever.
func (v *validator) probes(f string, c *corev1.Container) {
	port := func(pf string, p intstr.IntOrString) {
		if p.Type == intstr.Int {
			if p.IntVal < 1 || p.IntVal > 65535 {
				v.fail(pf, "must be 1-65535, got %d", p.IntVal)
			}
			return
		}
		for _, cp := range c.Ports {
			if cp.Name == p.StrVal {
				return
			}
		}
		v.fail(pf, "%q names no port of the container: add it to ports, or give the number", p.StrVal)
	}
	handler := func(hf string, ex *corev1.ExecAction, hg *corev1.HTTPGetAction, ts *corev1.TCPSocketAction, g *corev1.GRPCAction, sl *corev1.SleepAction) {
		n := 0
		if ex != nil {
			n++
			if len(ex.Command) == 0 {
				v.fail(hf+".exec.command", "required")
			}
		}
		if hg != nil {
			n++
			port(hf+".httpGet.port", hg.Port)
			if sc := strings.ToUpper(string(hg.Scheme)); sc != "" && sc != "HTTP" && sc != "HTTPS" {
				v.fail(hf+".httpGet.scheme", "must be HTTP or HTTPS, got %q", hg.Scheme)
			}
		}
		if ts != nil {
			n++
			port(hf+".tcpSocket.port", ts.Port)
		}
		if g != nil {
			n++
			if g.Port < 1 || g.Port > 65535 {
				v.fail(hf+".grpc.port", "must be 1-65535, got %d", g.Port)
			}
		}
		if sl != nil {
			n++
		}
		if n != 1 {
			v.fail(hf, "must have exactly one handler, has %d", n)
		}
	}
	for _, pr := range []struct {
		name string
		p    *corev1.Probe
	}{{"livenessProbe", c.LivenessProbe}, {"readinessProbe", c.ReadinessProbe}, {"startupProbe", c.StartupProbe}} {
		if pr.p == nil {
			continue
		}
		h := pr.p.ProbeHandler
		handler(f+"."+pr.name, h.Exec, h.HTTPGet, h.TCPSocket, h.GRPC, nil)
		if pr.name != "readinessProbe" && pr.p.SuccessThreshold > 1 {
			v.fail(f+"."+pr.name+".successThreshold", "must be 1, got %d", pr.p.SuccessThreshold)
		}
	}
	if l := c.Lifecycle; l != nil {
		for _, h := range []struct {
			name string
			h    *corev1.LifecycleHandler
		}{{"postStart", l.PostStart}, {"preStop", l.PreStop}} {
			if h.h != nil {
				handler(f+".lifecycle."+h.name, h.h.Exec, h.h.HTTPGet, h.h.TCPSocket, nil, h.h.Sleep)
			}
		}
	}
}

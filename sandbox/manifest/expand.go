package manifest

import (
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
)

// The labels and annotations the controllers put on their pods.
const (
	LabelPodTemplateHash   = "pod-template-hash"                        // Deployment → ReplicaSet
	LabelRevisionHash      = "controller-revision-hash"                 // StatefulSet, DaemonSet
	LabelStatefulSetPod    = "statefulset.kubernetes.io/pod-name"       // StatefulSet
	LabelPodIndex          = "apps.kubernetes.io/pod-index"             // StatefulSet
	LabelTemplateGen       = "pod-template-generation"                  // DaemonSet
	LabelJobName           = "batch.kubernetes.io/job-name"             // Job
	LabelJobNameLegacy     = "job-name"                                 // Job
	LabelControllerUID     = "batch.kubernetes.io/controller-uid"       // Job
	LabelControllerUIDOld  = "controller-uid"                           // Job
	LabelJobCompletionIdx  = "batch.kubernetes.io/job-completion-index" // Indexed Job: label and annotation
	EnvJobCompletionIndex  = "JOB_COMPLETION_INDEX"                     // Indexed Job: in every container
	defaultJobBackoffLimit = int32(6)
)

// idAlphabet is the controllers' alphabet for generated names
// (k8s.io/apimachinery/pkg/util/rand): no vowels, no 0, 1, 3.
const idAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// source is where a workload came from, for messages about its template.
type source struct {
	file   string
	lines  map[string]int
	prefix string // path of the pod template plus "."
}

// addWorkload checks a workload and adds its pods to f (Jobs and CronJobs
// are kept as they are; their pods are made by JobPod).
func (f *File) addWorkload(obj any, lines map[string]int) error {
	v := &validator{file: f.Path, lines: lines}
	switch o := obj.(type) {
	case *appsv1.Deployment:
		f.expandDeployment(v, o)
	case *appsv1.ReplicaSet:
		f.expandReplicaSet(v, o)
	case *appsv1.StatefulSet:
		f.expandStatefulSet(v, o)
	case *appsv1.DaemonSet:
		f.expandDaemonSet(v, o)
	case *batchv1.Job:
		v.meta(&o.ObjectMeta, true)
		v.job(&o.Spec, "spec.")
		if v.err == nil {
			f.Jobs = append(f.Jobs, o)
			f.src[o] = source{file: f.Path, lines: lines, prefix: "spec.template."}
		}
	case *batchv1.CronJob:
		v.meta(&o.ObjectMeta, true)
		if strings.TrimSpace(o.Spec.Schedule) == "" {
			v.fail("spec.schedule", "required")
		}
		setCronJobDefaults(o)
		v.job(&o.Spec.JobTemplate.Spec, "spec.jobTemplate.spec.")
		if v.err == nil {
			f.CronJobs = append(f.CronJobs, o)
			f.src[o] = source{file: f.Path, lines: lines, prefix: "spec.jobTemplate.spec.template."}
		}
	case *corev1.Service:
		v.meta(&o.ObjectMeta, false)
		v.service(o)
		if v.err == nil {
			f.Services = append(f.Services, o)
		}
	case *corev1.PersistentVolumeClaim:
		v.meta(&o.ObjectMeta, true)
		v.claim("", &o.Spec)
		if v.err == nil {
			f.Claims = append(f.Claims, o)
		}
	}
	if v.err != nil {
		return v.err
	}
	return nil
}

// meta checks a workload's name and fills its namespace.
func (v *validator) meta(m *metav1.ObjectMeta, subdomain bool) {
	if m.Name == "" && m.GenerateName != "" {
		v.fail("metadata.generateName", "not supported: give it a metadata.name (podbox names the pods from it)")
	}
	v.dns("metadata.name", m.Name, subdomain)
	if m.Namespace == "" {
		m.Namespace = DefaultNamespace
	}
	v.dns("metadata.namespace", m.Namespace, false)
}

// replicas is spec.replicas with the API server's default 1.
func (v *validator) replicas(r *int32) int {
	if r == nil {
		return 1
	}
	if *r < 0 {
		v.fail("spec.replicas", "must be 0 or more, got %d", *r)
		return 0
	}
	return int(*r)
}

// selector checks an apps/v1 selector against the template's labels as
// the API server does (ValidateDeploymentSpec and its siblings).
func (v *validator) selector(field string, sel *metav1.LabelSelector, tmplField string, tmplLabels map[string]string) {
	if sel == nil {
		v.fail(field, "required: the labels that select the pods, e.g. matchLabels: {app: web}, and the same labels in %s.metadata.labels", tmplField)
		return
	}
	if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
		v.fail(field, "empty selector is invalid: it would select every pod")
		return
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		v.fail(field, "invalid selector: %v", err)
		return
	}
	if !s.Matches(labels.Set(tmplLabels)) {
		v.fail(tmplField+".metadata.labels", "`selector` does not match template `labels`: the labels must satisfy %s (%s)", field, s)
	}
}

// restartAlways checks the template of a Deployment, ReplicaSet,
// StatefulSet or DaemonSet: their pods run for ever.
func (v *validator) restartAlways(kind string, t *corev1.PodTemplateSpec) {
	if rp := t.Spec.RestartPolicy; rp != "" && rp != corev1.RestartPolicyAlways {
		v.fail("spec.template.spec.restartPolicy", "%q is not allowed for a %s: only Always (a Job runs pods that end)", rp, kind)
	}
	if t.Spec.ActiveDeadlineSeconds != nil {
		v.fail("spec.template.spec.activeDeadlineSeconds", "not allowed for a %s: its pods run for ever", kind)
	}
}

// hostPorts refuses a template with a hostPort run as several pods: there
// is one machine, so one of them would find the port taken.
func (v *validator) hostPorts(kind, name string, replicas int, t *corev1.PodTemplateSpec) {
	if replicas < 2 {
		return
	}
	for _, list := range []struct {
		field string
		cs    []corev1.Container
	}{{"spec.template.spec.initContainers", t.Spec.InitContainers}, {"spec.template.spec.containers", t.Spec.Containers}} {
		for i, c := range list.cs {
			for j, p := range c.Ports {
				if p.HostPort != 0 {
					v.fail(fmt.Sprintf("%s[%d].ports[%d].hostPort", list.field, i, j),
						"%s %q has %d replicas but hostPort %d: podbox runs them all on this machine, where only one pod can have port %d; use replicas: 1, or remove hostPort and reach each pod another way (podbox port-forward, or a Service of type NodePort)",
						kind, name, replicas, p.HostPort, p.HostPort)
					return
				}
			}
		}
	}
}

func (f *File) expandDeployment(v *validator, d *appsv1.Deployment) {
	v.meta(&d.ObjectMeta, true)
	n := v.replicas(d.Spec.Replicas)
	v.selector("spec.selector", d.Spec.Selector, "spec.template", d.Spec.Template.Labels)
	v.restartAlways("Deployment", &d.Spec.Template)
	v.hostPorts("Deployment", d.Name, n, &d.Spec.Template)
	if v.err != nil {
		return
	}
	f.workloads++
	// The controller makes a ReplicaSet <name>-<hash>, which makes the
	// pods: they belong to it, as kubectl describe shows.
	hash := TemplateHash(&d.Spec.Template)
	rs := d.Name + "-" + hash
	owner := ownerRef("apps/v1", "ReplicaSet", d.Namespace, rs)
	for _, name := range podNames(rs, n) {
		p := podFromTemplate(&d.Spec.Template, d.Namespace, name, owner, map[string]string{LabelPodTemplateHash: hash})
		f.addPod(p, v, "spec.template.")
	}
}

func (f *File) expandReplicaSet(v *validator, r *appsv1.ReplicaSet) {
	v.meta(&r.ObjectMeta, true)
	n := v.replicas(r.Spec.Replicas)
	v.selector("spec.selector", r.Spec.Selector, "spec.template", r.Spec.Template.Labels)
	v.restartAlways("ReplicaSet", &r.Spec.Template)
	v.hostPorts("ReplicaSet", r.Name, n, &r.Spec.Template)
	if v.err != nil {
		return
	}
	f.workloads++
	owner := ownerRef("apps/v1", "ReplicaSet", r.Namespace, r.Name)
	for _, name := range podNames(r.Name, n) {
		f.addPod(podFromTemplate(&r.Spec.Template, r.Namespace, name, owner, nil), v, "spec.template.")
	}
}

func (f *File) expandDaemonSet(v *validator, d *appsv1.DaemonSet) {
	v.meta(&d.ObjectMeta, true)
	v.selector("spec.selector", d.Spec.Selector, "spec.template", d.Spec.Template.Labels)
	v.restartAlways("DaemonSet", &d.Spec.Template)
	if v.err != nil {
		return
	}
	f.workloads++
	// One node, one pod.
	owner := ownerRef("apps/v1", "DaemonSet", d.Namespace, d.Name)
	extra := map[string]string{LabelRevisionHash: TemplateHash(&d.Spec.Template), LabelTemplateGen: "1"}
	f.addPod(podFromTemplate(&d.Spec.Template, d.Namespace, podNames(d.Name, 1)[0], owner, extra), v, "spec.template.")
}

func (f *File) expandStatefulSet(v *validator, s *appsv1.StatefulSet) {
	// The pods' host names are their names: a DNS label.
	v.meta(&s.ObjectMeta, false)
	n := v.replicas(s.Spec.Replicas)
	v.selector("spec.selector", s.Spec.Selector, "spec.template", s.Spec.Template.Labels)
	v.restartAlways("StatefulSet", &s.Spec.Template)
	v.hostPorts("StatefulSet", s.Name, n, &s.Spec.Template)
	start := 0
	if o := s.Spec.Ordinals; o != nil {
		if o.Start < 0 {
			v.fail("spec.ordinals.start", "must be 0 or more, got %d", o.Start)
		}
		start = int(o.Start)
	}
	if s.Spec.ServiceName != "" {
		v.dns("spec.serviceName", s.Spec.ServiceName, false)
	}
	tmpls := map[string]bool{}
	for i := range s.Spec.VolumeClaimTemplates {
		c := &s.Spec.VolumeClaimTemplates[i]
		cf := fmt.Sprintf("spec.volumeClaimTemplates[%d]", i)
		v.dns(cf+".metadata.name", c.Name, false)
		if tmpls[c.Name] {
			v.fail(cf+".metadata.name", "claim template %q is defined twice", c.Name)
		}
		tmpls[c.Name] = true
		v.claim(cf+".", &c.Spec)
	}
	if v.err != nil {
		return
	}
	f.workloads++
	hash := TemplateHash(&s.Spec.Template)
	owner := ownerRef("apps/v1", "StatefulSet", s.Namespace, s.Name)
	for i := start; i < start+n; i++ {
		name := s.Name + "-" + strconv.Itoa(i)
		p := podFromTemplate(&s.Spec.Template, s.Namespace, name, owner, map[string]string{
			LabelRevisionHash:   s.Name + "-" + hash,
			LabelStatefulSetPod: name,
			LabelPodIndex:       strconv.Itoa(i),
		})
		p.Spec.Hostname = name
		p.Spec.Subdomain = s.Spec.ServiceName
		// As the controller: each claim template gives the pod its own
		// claim <template>-<pod>, in place of a volume of the same name.
		for _, t := range s.Spec.VolumeClaimTemplates {
			claim := t.DeepCopy()
			claim.Name = t.Name + "-" + name
			claim.Namespace = s.Namespace
			claim.Labels = maps.Clone(claim.Labels)
			if s.Spec.Selector != nil && len(s.Spec.Selector.MatchLabels) > 0 {
				if claim.Labels == nil {
					claim.Labels = map[string]string{}
				}
				maps.Copy(claim.Labels, s.Spec.Selector.MatchLabels)
			}
			setClaimDefaults(claim)
			f.Claims = append(f.Claims, claim)
			vol := corev1.Volume{Name: t.Name, VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim.Name}}}
			replaced := false
			for j := range p.Spec.Volumes {
				if p.Spec.Volumes[j].Name == t.Name {
					p.Spec.Volumes[j], replaced = vol, true
				}
			}
			if !replaced {
				p.Spec.Volumes = append(p.Spec.Volumes, vol)
			}
		}
		f.addPod(p, v, "spec.template.")
	}
}

// addPod adds a pod made from the template of a workload.
func (f *File) addPod(p *corev1.Pod, v *validator, prefix string) {
	f.Pods = append(f.Pods, p)
	f.lines[p] = v.lines
	f.files[p] = v.file
	f.prefix[p] = prefix
}

// podFromTemplate is the pod a controller makes from template t.
func podFromTemplate(t *corev1.PodTemplateSpec, ns, name string, owner metav1.OwnerReference, extra map[string]string) *corev1.Pod {
	p := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}}
	t.ObjectMeta.DeepCopyInto(&p.ObjectMeta)
	t.Spec.DeepCopyInto(&p.Spec)
	p.Name, p.GenerateName, p.Namespace = name, "", ns
	if len(extra) > 0 {
		if p.Labels == nil {
			p.Labels = map[string]string{}
		}
		maps.Copy(p.Labels, extra)
	}
	p.OwnerReferences = []metav1.OwnerReference{owner}
	setPodDefaults(p)
	return p
}

// ownerRef is a controller's reference; the UID is derived from the
// owner's identity, so that the same file gives the same pods.
func ownerRef(apiVersion, kind, ns, name string) metav1.OwnerReference {
	t := true
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: name, UID: uid(ns, kind, name),
		Controller: &t, BlockOwnerDeletion: &t}
}

// uid is a name-based UUID (version 5 layout) of parts.
func uid(parts ...string) types.UID {
	h := sha1.Sum([]byte("podbox/" + strings.Join(parts, "/")))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return types.UID(fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16]))
}

// TemplateHash is the hash of a pod template, in the shape of the
// Deployment controller's pod-template-hash: an FNV-32a hash written in
// decimal, then in the controllers' alphabet (at most 10 characters). The
// controller hashes its own dump of the Go value; podbox hashes the
// template's JSON, which is as stable for one file.
func TemplateHash(t *corev1.PodTemplateSpec) string {
	js, _ := json.Marshal(t) // a decoded template always marshals
	h := fnv.New32a()
	h.Write(js)
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

// podID is a 5-character id in the controllers' alphabet, derived from parts.
func podID(parts ...string) string {
	h := fnv.New64a()
	h.Write([]byte(strings.Join(parts, "/")))
	n := h.Sum64()
	b := make([]byte, 5)
	for i := range b {
		b[i] = idAlphabet[n%uint64(len(idAlphabet))]
		n /= uint64(len(idAlphabet))
	}
	return string(b)
}

// podNames are the names of n pods of a ReplicaSet-like owner base:
// base-<id>, distinct, the same for the same base and n.
func podNames(base string, n int) []string {
	names := make([]string, 0, n)
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		name := base + "-" + podID(base, strconv.Itoa(i))
		for salt := 1; seen[name]; salt++ {
			name = base + "-" + podID(base, strconv.Itoa(i), strconv.Itoa(salt))
		}
		seen[name] = true
		names = append(names, name)
	}
	return names
}

// job checks a JobSpec (at field prefix p: "spec." or
// "spec.jobTemplate.spec.") and fills the API server's defaults.
func (v *validator) job(s *batchv1.JobSpec, p string) {
	tf := p + "template"
	switch rp := s.Template.Spec.RestartPolicy; rp {
	case corev1.RestartPolicyNever, corev1.RestartPolicyOnFailure:
	case "":
		v.fail(tf+".spec.restartPolicy", "required for a Job: Never or OnFailure")
	default:
		v.fail(tf+".spec.restartPolicy", "%q is not allowed for a Job: Never or OnFailure", rp)
	}
	for _, c := range []struct {
		field string
		n     *int32
	}{{"parallelism", s.Parallelism}, {"completions", s.Completions}, {"backoffLimit", s.BackoffLimit}} {
		if c.n != nil && *c.n < 0 {
			v.fail(p+c.field, "must be 0 or more, got %d", *c.n)
		}
	}
	if s.ActiveDeadlineSeconds != nil && *s.ActiveDeadlineSeconds <= 0 {
		v.fail(p+"activeDeadlineSeconds", "must be greater than 0, got %d", *s.ActiveDeadlineSeconds)
	}
	if s.CompletionMode == nil {
		m := batchv1.NonIndexedCompletion
		s.CompletionMode = &m
	}
	switch *s.CompletionMode {
	case batchv1.NonIndexedCompletion:
	case batchv1.IndexedCompletion:
		if s.Completions == nil {
			v.fail(p+"completions", "required when completionMode is Indexed")
		}
	default:
		v.fail(p+"completionMode", "must be NonIndexed or Indexed, got %q", *s.CompletionMode)
	}
	if s.ManualSelector != nil && *s.ManualSelector {
		v.selector(p+"selector", s.Selector, tf, s.Template.Labels)
	} else if s.Selector != nil {
		v.fail(p+"selector", "set by the API server: remove it, or set %smanualSelector: true", p)
	}
	// The API server's defaults (SetDefaults_Job).
	one := int32(1)
	if s.Completions == nil && s.Parallelism == nil {
		s.Completions = &one
	}
	if s.Parallelism == nil {
		s.Parallelism = &one
	}
	if s.BackoffLimit == nil {
		b := defaultJobBackoffLimit
		s.BackoffLimit = &b
	}
}

func setCronJobDefaults(c *batchv1.CronJob) {
	if c.Spec.ConcurrencyPolicy == "" {
		c.Spec.ConcurrencyPolicy = batchv1.AllowConcurrent
	}
	if c.Spec.Suspend == nil {
		f := false
		c.Spec.Suspend = &f
	}
	if c.Spec.SuccessfulJobsHistoryLimit == nil {
		n := int32(3)
		c.Spec.SuccessfulJobsHistoryLimit = &n
	}
	if c.Spec.FailedJobsHistoryLimit == nil {
		n := int32(1)
		c.Spec.FailedJobsHistoryLimit = &n
	}
}

// JobPod is pod index of Job job, its attempt-th try (0 the first), as the
// Job controller makes it: named job-<id> (Indexed: job-<index>-<id>),
// the id derived from (job, index, attempt) so that the same file gives
// the same names; owned by the Job, with its labels, and for an Indexed
// Job the completion index as label, annotation, host name and
// JOB_COMPLETION_INDEX. The job must come from Load (defaults filled).
func JobPod(job *batchv1.Job, index, attempt int) *corev1.Pod {
	ns := namespaceOf(job.Namespace)
	owner := ownerRef("batch/v1", "Job", ns, job.Name)
	extra := map[string]string{
		LabelJobName: job.Name, LabelJobNameLegacy: job.Name,
		LabelControllerUID: string(owner.UID), LabelControllerUIDOld: string(owner.UID),
	}
	indexed := job.Spec.CompletionMode != nil && *job.Spec.CompletionMode == batchv1.IndexedCompletion
	id := podID(job.Name, strconv.Itoa(index), strconv.Itoa(attempt))
	name := job.Name + "-" + id
	if indexed {
		extra[LabelJobCompletionIdx] = strconv.Itoa(index)
		name = fmt.Sprintf("%s-%d-%s", job.Name, index, id)
	}
	p := podFromTemplate(&job.Spec.Template, ns, name, owner, extra)
	if indexed {
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		p.Annotations[LabelJobCompletionIdx] = strconv.Itoa(index)
		if p.Spec.Hostname == "" {
			p.Spec.Hostname = fmt.Sprintf("%s-%d", job.Name, index)
		}
		env := corev1.EnvVar{Name: EnvJobCompletionIndex, ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.annotations['" + LabelJobCompletionIdx + "']"}}}
		for _, cs := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
			for i := range cs {
				cs[i].Env = append(cs[i].Env, env)
			}
		}
	}
	return p
}

// jobOfCronJob is the Job a CronJob would create (for checking its template).
func jobOfCronJob(c *batchv1.CronJob) *batchv1.Job {
	j := &batchv1.Job{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"}}
	c.Spec.JobTemplate.ObjectMeta.DeepCopyInto(&j.ObjectMeta)
	c.Spec.JobTemplate.Spec.DeepCopyInto(&j.Spec)
	j.Name, j.Namespace = c.Name, c.Namespace
	return j
}

// service checks a Service as far as podbox uses it, and fills the API
// server's defaults.
func (v *validator) service(s *corev1.Service) {
	if s.Spec.Type == "" {
		s.Spec.Type = corev1.ServiceTypeClusterIP
	}
	switch s.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeExternalName:
	default:
		v.fail("spec.type", "must be ClusterIP, NodePort, LoadBalancer or ExternalName, got %q", s.Spec.Type)
	}
	for i := range s.Spec.Ports {
		p := &s.Spec.Ports[i]
		pf := fmt.Sprintf("spec.ports[%d]", i)
		if p.Protocol == "" {
			p.Protocol = corev1.ProtocolTCP
		}
		if p.Port < 1 || p.Port > 65535 {
			v.fail(pf+".port", "must be 1-65535, got %d", p.Port)
		}
		if p.NodePort != 0 && (p.NodePort < 1 || p.NodePort > 65535) {
			v.fail(pf+".nodePort", "must be 1-65535, got %d", p.NodePort)
		}
		if p.TargetPort.IntVal == 0 && p.TargetPort.StrVal == "" {
			p.TargetPort.IntVal = p.Port
		}
	}
}

// claim checks a PersistentVolumeClaim's spec (at field prefix p) as the
// API server requires it, and what a directory can give.
func (v *validator) claim(p string, s *corev1.PersistentVolumeClaimSpec) {
	if len(s.AccessModes) == 0 {
		v.fail(p+"spec.accessModes", "at least 1 access mode is required, e.g. [ReadWriteOnce]")
	}
	for i, m := range s.AccessModes {
		switch m {
		case corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOncePod:
		default:
			v.fail(fmt.Sprintf("%sspec.accessModes[%d]", p, i), "must be ReadWriteOnce, ReadOnlyMany, ReadWriteMany or ReadWriteOncePod, got %q", m)
		}
	}
	if q, ok := s.Resources.Requests[corev1.ResourceStorage]; !ok || q.Sign() <= 0 {
		v.fail(p+"spec.resources.requests.storage", "required: the claim's size, e.g. 1Gi")
	}
	if s.VolumeMode != nil && *s.VolumeMode == corev1.PersistentVolumeBlock {
		v.fail(p+"spec.volumeMode", "Block is not possible: podbox's claims are directories (Filesystem)")
	}
}

func setClaimDefaults(c *corev1.PersistentVolumeClaim) {
	if c.Spec.VolumeMode == nil {
		m := corev1.PersistentVolumeFilesystem
		c.Spec.VolumeMode = &m
	}
}

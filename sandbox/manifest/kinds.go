package manifest

import (
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// kindInfo describes a kind podbox reads besides Pod, ConfigMap and
// Secret: its apiVersion, and for a workload the path of its pod template
// and what podbox does with its own fields.
type kindInfo struct {
	apiVersion string
	new        func() any
	// podPrefix is the field path of the pod template plus ".", below which
	// the Pod's list (supported.go) applies; "": no template, and no
	// field warnings (Service, PersistentVolumeClaim).
	podPrefix string
	fields    map[string]kindField // the kind's own fields, as patterns
}

// kindField is what podbox does with a field of a workload kind.
type kindField struct {
	level level
	msg   string // unsupported: the warning, when the default one says too little
}

var (
	honoured = kindField{level: supportedAll}
	ignored  = kindField{}
	// Rollouts have no meaning when `up` replaces the pods: say so.
	noRollout = kindField{msg: "ignored: up replaces all the pods at once (as strategy Recreate)"}
)

// Kinds by name. Fields accepted without effect (revisionHistoryLimit,
// progressDeadlineSeconds: there is no rollout history nor progress to
// report) are listed as supportedAll, and said so in the package doc.
var kinds = map[string]*kindInfo{
	"Deployment": {apiVersion: "apps/v1", new: func() any { return &appsv1.Deployment{} }, podPrefix: "spec.template.",
		fields: withMeta(map[string]kindField{
			"spec.replicas": honoured, "spec.selector": honoured,
			"spec.strategy": noRollout, "spec.minReadySeconds": ignored, "spec.paused": ignored,
			"spec.revisionHistoryLimit": honoured, "spec.progressDeadlineSeconds": honoured,
		})},
	"ReplicaSet": {apiVersion: "apps/v1", new: func() any { return &appsv1.ReplicaSet{} }, podPrefix: "spec.template.",
		fields: withMeta(map[string]kindField{
			"spec.replicas": honoured, "spec.selector": honoured, "spec.minReadySeconds": ignored,
		})},
	"StatefulSet": {apiVersion: "apps/v1", new: func() any { return &appsv1.StatefulSet{} }, podPrefix: "spec.template.",
		fields: withMeta(map[string]kindField{
			"spec.replicas": honoured, "spec.selector": honoured, "spec.serviceName": honoured,
			"spec.volumeClaimTemplates": honoured, "spec.ordinals": honoured, "spec.revisionHistoryLimit": honoured,
			"spec.updateStrategy":                       noRollout,
			"spec.podManagementPolicy":                  {msg: "ignored: podbox starts the pods together (as Parallel)"},
			"spec.persistentVolumeClaimRetentionPolicy": {msg: "ignored: the claims are kept until `podbox down --volumes` (as Retain)"},
			"spec.minReadySeconds":                      ignored,
		})},
	"DaemonSet": {apiVersion: "apps/v1", new: func() any { return &appsv1.DaemonSet{} }, podPrefix: "spec.template.",
		fields: withMeta(map[string]kindField{
			"spec.selector": honoured, "spec.updateStrategy": noRollout, "spec.minReadySeconds": ignored,
			"spec.revisionHistoryLimit": honoured,
		})},
	"Job": {apiVersion: "batch/v1", new: func() any { return &batchv1.Job{} }, podPrefix: "spec.template.",
		fields: withMeta(jobFields("spec."))},
	"CronJob": {apiVersion: "batch/v1", new: func() any { return &batchv1.CronJob{} }, podPrefix: "spec.jobTemplate.spec.template.",
		fields: withMeta(cronJobFields())},
	"Service":               {apiVersion: "v1", new: func() any { return &corev1.Service{} }},
	"PersistentVolumeClaim": {apiVersion: "v1", new: func() any { return &corev1.PersistentVolumeClaim{} }},
}

// jobFields are the fields of a JobSpec that podbox's Job controller
// honours, under prefix.
func jobFields(prefix string) map[string]kindField {
	m := map[string]kindField{}
	for _, f := range []string{"completions", "parallelism", "backoffLimit", "activeDeadlineSeconds",
		"completionMode", "selector", "manualSelector"} {
		m[prefix+f] = honoured
	}
	return m
}

func cronJobFields() map[string]kindField {
	m := jobFields("spec.jobTemplate.spec.")
	m["spec.jobTemplate.metadata"] = honoured
	for _, f := range []string{"schedule", "timeZone"} {
		m["spec."+f] = honoured
	}
	return m
}

func withMeta(m map[string]kindField) map[string]kindField {
	for _, f := range []string{"apiVersion", "kind", "metadata"} {
		m[f] = honoured
	}
	return m
}

// kindNames lists the kinds podbox reads, for messages.
const kindNames = "Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, Service, PersistentVolumeClaim, ConfigMap and Secret"

// support is what podbox does with the field at pattern of the document
// being walked.
func (w *walker) support(pattern string) level {
	k := w.kind
	if k == nil {
		return support(pattern)
	}
	if rest, ok := strings.CutPrefix(pattern, k.podPrefix); ok {
		return support(rest)
	}
	if strings.HasPrefix(k.podPrefix, pattern+".") {
		return supportedSome // spec, spec.template, spec.jobTemplate …
	}
	return k.fields[pattern].level
}

func (w *walker) unsupportedMsg(pattern string) string {
	k := w.kind
	if k == nil {
		return unsupportedMsg(pattern)
	}
	if rest, ok := strings.CutPrefix(pattern, k.podPrefix); ok {
		return unsupportedMsg(rest)
	}
	if m := k.fields[pattern].msg; m != "" {
		return m
	}
	return unsupportedMsg(pattern)
}

package sandbox

import (
	"encoding/json"
	"os"
	"strings"

	"github.com/podbox/podbox/sandbox/manifest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// filePods adds to names the pods `up -f` made of f: its Pods and its
// workloads' pods by their names (deterministic, package manifest), and
// every pod whose recorded manifest names one of the file's workloads or
// Jobs as its controller: as `kubectl delete -f` deletes a Deployment with
// all its ReplicaSets' pods, down -f takes the pods an earlier version of
// the file made (another template, so another pod-template-hash; more
// replicas), and a Job's pods, whose names depend on their attempts.
func filePods(f *manifest.File, names []string) ([]string, error) {
	seen := map[string]bool{}
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	for _, n := range names {
		seen[n] = true
	}
	for _, p := range f.Pods {
		add(p.Name)
	}
	owners := fileOwners(f)
	if len(owners) == 0 && len(f.CronJobs) == 0 {
		return names, nil
	}
	all, err := podNames()
	if err != nil {
		return nil, err
	}
	for _, n := range all {
		if spec := recordedPod(n); spec != nil && ownedByFile(f, owners, spec) {
			add(n)
		}
	}
	return names, nil
}

// ownerKey is a workload: kind, namespace, name.
type ownerKey struct{ kind, ns, name string }

// workloadOf is the workload that made pod, from its controller: a
// ReplicaSet <deployment>-<pod-template-hash> stands for its Deployment.
func workloadOf(pod *corev1.Pod) (ownerKey, bool) {
	c := metav1.GetControllerOf(pod)
	if c == nil {
		return ownerKey{}, false
	}
	ns := pod.Namespace
	if ns == "" {
		ns = manifest.DefaultNamespace
	}
	if h := pod.Labels[manifest.LabelPodTemplateHash]; c.Kind == "ReplicaSet" && h != "" {
		if d, ok := strings.CutSuffix(c.Name, "-"+h); ok {
			return ownerKey{"Deployment", ns, d}, true
		}
	}
	return ownerKey{c.Kind, ns, c.Name}, true
}

// fileOwners are the workloads and Jobs of f.
func fileOwners(f *manifest.File) map[ownerKey]bool {
	set := map[ownerKey]bool{}
	for _, p := range f.Pods {
		if k, ok := workloadOf(p); ok {
			set[k] = true
		}
	}
	for _, j := range f.Jobs {
		set[ownerKey{"Job", j.Namespace, j.Name}] = true
	}
	for _, c := range f.CronJobs {
		set[ownerKey{"CronJob", c.Namespace, c.Name}] = true
	}
	return set
}

// ownedByFile reports whether pod belongs to one of f's workloads (owners,
// from fileOwners), or to a Job of one of its CronJobs: named
// <cronjob>-<digits>, as the CronJob controller names them.
func ownedByFile(f *manifest.File, owners map[ownerKey]bool, pod *corev1.Pod) bool {
	k, ok := workloadOf(pod)
	if !ok {
		return false
	}
	if owners[k] {
		return true
	}
	if k.kind == "Job" {
		for _, c := range f.CronJobs {
			if rest, ok := strings.CutPrefix(k.name, c.Name+"-"); ok && c.Namespace == k.ns && rest != "" && strings.Trim(rest, "0123456789") == "" {
				return true
			}
		}
	}
	return false
}

// recordedPod is the manifest pod name was started with (pod.json); nil if
// it cannot be read.
func recordedPod(name string) *corev1.Pod {
	b, err := os.ReadFile(PodDirs(name).manifestFile())
	if err != nil {
		return nil
	}
	var p corev1.Pod
	if json.Unmarshal(b, &p) != nil {
		return nil
	}
	return &p
}

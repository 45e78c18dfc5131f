package sandbox

import (
	"strings"

	"github.com/podbox/podbox/sandbox/manifest"
	corev1 "k8s.io/api/core/v1"
)

// filePods adds to names the pods `up -f` made of f: its Pods and the pods
// of its workloads by their names (deterministic, package manifest), and
// the pods of its Jobs and CronJobs by the owner recorded in each pod's
// manifest (a Job's pod names depend on its attempts). A CronJob's Job is
// named <cronjob>-<digits>, as the CronJob controller names them.
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
	if len(f.Jobs) == 0 && len(f.CronJobs) == 0 {
		return names, nil
	}
	all, err := podNames()
	if err != nil {
		return nil, err
	}
	for _, n := range all {
		st := probePod(n)
		if st.spec != nil && ownedByFile(f, st.spec) {
			add(n)
		}
	}
	return names, nil
}

// ownedByFile reports whether pod belongs to one of f's Jobs or CronJobs.
func ownedByFile(f *manifest.File, pod *corev1.Pod) bool {
	ns := pod.Namespace
	if ns == "" {
		ns = manifest.DefaultNamespace
	}
	for _, o := range pod.OwnerReferences {
		switch o.Kind {
		case "Job":
			for _, j := range f.Jobs {
				if j.Name == o.Name && j.Namespace == ns {
					return true
				}
			}
			for _, c := range f.CronJobs {
				if rest, ok := strings.CutPrefix(o.Name, c.Name+"-"); ok && c.Namespace == ns && rest != "" && strings.Trim(rest, "0123456789") == "" {
					return true
				}
			}
		case "CronJob":
			for _, c := range f.CronJobs {
				if c.Name == o.Name && c.Namespace == ns {
					return true
				}
			}
		}
	}
	return false
}

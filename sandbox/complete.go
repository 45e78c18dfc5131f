package sandbox

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"sort"

	corev1 "k8s.io/api/core/v1"
)

// PodNamesForCompletion lists the pods' names for shell completion: the
// directory entries ps reads, nothing more. It checks no directory (that
// is ps's job, with an error the user sees), probes no pod and changes
// nothing, so a Tab is fast and never starts or collects anything; it
// returns nothing rather than an error.
func PodNamesForCompletion() []string {
	names, err := readPodNames()
	if err != nil {
		return nil
	}
	return names
}

// ContainerNamesForCompletion lists pod's containers, init containers
// first, from the manifest it was started with (its pod.json), for shell
// completion after -c. nil if the pod or its manifest is not there.
func ContainerNamesForCompletion(pod string) []string {
	if ValidatePodName(pod) != nil {
		return nil
	}
	b, err := os.ReadFile(PodDirs(pod).manifestFile())
	if err != nil {
		return nil
	}
	var p corev1.Pod
	if json.Unmarshal(b, &p) != nil {
		return nil
	}
	var out []string
	for _, c := range p.Spec.InitContainers {
		out = append(out, c.Name)
	}
	for _, c := range p.Spec.Containers {
		out = append(out, c.Name)
	}
	return out
}

// readPodNames lists the pods registered in the data directory and those
// with a directory in the current runtime directory, sorted; entries that
// are not valid pod names are not pods (.lock, a stray file).
func readPodNames() ([]string, error) {
	seen := map[string]bool{}
	for _, dir := range []string{podsRunDir(), podsDataDir()} {
		ents, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		for _, e := range ents {
			if e.IsDir() && ValidatePodName(e.Name()) == nil {
				seen[e.Name()] = true
			}
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

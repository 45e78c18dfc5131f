package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/podbox/podbox/image"
	"github.com/podbox/podbox/mounts"
	"github.com/podbox/podbox/sandbox/manifest"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// applied is applied.json in a pod's data dir: what `up` needs to
// reconcile the pod with the files on the next `up`, and what `up
// --prune` needs to know it made the pod.
type applied struct {
	Files []string        `json:"files"` // the manifest paths `up -f` was given, absolute ("-": standard input)
	Hash  string          `json:"hash"`  // sha256 of Spec
	Spec  json.RawMessage `json:"spec"`  // the normalised spec (normalise)
}

// fromOnly reports whether a was applied from files all among cur (the
// absolute paths of this up's files), none of them standard input: what
// makes a pod or a Job that the files no longer have stale.
func (a *applied) fromOnly(cur map[string]bool) bool {
	if len(a.Files) == 0 {
		return false
	}
	for _, p := range a.Files {
		if p == "-" || !cur[p] {
			return false
		}
	}
	return true
}

func (d Dirs) appliedFile() string { return filepath.Join(d.Data, "applied.json") }

// normalised is what reconcile compares: the pod after the manifest's
// defaults, without what podbox or a cluster adds (uid, times, status),
// and the ConfigMaps and Secrets it names (Secrets by a hash of their
// data: applied.json holds no secret).
type normalised struct {
	Pod        *corev1.Pod                  `json:"pod"`
	ConfigMaps map[string]*corev1.ConfigMap `json:"configMaps,omitempty"`
	Secrets    map[string]string            `json:"secrets,omitempty"`
	// The NodePort and LoadBalancer Services that publish the pod's
	// ports (servicePorts): a change to one recreates the pod, which
	// binds them.
	Services map[string]*corev1.ServiceSpec `json:"services,omitempty"`
}

// normalise returns the JSON reconcile compares for pod of f.
func normalise(pod *corev1.Pod, f *manifest.File) []byte {
	p := pod.DeepCopy()
	p.Status = corev1.PodStatus{}
	p.UID, p.ResourceVersion, p.Generation = "", "", 0
	p.CreationTimestamp, p.DeletionTimestamp, p.ManagedFields = metav1.Time{}, nil, nil
	n := normalised{Pod: p}
	cms, secs := podRefs(pod)
	if f != nil {
		for _, cm := range f.ConfigMaps {
			if cms[cm.Name] {
				if n.ConfigMaps == nil {
					n.ConfigMaps = map[string]*corev1.ConfigMap{}
				}
				c := &corev1.ConfigMap{Data: cm.Data, BinaryData: cm.BinaryData}
				n.ConfigMaps[cm.Name] = c
			}
		}
		for _, s := range f.Secrets {
			if secs[s.Name] {
				if n.Secrets == nil {
					n.Secrets = map[string]string{}
				}
				b, _ := json.Marshal(struct {
					D map[string][]byte
					S map[string]string
					T corev1.SecretType
				}{s.Data, s.StringData, s.Type})
				sum := sha256.Sum256(b)
				n.Secrets[s.Name] = hex.EncodeToString(sum[:])
			}
		}
		for _, svc := range f.Services {
			if !publishes(svc) {
				continue
			}
			if t := selectPod(f.Pods, svc); t != nil && t.Namespace == pod.Namespace && t.Name == pod.Name {
				if n.Services == nil {
					n.Services = map[string]*corev1.ServiceSpec{}
				}
				n.Services[svc.Name] = &svc.Spec
			}
		}
	}
	b, _ := json.Marshal(n) // maps sorted: the same pod, the same bytes
	return b
}

// podRefs are the ConfigMaps and Secrets a pod names.
func podRefs(pod *corev1.Pod) (cms, secs map[string]bool) {
	cms, secs = map[string]bool{}, map[string]bool{}
	for _, v := range pod.Spec.Volumes {
		if v.ConfigMap != nil {
			cms[v.ConfigMap.Name] = true
		}
		if v.Secret != nil {
			secs[v.Secret.SecretName] = true
		}
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.ConfigMap != nil {
					cms[s.ConfigMap.Name] = true
				}
				if s.Secret != nil {
					secs[s.Secret.Name] = true
				}
			}
		}
	}
	for _, c := range allContainers(pod) {
		for _, e := range c.EnvFrom {
			if e.ConfigMapRef != nil {
				cms[e.ConfigMapRef.Name] = true
			}
			if e.SecretRef != nil {
				secs[e.SecretRef.Name] = true
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
				cms[r.Name] = true
			}
			if r := e.ValueFrom.SecretKeyRef; r != nil {
				secs[r.Name] = true
			}
		}
	}
	for _, s := range pod.Spec.ImagePullSecrets {
		secs[s.Name] = true
	}
	return cms, secs
}

func specHash(spec []byte) string {
	sum := sha256.Sum256(spec)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// absPaths makes the -f paths absolute, as applied.json records them.
func absPaths(paths []string) []string {
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		if p != "-" {
			if a, err := filepath.Abs(p); err == nil {
				p = a
			}
		}
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// writeApplied records, in a pod's new data dir, what the next `up`
// compares it with.
func writeApplied(dirs Dirs, paths []string, pod *corev1.Pod, f *manifest.File) error {
	spec := normalise(pod, f)
	b, err := json.Marshal(applied{Files: absPaths(paths), Hash: specHash(spec), Spec: spec})
	if err != nil {
		return err
	}
	return writeFileAtomic(dirs.appliedFile(), b)
}

// readApplied reads a pod's applied.json; a pod started by a podbox that
// did not write one is compared by its pod.json (no ConfigMaps then).
func readApplied(name string) (*applied, error) {
	dirs := PodDirs(name)
	b, err := os.ReadFile(dirs.appliedFile())
	if err == nil {
		var a applied
		if err := json.Unmarshal(b, &a); err != nil {
			return nil, fmt.Errorf("%s: %w", dirs.appliedFile(), err)
		}
		return &a, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	b, err = os.ReadFile(dirs.manifestFile())
	if err != nil {
		return nil, err
	}
	var p corev1.Pod
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", dirs.manifestFile(), err)
	}
	spec := normalise(&p, nil)
	return &applied{Hash: specHash(spec), Spec: spec}, nil
}

// action is what reconcile does with one pod of the files.
type action int

const (
	actCreate    action = iota // not there: create it
	actUnchanged               // running, same spec: leave it
	actRecreate                // running, another spec: stop it, create it
	actReplace                 // finished (kept for inspection): remove it, create it
)

// step is reconcile's decision for one pod of the files.
type step struct {
	pod     *corev1.Pod
	act     action
	changed []string // actRecreate: the field paths that differ
}

// words is the line `up` prints for a step, "" for a plain creation
// (up -d prints the name, as before reconcile).
func (s step) words() string {
	switch s.act {
	case actUnchanged:
		return s.pod.Name + ": unchanged"
	case actRecreate:
		return fmt.Sprintf("%s: recreated (%s changed)", s.pod.Name, changedWords(s.changed))
	case actReplace:
		return s.pod.Name + ": recreated (it had finished)"
	}
	return ""
}

func changedWords(paths []string) string {
	const most = 3
	if len(paths) == 0 {
		return "the spec"
	}
	if len(paths) <= most {
		return strings.Join(paths, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(paths[:most], ", "), len(paths)-most)
}

// plan decides, for every pod of f, what reconcile does. The caller holds
// lockUp.
func plan(f *manifest.File) ([]step, error) {
	var steps []step
	for _, pod := range f.Pods {
		s := step{pod: pod, act: actCreate}
		st := probePod(pod.Name)
		switch {
		case !st.alive && keptFinished(pod.Name):
			s.act = actReplace // kept for inspection by a foreground up (finished.go)
		case !st.alive:
			// Nothing, or what a dead pod left: startPod removes it.
		case podKeptFinished(pod.Name, st):
			s.act = actReplace
		default:
			a, err := readApplied(pod.Name)
			if err != nil {
				return nil, fmt.Errorf("pod %q runs, but what started it cannot be read (podbox down %s): %w", pod.Name, pod.Name, err)
			}
			spec := normalise(pod, f)
			if specHash(spec) == a.Hash {
				s.act = actUnchanged
			} else {
				s.act = actRecreate
				s.changed = specDiff(a.Spec, spec)
			}
		}
		steps = append(steps, s)
	}
	return steps, nil
}

// podKeptFinished reports whether a live pod has finished (Succeeded or
// Failed), kept for inspection: reconcile replaces it as if it were not
// there.
func podKeptFinished(name string, st podProbe) bool {
	return st.pod != nil && podFinished(st.pod.Status.Phase)
}

// stalePods are the pods an earlier `up -f` made from files that are all
// among paths, and that f no longer has: `up --prune` removes them.
func stalePods(f *manifest.File, paths []string) ([]string, error) {
	cur := map[string]bool{}
	for _, p := range absPaths(paths) {
		cur[p] = true
	}
	inFiles := map[string]bool{}
	for _, p := range f.Pods {
		inFiles[p.Name] = true
	}
	names, err := podNames()
	if err != nil {
		return nil, err
	}
	var out []string
	jobs := map[string]bool{} // "Job name": their pods are the Job controller's
	for _, j := range f.Jobs {
		jobs["Job "+j.Name] = true
	}
	for _, n := range names {
		k := recordedOwner(n)
		if inFiles[n] || jobs[k] {
			continue
		}
		if j, ok := strings.CutPrefix(k, "Job "); ok && jobExists(j) {
			continue // the Job's: listed or pruned with it (staleJobs)
		}
		b, err := os.ReadFile(PodDirs(n).appliedFile())
		if err != nil {
			continue
		}
		var a applied
		if json.Unmarshal(b, &a) == nil && a.fromOnly(cur) {
			out = append(out, n)
		}
	}
	return out, nil
}

// specDiff names the fields in which two normalised specs differ, as
// paths relative to the pod's spec ("containers[0].image"), metadata's
// with their prefix, and the ConfigMaps' and Secrets' by their names
// ("configMap web-page").
func specDiff(old, cur []byte) []string { return diffNames(old, cur, "pod.spec.", "pod.") }

// diffNames names the fields in which two normalised objects differ: the
// paths with the first of trim that prefixes them cut off, and the
// ConfigMaps, Secrets and Services by their names, each once however many
// of their keys changed.
func diffNames(old, cur []byte, trim ...string) []string {
	var a, b map[string]any
	if json.Unmarshal(old, &a) != nil || json.Unmarshal(cur, &b) != nil {
		return nil
	}
	var out []string
	diffValue("", a, b, &out)
	for i, p := range out {
		switch {
		case strings.HasPrefix(p, "configMaps."):
			name, _, _ := strings.Cut(strings.TrimPrefix(p, "configMaps."), ".")
			out[i] = "configMap " + name
		case strings.HasPrefix(p, "secrets."):
			out[i] = "secret " + strings.TrimPrefix(p, "secrets.")
		case strings.HasPrefix(p, "services."):
			name, _, _ := strings.Cut(strings.TrimPrefix(p, "services."), ".")
			out[i] = "Service " + name
		default:
			for _, t := range trim {
				if rest, ok := strings.CutPrefix(p, t); ok {
					out[i] = rest
					break
				}
			}
		}
	}
	return uniq(out)
}

func diffValue(path string, a, b any, out *[]string) {
	if reflect.DeepEqual(a, b) {
		return
	}
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			p := k
			if path != "" {
				p = path + "." + k
			}
			diffValue(p, am[k], bm[k], out)
		}
		return
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok && len(al) == len(bl) {
		for i := range al {
			diffValue(fmt.Sprintf("%s[%d]", path, i), al[i], bl[i], out)
		}
		return
	}
	*out = append(*out, path)
}

// lockUp makes the reconciles of the same pods exclusive among `up`s,
// while those of other pods go on in parallel (10 `up -d` at once stay
// parallel): one byte of <data>/pods/.up.lock per pod name (at a hash of
// the name; two names on one byte only wait for each other), locked with
// an open file description lock, in the order of the offsets so that two
// ups never wait for each other in a circle. Held from the decisions until
// the pods started. lockPods cannot serve: startPod and the clean-ups take
// it themselves, and it is one lock for all pods.
func lockUp(names []string) (unlock func(), err error) {
	dir := podsDataDir()
	if err := image.MkdirOwn(image.DataDir(), dir); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, ".up.lock"), os.O_CREATE|os.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("locking the pods: %w", err)
	}
	seen := map[int64]bool{}
	var offs []int64
	for _, n := range names {
		h := fnv.New32a()
		_, _ = h.Write([]byte(n))
		off := int64(h.Sum32() & 0x7fffffff)
		if !seen[off] {
			seen[off] = true
			offs = append(offs, off)
		}
	}
	sort.Slice(offs, func(i, j int) bool { return offs[i] < offs[j] })
	for _, off := range offs {
		lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart, Start: off, Len: 1}
		for {
			err = unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLKW, &lk)
			if err != unix.EINTR {
				break
			}
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("locking the pods: %w", err)
		}
	}
	return func() { f.Close() }, nil
}

// reportSteps prints the decisions that are not plain creations.
func reportSteps(w io.Writer, steps []step) {
	for _, s := range steps {
		if l := s.words(); l != "" {
			fmt.Fprintln(w, l)
		}
	}
}

// apply reconciles the pods of f with what runs: it removes or lists the
// pods the files no longer have, stops those whose spec changed or that
// had finished, creates what is missing, and leaves the rest. It returns
// the steps in the files' order, each with the handle of the pod it
// started (nil for an unchanged pod: the caller adopts it if it follows
// it), or 125 or 130 with the error that stopped it.
func apply(ctx context.Context, f *manifest.File, o UpOptions) ([]*podHandle, []step, int, error) {
	if err := collectGarbage(o.Store); err != nil {
		return nil, nil, 125, err
	}
	for _, pod := range f.Pods {
		if err := mounts.CheckHostPaths(pod); err != nil {
			return nil, nil, 125, fmt.Errorf("pod %q: %w", pod.Name, err)
		}
		for _, h := range hostPathHints(pod) {
			fmt.Fprintf(o.Err, "warning: %s\n", h)
		}
	}
	if err := ensureClaims(f, o.Err); err != nil {
		return nil, nil, 125, err
	}
	// The Services' ports, said once for the files; bound with the
	// hostPorts of the pods created below.
	published, err := servicePorts(f, o.Err)
	if err != nil {
		return nil, nil, 125, err
	}
	// The pods of the files and those to prune, locked; then the
	// decisions, under the lock.
	candidates, err := stalePods(f, o.ManifestPaths)
	if err != nil {
		return nil, nil, 125, err
	}
	var names []string
	for _, p := range f.Pods {
		names = append(names, p.Name)
	}
	unlock, err := lockUp(append(names, candidates...))
	if err != nil {
		return nil, nil, 125, err
	}
	defer unlock()
	steps, err := plan(f)
	if err != nil {
		return nil, nil, 125, err
	}
	stale, err := stalePods(f, o.ManifestPaths)
	if err != nil {
		return nil, nil, 125, err
	}
	stale = slices.DeleteFunc(stale, func(n string) bool { return !slices.Contains(candidates, n) })
	var gone []string
	said := map[string]string{} // what to print once a pod of gone is removed
	owners := map[string]bool{}
	for _, p := range f.Pods {
		if k := controllerKey(p); k != "" {
			owners[k] = true
		}
	}
	for _, n := range stale {
		switch k := recordedOwner(n); {
		case owners[k]:
			// The pod of an older template of a workload the files
			// still have (the template's hash is in the pod's name):
			// replaced, as a rollout replaces it, --prune or not.
			said[n] = fmt.Sprintf("%s: removed (%s changed: its pods are new)", n, k)
		case o.Prune:
			said[n] = n + ": removed (not in the files any more)"
		default:
			fmt.Fprintf(o.Out, "%s: not in the files any more (up --prune removes it)\n", n)
			continue
		}
		gone = append(gone, n)
	}
	for _, s := range steps {
		if s.act == actRecreate || s.act == actReplace {
			gone = append(gone, s.pod.Name)
		}
	}
	// Stopped first, all at once (their grace periods overlap): the new
	// pods may want their hostPorts.
	errs := make([]error, len(gone))
	var wg sync.WaitGroup
	for i, n := range gone {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = downOne(ctx, n, probePod(n), DownOptions{Store: o.Store})
		}()
	}
	wg.Wait()
	for i, n := range gone {
		if errs[i] != nil {
			return nil, nil, 125, fmt.Errorf("removing pod %q: %w", n, errs[i])
		}
		if l := said[n]; l != "" {
			fmt.Fprintln(o.Out, l)
		}
	}
	sub := *f
	sub.Pods = nil
	for _, s := range steps {
		if s.act != actUnchanged {
			sub.Pods = append(sub.Pods, s.pod)
		}
	}
	fresh := map[string]*podHandle{}
	if len(sub.Pods) > 0 {
		started, code, err := createPods(ctx, &sub, published, o)
		if code != 0 || err != nil {
			return nil, nil, code, err
		}
		for _, h := range started {
			fresh[h.name] = h
		}
	}
	var hs []*podHandle
	var done []step
	for _, s := range steps {
		h := fresh[s.pod.Name]
		if h == nil && s.act != actUnchanged {
			continue // interrupted before it started
		}
		hs, done = append(hs, h), append(done, s)
	}
	return hs, done, 0, nil
}

// controllerKey is "Kind name" of the workload that made the pod
// ("Deployment web": a ReplicaSet stands for its Deployment, workloadOf),
// "" for a bare pod.
func controllerKey(p *corev1.Pod) string {
	if k, ok := workloadOf(p); ok {
		return k.kind + " " + k.name
	}
	return ""
}

// recordedOwner is controllerKey of the spec a pod was started with
// (applied.json), "" if none.
func recordedOwner(name string) string {
	b, err := os.ReadFile(PodDirs(name).appliedFile())
	if err != nil {
		return ""
	}
	var a applied
	var n normalised
	if json.Unmarshal(b, &a) != nil || json.Unmarshal(a.Spec, &n) != nil || n.Pod == nil {
		return ""
	}
	return controllerKey(n.Pod)
}

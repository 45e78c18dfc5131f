package sandbox

// Jobs reconcile as pods do (issue 12 item 1), as `kubectl apply` treats a
// Job: the Job is "there" while <data>/jobs/<job>/ is (its controller
// runs it, or it has finished and `down` has not removed it), and
// applied.json there holds the hash of the normalised Job (normaliseJob)
// it was started from.
//
// Decisions:
//
//   - Same spec, Job there → "job/pi: unchanged", nothing started, in the
//     foreground too: `up` does not follow the controller's pods, it says
//     the Job runs under its controller (podbox get job pi, podbox logs)
//     and, if the files hold nothing else, exits 0 at once.
//   - Another spec → the old Job's controller and pods are stopped and it
//     runs anew: "job/pi: recreated (spec.completions changed)". kubectl
//     refuses a changed Job template (it is immutable) and wants delete +
//     apply; podbox is a dev loop, where re-running the edited Job is the
//     point.
//   - A foreground Job leaves no record: its pods go as they finish and its
//     result is up's last line and exit code, so a second foreground `up`
//     runs it again (kubectl keeps a finished Job, but `up` in the
//     foreground is the controller itself, like `kubectl run --rm`). Only
//     `up -d` leaves a Job that `get jobs` lists and that the next `up`
//     finds unchanged.
//   - A Job an earlier `up -d` of the same files started and that they no
//     longer have is listed, and removed with --prune, as a pod is
//     (stalePods); its pods go with it and are not listed apart.
//   - Pods of the Job with no record (a foreground `up` of it runs in
//     another terminal) are not taken: `up` refuses, as before.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/podbox/podbox/sandbox/manifest"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func jobAppliedFile(name string) string { return filepath.Join(jobDir(name), "applied.json") }

// normalisedJob is what reconcile compares for a Job: the Job without
// what a cluster adds, and the ConfigMaps and Secrets its pods name (as
// normalise has them for a pod).
type normalisedJob struct {
	Job        *batchv1.Job      `json:"job"`
	ConfigMaps json.RawMessage   `json:"configMaps,omitempty"`
	Secrets    map[string]string `json:"secrets,omitempty"`
}

// normaliseJob returns the JSON reconcile compares for job of f.
func normaliseJob(job *batchv1.Job, f *manifest.File) []byte {
	j := job.DeepCopy()
	j.Status = batchv1.JobStatus{}
	j.UID, j.ResourceVersion, j.Generation = "", "", 0
	j.CreationTimestamp, j.DeletionTimestamp, j.ManagedFields = metav1.Time{}, nil, nil
	n := normalisedJob{Job: j}
	var refs struct {
		ConfigMaps json.RawMessage   `json:"configMaps"`
		Secrets    map[string]string `json:"secrets"`
	}
	if json.Unmarshal(normalise(manifest.JobPod(job, 0, 0), f), &refs) == nil {
		n.ConfigMaps, n.Secrets = refs.ConfigMaps, refs.Secrets
	}
	b, _ := json.Marshal(n)
	return b
}

// writeJobApplied records, in the Job's new directory, what the next `up`
// compares it with.
func writeJobApplied(paths []string, job *batchv1.Job, f *manifest.File) error {
	spec := normaliseJob(job, f)
	b, err := json.Marshal(applied{Files: absPaths(paths), Hash: specHash(spec), Spec: spec})
	if err != nil {
		return err
	}
	return writeFileAtomic(jobAppliedFile(job.Name), b)
}

func readJobApplied(name string) (*applied, error) {
	b, err := os.ReadFile(jobAppliedFile(name))
	if err != nil {
		return nil, err
	}
	var a applied
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("%s: %w", jobAppliedFile(name), err)
	}
	return &a, nil
}

// jobStep is reconcile's decision for one Job of the files: actCreate,
// actUnchanged or actRecreate.
type jobStep struct {
	job     *batchv1.Job
	act     action
	changed []string
}

// words is the line `up` prints for the step, "" for a creation.
func (s jobStep) words() string {
	switch s.act {
	case actUnchanged:
		if _, alive := jobController(s.job.Name); alive {
			return "job/" + s.job.Name + ": unchanged (its controller runs it: podbox get job " + s.job.Name + ")"
		}
		return "job/" + s.job.Name + ": unchanged"
	case actRecreate:
		return fmt.Sprintf("job/%s: recreated (%s changed)", s.job.Name, changedWords(s.changed))
	}
	return ""
}

// planJobs decides what reconcile does with every Job of f. It refuses a
// Job whose pods run without a record (a foreground up of it elsewhere).
func planJobs(f *manifest.File) ([]jobStep, error) {
	var steps []jobStep
	for _, job := range f.Jobs {
		s := jobStep{job: job, act: actCreate}
		if err := ValidatePodName(job.Name); err != nil {
			return nil, fmt.Errorf("job %q: %w", job.Name, err)
		}
		if !jobExists(job.Name) {
			names, _ := jobPodNames(job.Name)
			if len(names) > 0 {
				return nil, fmt.Errorf("job %q: %w: its pod %s is still there (podbox down -f FILE)", job.Name, ErrPodRunning, names[0])
			}
			steps = append(steps, s)
			continue
		}
		spec := normaliseJob(job, f)
		a, err := readJobApplied(job.Name)
		switch {
		case errors.Is(err, os.ErrNotExist):
			s.act = actRecreate // started by a podbox that kept no hash
		case err != nil:
			return nil, fmt.Errorf("job %q: what started it cannot be read (podbox down %s): %w", job.Name, job.Name, err)
		case a.Hash == specHash(spec):
			s.act = actUnchanged
		default:
			s.act = actRecreate
			s.changed = jobSpecDiff(a.Spec, spec)
		}
		steps = append(steps, s)
	}
	return steps, nil
}

// jobSpecDiff names the fields in which two normalised Jobs differ, from
// the Job ("spec.completions", "spec.template.spec.containers[0].image").
func jobSpecDiff(old, cur []byte) []string { return diffNames(old, cur, "job.") }

// staleJobs are the Jobs an earlier `up -d` started from files that are
// all among paths, and that f no longer has.
func staleJobs(f *manifest.File, paths []string) ([]string, error) {
	cur := map[string]bool{}
	for _, p := range absPaths(paths) {
		cur[p] = true
	}
	inFiles := map[string]bool{}
	for _, j := range f.Jobs {
		inFiles[j.Name] = true
	}
	names, err := allJobNames()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		if inFiles[n] {
			continue
		}
		if a, err := readJobApplied(n); err == nil && a.fromOnly(cur) {
			out = append(out, n)
		}
	}
	return out, nil
}

// removeJob stops a Job's controller, takes its pods down and removes its
// directory.
func removeJob(ctx context.Context, name string, o UpOptions) error {
	pods, _, err := stopJobs(ctx, []string{name})
	if err != nil {
		return err
	}
	for _, p := range uniq(pods) {
		if err := downOne(ctx, p, probePod(p), DownOptions{Store: o.Store}); err != nil {
			return fmt.Errorf("removing pod %q of job %q: %w", p, name, err)
		}
	}
	return removeJobDir(name)
}

// applyJobs carries out the steps that stop something: the recreated Jobs'
// old controllers and pods, and the stale Jobs (listed, or removed with
// --prune). It prints what it did and returns the Jobs to run (created or
// recreated) in a copy of f.
func applyJobs(ctx context.Context, f *manifest.File, steps []jobStep, o UpOptions) (*manifest.File, error) {
	stale, err := staleJobs(f, o.ManifestPaths)
	if err != nil {
		return nil, err
	}
	for _, n := range stale {
		if !o.Prune {
			fmt.Fprintf(o.Out, "job/%s: not in the files any more (up --prune removes it)\n", n)
			continue
		}
		if err := removeJob(ctx, n, o); err != nil {
			return nil, fmt.Errorf("removing job %q: %w", n, err)
		}
		fmt.Fprintf(o.Out, "job/%s: removed (not in the files any more)\n", n)
	}
	sub := *f
	sub.Jobs = nil
	for _, s := range steps {
		switch s.act {
		case actUnchanged:
			fmt.Fprintln(o.Out, s.words())
			continue
		case actRecreate:
			if err := removeJob(ctx, s.job.Name, o); err != nil {
				return nil, fmt.Errorf("stopping job %q: %w", s.job.Name, err)
			}
		}
		sub.Jobs = append(sub.Jobs, s.job)
	}
	return &sub, nil
}

// jobStepWords are the lines of the recreated Jobs, by name: printed when
// the new one starts, in place of job/<name>.
func jobStepWords(steps []jobStep) map[string]string {
	m := map[string]string{}
	for _, s := range steps {
		if s.act == actRecreate {
			m[s.job.Name] = s.words()
		}
	}
	return m
}

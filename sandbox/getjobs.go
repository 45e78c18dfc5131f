package sandbox

// `podbox get jobs` (issue 12 item 1's Jobs): the Jobs `up -d` started,
// from their controllers' status.json (jobrole.go), as kubectl get jobs
// prints them (1.28+): NAME STATUS COMPLETIONS DURATION AGE, or batch/v1
// Jobs with their status in YAML or JSON. A foreground Job leaves no
// record (jobapply.go says why), so it is not listed.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ErrJobNotFound reports a Job that `up -d` did not start, or that `down`
// removed.
var ErrJobNotFound = errors.New("job not found")

// loadJob reads the Job's status.json; its creation time is when its
// directory was made (applied.json), as the API server stamps a Job.
func loadJob(name string) (*batchv1.Job, error) {
	if err := ValidatePodName(name); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(jobDir(name), "status.json"))
	if errors.Is(err, os.ErrNotExist) && !jobExists(name) {
		return nil, fmt.Errorf("job %q: %w (podbox get jobs lists them)", name, ErrJobNotFound)
	}
	j := &batchv1.Job{}
	switch {
	case err == nil:
		if err := json.Unmarshal(b, j); err != nil {
			return nil, fmt.Errorf("job %q: %s: %w", name, filepath.Join(jobDir(name), "status.json"), err)
		}
	case errors.Is(err, os.ErrNotExist): // its controller has not written it yet
		j.Name = name
	default:
		return nil, err
	}
	j.APIVersion, j.Kind = "batch/v1", "Job"
	if fi, err := os.Stat(jobAppliedFile(name)); err == nil && j.CreationTimestamp.IsZero() {
		j.CreationTimestamp = metav1.NewTime(fi.ModTime().Truncate(time.Second))
	}
	return j, nil
}

// GetJobs prints Job o.Name, or every Job, as `kubectl get jobs` does.
func GetJobs(o GetOptions) error {
	switch o.Output {
	case "", "wide", "yaml", "json", "name":
	default:
		return fmt.Errorf("-o: %q is not one of yaml, json, wide, name", o.Output)
	}
	if o.Watch {
		return fmt.Errorf("get jobs: --watch is for pods only")
	}
	names := []string{o.Name}
	if o.Name == "" {
		var err error
		if names, err = allJobNames(); err != nil {
			return err
		}
	}
	var jobs []*batchv1.Job
	for _, n := range names {
		j, err := loadJob(n)
		if err != nil {
			if o.Name == "" {
				continue // went meanwhile
			}
			return err
		}
		jobs = append(jobs, j)
	}
	if o.Name == "" && len(jobs) == 0 && o.Err != nil && (o.Output == "" || o.Output == "wide") {
		fmt.Fprintln(o.Err, "No resources found")
		return nil
	}
	return renderJobs(o.Out, jobs, o.Output, o.Name != "")
}

func renderJobs(w io.Writer, jobs []*batchv1.Job, output string, single bool) error {
	var obj any
	if single && len(jobs) == 1 {
		obj = jobs[0]
	} else {
		list := &batchv1.JobList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "List"}, Items: []batchv1.Job{}}
		for _, j := range jobs {
			list.Items = append(list.Items, *j)
		}
		obj = list
	}
	if done, err := renderObject(w, obj, output); done {
		return err
	}
	if output == "name" {
		for _, j := range jobs {
			fmt.Fprintf(w, "job.batch/%s\n", j.Name)
		}
		return nil
	}
	t := podTable{head: []string{"NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"}, pad: 3, age: 4}
	for _, j := range jobs {
		t.rows = append(t.rows, podRow{key: j.Name, cells: []string{j.Name, jobStatusWord(j), jobCompletions(j),
			jobDuration(j, time.Now()), orNone(age(&j.CreationTimestamp))}})
	}
	writeTable(w, t)
	return nil
}

// jobStatusWord is kubectl's STATUS column (1.28+).
func jobStatusWord(j *batchv1.Job) string {
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return "Complete"
		case batchv1.JobFailed:
			return "Failed"
		}
	}
	if j.Spec.Suspend != nil && *j.Spec.Suspend {
		return "Suspended"
	}
	return "Running"
}

// jobCompletions is kubectl's COMPLETIONS column: succeeded/completions,
// or "n/1 of p" for a Job with no completions and parallelism p > 1.
func jobCompletions(j *batchv1.Job) string {
	if c := j.Spec.Completions; c != nil {
		return fmt.Sprintf("%d/%d", j.Status.Succeeded, *c)
	}
	if p := j.Spec.Parallelism; p != nil && *p > 1 {
		return fmt.Sprintf("%d/1 of %d", j.Status.Succeeded, *p)
	}
	return fmt.Sprintf("%d/1", j.Status.Succeeded)
}

// jobDuration is kubectl's DURATION column: from the start to the
// completion, or to now while it runs.
func jobDuration(j *batchv1.Job, now time.Time) string {
	st := j.Status.StartTime
	if st == nil {
		return ""
	}
	end := now
	if c := j.Status.CompletionTime; c != nil {
		end = c.Time
	} else {
		for _, c := range j.Status.Conditions {
			if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
				end = c.LastTransitionTime.Time
			}
		}
	}
	return age(&metav1.Time{Time: time.Now().Add(-end.Sub(st.Time))})
}

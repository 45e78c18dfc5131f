package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// GetOptions say which pods to print and how.
type GetOptions struct {
	Name   string    // "": every pod
	Output string    // "" (a table), wide, yaml, json or name
	Watch  bool      // then print a line per change until ctx ends (watchTable)
	Out    io.Writer // required
	Err    io.Writer // nil: no "No resources found"
}

// Get prints pods as `kubectl get pod` does: a table, or v1.Pods in YAML or
// JSON that Kubernetes tools read (a v1 List when no name is given).
func Get(ctx context.Context, o GetOptions) error {
	switch o.Output {
	case "", "wide", "yaml", "json", "name":
	default:
		return fmt.Errorf("-o: %q is not one of yaml, json, wide, name", o.Output)
	}
	if o.Watch {
		first := true
		return watchTable(ctx, watchOptions{output: o.Output, out: o.Out, snapshot: func(ctx context.Context) (podTable, error) {
			pods, err := getPods(ctx, o.Name)
			if !first && errors.Is(err, ErrPodNotFound) {
				err = nil // the pod went: watchTable says so
			}
			first = false
			return getTable(pods, o.Output == "wide"), err
		}})
	}
	pods, err := getPods(ctx, o.Name)
	if err != nil {
		return err
	}
	if o.Name == "" && len(pods) == 0 && o.Err != nil && (o.Output == "" || o.Output == "wide") {
		fmt.Fprintln(o.Err, "No resources found")
		return nil
	}
	return renderPods(o.Out, pods, o.Output, o.Name != "")
}

// getPods loads pod name, or every pod that loads.
func getPods(ctx context.Context, name string) ([]*corev1.Pod, error) {
	if name != "" {
		p, _, err := loadPod(ctx, name, false)
		if err != nil {
			return nil, err
		}
		return []*corev1.Pod{p}, nil
	}
	names, err := podNames()
	if err != nil {
		return nil, err
	}
	var pods []*corev1.Pod
	for _, n := range names {
		if p, _, err := loadPod(ctx, n, false); err == nil {
			pods = append(pods, p)
		}
	}
	return pods, nil
}

// loadPod returns pod name as its PID 1 serves it (with its events if
// events), else as it was last saved (status.json) with the phase Unknown
// unless it had finished, else the manifest it was started with. A pod
// whose process is gone has the reason Gone.
func loadPod(ctx context.Context, name string, events bool) (*corev1.Pod, []corev1.Event, error) {
	if err := ValidatePodName(name); err != nil {
		return nil, nil, err
	}
	if err := checkPodsDirs(); err != nil {
		return nil, nil, err
	}
	dirs := PodDirs(name)
	st := probePod(name)
	if !st.exists {
		return nil, nil, fmt.Errorf("pod %q: %w", name, ErrPodNotFound)
	}
	if st.pod != nil {
		p := st.pod
		var evs []corev1.Event
		if events {
			cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			evs, _ = newCtlClient(dirs.ctlSock()).events(cctx)
		}
		p.APIVersion, p.Kind = "v1", "Pod"
		return p, evs, nil
	}
	if st.finished != nil { // kept for inspection (finished.go)
		p := st.finished.Pod
		p.APIVersion, p.Kind = "v1", "Pod"
		return p, st.finished.Events, nil
	}
	var saved savedPod
	if b, err := os.ReadFile(statusFile(dirs.ctlSock())); err == nil && json.Unmarshal(b, &saved) == nil && saved.Pod != nil {
		p := saved.Pod
		if !st.alive {
			markGone(p)
		}
		p.APIVersion, p.Kind = "v1", "Pod"
		return p, saved.Events, nil
	}
	p := st.spec
	if p == nil {
		p = &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}}
	}
	p = p.DeepCopy()
	p.APIVersion, p.Kind = "v1", "Pod"
	p.Status = corev1.PodStatus{Phase: corev1.PodUnknown}
	if st.alive {
		p.Status.Reason, p.Status.Message = "Starting", "the pod's control socket does not answer yet"
	} else {
		markGone(p)
	}
	return p, nil, nil
}

// markGone marks a pod whose process died: what ran is gone with it.
func markGone(p *corev1.Pod) {
	if !podFinished(p.Status.Phase) {
		p.Status.Phase = corev1.PodUnknown
	}
	// Nothing of it runs, so nothing is ready.
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for i := range list {
			list[i].Ready = false
			list[i].Started = ptr(false)
		}
	}
	for i, c := range p.Status.Conditions {
		if (c.Type == corev1.PodReady || c.Type == corev1.ContainersReady) && c.Status == corev1.ConditionTrue {
			p.Status.Conditions[i].Status = corev1.ConditionFalse
			p.Status.Conditions[i].Reason = "PodGone"
		}
	}
	p.Status.Reason = reasonGone
	p.Status.Message = "the pod's process is gone; podbox down " + p.Name + " removes what is left"
}

// renderPods writes pods in format output; single prints one object
// rather than a List for yaml and json.
func renderPods(w io.Writer, pods []*corev1.Pod, output string, single bool) error {
	for _, p := range pods {
		p.APIVersion, p.Kind = "v1", "Pod"
	}
	var obj any
	if single && len(pods) == 1 {
		obj = pods[0]
	} else {
		list := &corev1.PodList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "List"}, Items: []corev1.Pod{}}
		for _, p := range pods {
			list.Items = append(list.Items, *p)
		}
		obj = list
	}
	if done, err := renderObject(w, obj, output); done {
		return err
	}
	if output == "name" {
		for _, p := range pods {
			fmt.Fprintf(w, "pod/%s\n", p.Name)
		}
		return nil
	}
	writeTable(w, getTable(pods, output == "wide"))
	return nil
}

// renderObject writes obj as kubectl's -o yaml or -o json do; false for
// any other output, which the caller writes.
func renderObject(w io.Writer, obj any, output string) (bool, error) {
	switch output {
	case "yaml":
		b, err := yaml.Marshal(obj)
		if err != nil {
			return true, err
		}
		_, err = w.Write(b)
		return true, err
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "    ")
		enc.SetEscapeHTML(false)
		return true, enc.Encode(obj)
	}
	return false, nil
}

// getTable is kubectl's pod table: NAME READY STATUS RESTARTS AGE, and
// with wide IP NODE NOMINATED NODE READINESS GATES.
func getTable(pods []*corev1.Pod, wide bool) podTable {
	t := podTable{head: []string{"NAME", "READY", "STATUS", "RESTARTS", "AGE"}, pad: 3, age: 4}
	if wide {
		t.head = append(t.head, wideHead...)
	}
	for _, p := range pods {
		ready, total, restarts := readyRestarts(p)
		since := p.Status.StartTime
		if since == nil && !p.CreationTimestamp.IsZero() {
			since = &p.CreationTimestamp
		}
		cells := []string{p.Name, fmt.Sprintf("%d/%d", ready, total), podStatusWord(p), fmt.Sprint(restarts), orNone(age(since))}
		if wide {
			cells = append(cells, wideCells(p)...)
		}
		t.rows = append(t.rows, podRow{key: p.Name, pod: p, cells: cells})
	}
	return t
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

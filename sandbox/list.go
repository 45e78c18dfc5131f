package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/podbox/podbox/image"
	"github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podProbe is what a command can tell about a pod from outside.
type podProbe struct {
	exists bool        // it has a runtime or data dir
	alive  bool        // its process runs
	pod    *corev1.Pod // from its control socket; nil if it did not answer
	spec   *corev1.Pod // the manifest it was started with (pod.json)
	// finished: a pod that finished in the foreground, kept for
	// inspection (finished.go); spec is its pod then.
	finished *savedPod
}

func probePod(name string) podProbe {
	dirs := PodDirs(name)
	var st podProbe
	if _, err := os.Stat(dirs.Run); err == nil {
		st.exists = true
	}
	if _, err := os.Stat(dirs.Data); err == nil {
		st.exists = true
	}
	if !st.exists {
		return st
	}
	if b, err := os.ReadFile(dirs.manifestFile()); err == nil {
		var p corev1.Pod
		if json.Unmarshal(b, &p) == nil {
			st.spec = &p
		}
	}
	if _, ok := livePodProcess(name); !ok {
		if st.finished = readFinished(dirs); st.finished != nil && st.spec == nil {
			st.spec = st.finished.Pod
		}
		return st
	}
	st.alive = true
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if p, err := newCtlClient(dirs.ctlSock()).pod(ctx); err == nil {
		st.pod = p
	}
	return st
}

// podNames lists the pods: those registered in the data directory (whatever
// runtime directory they run from) and those with a directory in the
// current runtime directory. It checks the directories first
// (checkPodsDirs): one podbox cannot read is an error, not an empty list.
func podNames() ([]string, error) {
	if err := checkPodsDirs(); err != nil {
		return nil, err
	}
	names, err := readPodNames()
	if err != nil {
		return nil, fmt.Errorf("listing pods: %w", err)
	}
	return names, nil
}

// leftoverPods returns the pods that have storage containers but are not
// in known.
func leftoverPods(so image.StoreOptions, known []string) []string {
	cs, err := image.ContainerList(so)
	if err != nil {
		logrus.Debugf("listing storage containers: %v", err)
		return nil
	}
	seen := map[string]bool{}
	for _, n := range known {
		seen[n] = true
	}
	var out []string
	for _, c := range cs {
		owner, ok := strings.CutPrefix(c.Metadata, podArgv0(""))
		if ok && !seen[owner] && ValidatePodName(owner) == nil {
			seen[owner] = true
			out = append(out, owner)
		}
	}
	return out
}

// ListOptions say how to list pods.
type ListOptions struct {
	Containers bool               // one row per container instead of per pod
	Format     string             // "" (a table), wide, json or yaml (a v1 List of the Pods), name (pod/NAME)
	Watch      bool               // then print a line per change until ctx ends (watchTable)
	Store      image.StoreOptions // the image store, for storage containers left by pods that are gone
	Out        io.Writer          // required
}

// List prints the pods: NAME STATUS READY RESTARTS AGE. A pod whose process
// died is listed with status Gone until `podbox down` cleans it.
func List(ctx context.Context, o ListOptions) error {
	switch o.Format {
	case "", "json", "yaml", "name":
	case "wide":
		if o.Containers {
			return fmt.Errorf("-o wide lists pods: leave out -a")
		}
	default:
		return fmt.Errorf("-o: %q is not one of wide, json, yaml, name", o.Format)
	}
	if o.Watch {
		return watchTable(ctx, watchOptions{output: o.Format, out: o.Out, snapshot: func(context.Context) (podTable, error) {
			pods, err := listPods(o.Store)
			return psTable(pods, o.Containers, o.Format == "wide"), err
		}})
	}
	pods, err := listPods(o.Store)
	if err != nil {
		return err
	}
	if o.Format != "" && o.Format != "wide" {
		return renderPods(o.Out, pods, o.Format, false)
	}
	writeTable(o.Out, psTable(pods, o.Containers, o.Format == "wide"))
	return nil
}

// listPods reads every pod for ps, sorted by name.
func listPods(so image.StoreOptions) ([]*corev1.Pod, error) {
	names, err := podNames()
	if err != nil {
		return nil, err
	}
	var pods []*corev1.Pod
	for _, n := range names {
		st := probePod(n)
		p := st.pod
		if p == nil && st.finished != nil {
			p = st.finished.Pod
		}
		if p == nil {
			p = st.spec
			if p == nil {
				p = &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: n}}
			}
			p = p.DeepCopy()
			p.Status = corev1.PodStatus{Phase: corev1.PodUnknown, Reason: reasonGone,
				Message: "the pod's process is gone; podbox down " + n + " removes what is left"}
			if st.alive {
				p.Status.Reason, p.Status.Message = "Starting", "the pod's control socket does not answer yet"
			}
		}
		pods = append(pods, p)
	}
	// Storage containers of a pod that has no directory left are listed
	// as that pod, Gone: nothing podbox made is invisible.
	for _, n := range leftoverPods(so, names) {
		pods = append(pods, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: n}, Status: corev1.PodStatus{Phase: corev1.PodUnknown,
			Reason: reasonGone, Message: "only storage containers are left of it; podbox down " + n + " removes them"}})
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	return pods, nil
}

// psTable is ps's table: NAME STATUS READY RESTARTS AGE (wide: and
// kubectl's wide columns), or with containers a row per container.
func psTable(pods []*corev1.Pod, containers, wide bool) podTable {
	if containers {
		t := podTable{head: []string{"POD", "CONTAINER", "STATE", "EXIT CODE", "RESTARTS", "AGE"}, pad: 2, age: 5}
		for _, p := range pods {
			for _, cs := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
				state, code, since := containerState(cs)
				t.rows = append(t.rows, podRow{key: p.Name + "/" + cs.Name, pod: p,
					cells: []string{p.Name, cs.Name, state, code, fmt.Sprint(cs.RestartCount), since}})
			}
			if len(p.Status.ContainerStatuses) == 0 {
				t.rows = append(t.rows, podRow{key: p.Name, pod: p, cells: []string{p.Name, "-", podStatusWord(p), "", "", ""}})
			}
		}
		return t
	}
	t := podTable{head: []string{"NAME", "STATUS", "READY", "RESTARTS", "AGE"}, pad: 2, age: 4}
	if wide {
		t.head = append(t.head, wideHead...)
	}
	for _, p := range pods {
		ready, total, restarts := readyRestarts(p)
		cells := []string{p.Name, podStatusWord(p), fmt.Sprintf("%d/%d", ready, total), fmt.Sprint(restarts), age(p.Status.StartTime)}
		if wide {
			cells = append(cells, wideCells(p)...)
		}
		t.rows = append(t.rows, podRow{key: p.Name, pod: p, cells: cells})
	}
	return t
}

func containerState(cs corev1.ContainerStatus) (state, code, since string) {
	switch s := cs.State; {
	case s.Running != nil:
		return "Running", "", age(&s.Running.StartedAt)
	case s.Terminated != nil:
		return "Terminated (" + s.Terminated.Reason + ")", fmt.Sprint(s.Terminated.ExitCode), age(&s.Terminated.FinishedAt)
	case s.Waiting != nil:
		// A container waiting to restart shows how it last ended.
		if t := cs.LastTerminationState.Terminated; t != nil {
			code = fmt.Sprint(t.ExitCode)
		}
		return "Waiting (" + s.Waiting.Reason + ")", code, ""
	}
	return "Unknown", "", ""
}

func age(t *metav1.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	d := time.Since(t.Time).Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// readyRestarts counts a pod's ready containers, of how many, and the
// restarts of all its containers, as kubectl's READY and RESTARTS columns:
// since kubectl 1.29 a sidecar (an init container with restartPolicy
// Always) counts in READY's total, and in its ready ones once started and
// ready.
func readyRestarts(p *corev1.Pod) (ready, total int, restarts int32) {
	total = len(p.Spec.Containers)
	sidecar := make(map[string]bool)
	for _, c := range p.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecar[c.Name] = true
			total++
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Ready {
			ready++
		}
		restarts += cs.RestartCount
	}
	for _, cs := range p.Status.InitContainerStatuses {
		if sidecar[cs.Name] && cs.Started != nil && *cs.Started && cs.Ready {
			ready++
		}
		restarts += cs.RestartCount
	}
	return ready, total, restarts
}

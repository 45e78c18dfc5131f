package sandbox

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DescribeOptions say which pod to describe.
type DescribeOptions struct {
	Name string    // required
	Out  io.Writer // required
}

// Describe prints a pod as `kubectl describe pod` does: its containers
// with their states, last states and exit codes, conditions, volumes, and
// the events its PID 1 recorded.
func Describe(ctx context.Context, o DescribeOptions) error {
	p, evs, err := loadPod(ctx, o.Name, true)
	if err != nil {
		return err
	}
	describePod(o.Out, p, evs, time.Now())
	return nil
}

// describeTime is kubectl describe's time format.
const describeTime = time.RFC1123Z

func describePod(out io.Writer, p *corev1.Pod, evs []corev1.Event, now time.Time) {
	w := &describer{out: out}
	w.kv(0, "Name", p.Name)
	w.kv(0, "Namespace", p.Namespace)
	node := orNone(p.Spec.NodeName)
	if p.Status.HostIP != "" {
		node += "/" + p.Status.HostIP
	}
	w.kv(0, "Node", node)
	if t := p.Status.StartTime; t != nil {
		w.kv(0, "Start Time", t.Format(describeTime))
	}
	w.kv(0, "Labels", mapLines(p.Labels, "="))
	w.kv(0, "Annotations", mapLines(p.Annotations, ": "))
	status := string(p.Status.Phase)
	if p.DeletionTimestamp != nil {
		status = "Terminating"
	}
	w.kv(0, "Status", status)
	if p.Status.Reason != "" {
		w.kv(0, "Reason", p.Status.Reason)
	}
	if p.Status.Message != "" {
		w.kv(0, "Message", p.Status.Message)
	}
	w.kv(0, "IP", p.Status.PodIP)
	w.line(0, "IPs:")
	if len(p.Status.PodIPs) == 0 {
		w.line(2, "<none>")
	}
	for _, ip := range p.Status.PodIPs {
		w.kv(2, "IP", ip.IP)
	}
	if c := metav1.GetControllerOf(p); c != nil { // as kubectl: after the IPs
		w.kv(0, "Controlled By", c.Kind+"/"+c.Name)
	}
	if len(p.Spec.InitContainers) > 0 {
		w.line(0, "Init Containers:")
		for i := range p.Spec.InitContainers {
			describeContainer(w, &p.Spec.InitContainers[i], findStatus(p.Status.InitContainerStatuses, p.Spec.InitContainers[i].Name))
		}
	}
	w.line(0, "Containers:")
	for i := range p.Spec.Containers {
		describeContainer(w, &p.Spec.Containers[i], findStatus(p.Status.ContainerStatuses, p.Spec.Containers[i].Name))
	}
	if len(p.Status.Conditions) > 0 {
		w.line(0, "Conditions:")
		w.line(2, "Type\tStatus")
		for _, c := range p.Status.Conditions {
			w.line(2, "%s\t%s", c.Type, c.Status)
		}
	}
	w.line(0, "Volumes:")
	if len(p.Spec.Volumes) == 0 {
		w.line(2, "<none>")
	}
	for _, v := range p.Spec.Volumes {
		w.line(2, "%s:", v.Name)
		describeVolume(w, v)
	}
	if p.Status.QOSClass != "" {
		w.kv(0, "QoS Class", string(p.Status.QOSClass))
	}
	w.kv(0, "Node-Selectors", mapLines(p.Spec.NodeSelector, "="))
	w.flush()
	describeEvents(out, evs, now)
}

func describeContainer(w *describer, c *corev1.Container, cs *corev1.ContainerStatus) {
	w.line(2, "%s:", c.Name)
	if cs != nil && cs.ContainerID != "" {
		w.kv(4, "Container ID", cs.ContainerID)
	}
	w.kv(4, "Image", c.Image)
	if cs != nil {
		w.kv(4, "Image ID", cs.ImageID)
	} else {
		w.kv(4, "Image ID", "")
	}
	var ports, hostPorts []string
	for _, pt := range c.Ports {
		ports = append(ports, fmt.Sprintf("%d/%s", pt.ContainerPort, pt.Protocol))
		hp := fmt.Sprintf("%d/%s", pt.HostPort, pt.Protocol)
		if pt.HostIP != "" && pt.HostPort != 0 {
			hp = pt.HostIP + ":" + hp
		}
		hostPorts = append(hostPorts, hp)
	}
	if len(ports) <= 1 {
		w.kv(4, "Port", orNone(strings.Join(ports, "")))
		w.kv(4, "Host Port", orNone(strings.Join(hostPorts, "")))
	} else {
		w.kv(4, "Ports", strings.Join(ports, ", "))
		w.kv(4, "Host Ports", strings.Join(hostPorts, ", "))
	}
	list := func(key string, vals []string) {
		if len(vals) == 0 {
			return
		}
		w.line(4, "%s:", key)
		for _, v := range vals {
			w.line(6, "%s", v)
		}
	}
	list("Command", c.Command)
	list("Args", c.Args)
	if cs != nil {
		describeState(w, "State", cs.State)
		if cs.LastTerminationState != (corev1.ContainerState{}) {
			describeState(w, "Last State", cs.LastTerminationState)
		}
		w.kv(4, "Ready", boolWord(cs.Ready))
		w.kv(4, "Restart Count", fmt.Sprint(cs.RestartCount))
	} else {
		w.kv(4, "State", "Waiting")
		w.kv(4, "Ready", "False")
		w.kv(4, "Restart Count", "0")
	}
	for _, pr := range []struct {
		key string
		p   *corev1.Probe
	}{{"Liveness", c.LivenessProbe}, {"Readiness", c.ReadinessProbe}, {"Startup", c.StartupProbe}} {
		if pr.p != nil {
			w.kv(4, pr.key, describeProbe(pr.p))
		}
	}
	if len(c.Env) == 0 && len(c.EnvFrom) == 0 {
		w.kv(4, "Environment", "<none>")
	} else {
		w.line(4, "Environment:")
		for _, e := range c.Env {
			v := e.Value
			if e.ValueFrom != nil {
				v = "<set from a reference>"
			}
			w.line(6, "%s:\t%s", e.Name, v)
		}
		for _, ef := range c.EnvFrom {
			switch {
			case ef.ConfigMapRef != nil:
				w.line(6, "ConfigMap\t%s\tOptional: %v", ef.ConfigMapRef.Name, ef.ConfigMapRef.Optional != nil && *ef.ConfigMapRef.Optional)
			case ef.SecretRef != nil:
				w.line(6, "Secret\t%s\tOptional: %v", ef.SecretRef.Name, ef.SecretRef.Optional != nil && *ef.SecretRef.Optional)
			}
		}
	}
	w.line(4, "Mounts:")
	if len(c.VolumeMounts) == 0 {
		w.line(6, "<none>")
	}
	for _, m := range c.VolumeMounts {
		mode := "rw"
		if m.ReadOnly {
			mode = "ro"
		}
		from := m.Name
		if m.SubPath != "" {
			from += fmt.Sprintf(" (%s, path = %q)", mode, m.SubPath)
		} else {
			from += " (" + mode + ")"
		}
		w.line(6, "%s from %s", m.MountPath, from)
	}
}

func describeState(w *describer, key string, s corev1.ContainerState) {
	switch {
	case s.Running != nil:
		w.kv(4, key, "Running")
		w.kv(6, "Started", s.Running.StartedAt.Format(describeTime))
	case s.Waiting != nil:
		w.kv(4, key, "Waiting")
		if s.Waiting.Reason != "" {
			w.kv(6, "Reason", s.Waiting.Reason)
		}
		if s.Waiting.Message != "" {
			w.kv(6, "Message", s.Waiting.Message)
		}
	case s.Terminated != nil:
		t := s.Terminated
		w.kv(4, key, "Terminated")
		if t.Reason != "" {
			w.kv(6, "Reason", t.Reason)
		}
		if t.Message != "" {
			w.kv(6, "Message", t.Message)
		}
		w.kv(6, "Exit Code", fmt.Sprint(t.ExitCode))
		if t.Signal != 0 {
			w.kv(6, "Signal", fmt.Sprint(t.Signal))
		}
		if !t.StartedAt.IsZero() {
			w.kv(6, "Started", t.StartedAt.Format(describeTime))
		}
		if !t.FinishedAt.IsZero() {
			w.kv(6, "Finished", t.FinishedAt.Format(describeTime))
		}
	default:
		w.kv(4, key, "Waiting")
	}
}

func describeVolume(w *describer, v corev1.Volume) {
	s := v.VolumeSource
	switch {
	case s.EmptyDir != nil:
		w.kv(4, "Type", "EmptyDir (a temporary directory that shares a pod's lifetime)")
		w.kv(4, "Medium", string(s.EmptyDir.Medium))
		limit := "<unset>"
		if s.EmptyDir.SizeLimit != nil {
			limit = s.EmptyDir.SizeLimit.String()
		}
		w.kv(4, "SizeLimit", limit)
	case s.HostPath != nil:
		w.kv(4, "Type", "HostPath (bare host directory volume)")
		w.kv(4, "Path", s.HostPath.Path)
		t := ""
		if s.HostPath.Type != nil {
			t = string(*s.HostPath.Type)
		}
		w.kv(4, "HostPathType", t)
	case s.ConfigMap != nil:
		w.kv(4, "Type", "ConfigMap (a volume populated by a ConfigMap)")
		w.kv(4, "Name", s.ConfigMap.Name)
		w.kv(4, "Optional", fmt.Sprint(s.ConfigMap.Optional != nil && *s.ConfigMap.Optional))
	case s.Secret != nil:
		w.kv(4, "Type", "Secret (a volume populated by a Secret)")
		w.kv(4, "SecretName", s.Secret.SecretName)
		w.kv(4, "Optional", fmt.Sprint(s.Secret.Optional != nil && *s.Secret.Optional))
	case s.DownwardAPI != nil:
		w.kv(4, "Type", "DownwardAPI (a volume populated by information about the pod)")
	case s.PersistentVolumeClaim != nil: // kubectl's words
		w.kv(4, "Type", "PersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)")
		w.kv(4, "ClaimName", s.PersistentVolumeClaim.ClaimName)
		w.kv(4, "ReadOnly", fmt.Sprint(s.PersistentVolumeClaim.ReadOnly))
	default:
		w.kv(4, "Type", "<unknown>")
	}
}

// describeEvents prints the Events table: Type Reason Age From Message,
// "Age" as kubectl: "12s", or "3s (x4 over 40s)" for a repeated event.
func describeEvents(out io.Writer, evs []corev1.Event, now time.Time) {
	if len(evs) == 0 {
		fmt.Fprintln(out, "Events:  <none>")
		return
	}
	evs = append([]corev1.Event(nil), evs...)
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].LastTimestamp.Before(&evs[j].LastTimestamp) })
	fmt.Fprintln(out, "Events:")
	tw := tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  Type\tReason\tAge\tFrom\tMessage")
	fmt.Fprintln(tw, "  ----\t------\t----\t----\t-------")
	for _, e := range evs {
		a := shortAge(e.LastTimestamp, now)
		if e.Count > 1 {
			a = fmt.Sprintf("%s (x%d over %s)", a, e.Count, shortAge(e.FirstTimestamp, now))
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", e.Type, e.Reason, a, e.Source.Component, strings.TrimSpace(e.Message))
	}
	_ = tw.Flush()
}

func shortAge(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	d := now.Sub(t.Time)
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func findStatus(list []corev1.ContainerStatus, name string) *corev1.ContainerStatus {
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

func boolWord(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// mapLines prints a map as kubectl describe does: sorted key=value lines,
// <none> when empty.
func mapLines(m map[string]string, sep string) string {
	if len(m) == 0 {
		return "<none>"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var lines []string
	for _, k := range keys {
		lines = append(lines, k+sep+m[k])
	}
	return strings.Join(lines, "\n")
}

// describer writes `Key:  value` lines aligned by a tabwriter, indented.
type describer struct {
	out io.Writer
	tw  *tabwriter.Writer
}

func (d *describer) writer() *tabwriter.Writer {
	if d.tw == nil {
		d.tw = tabwriter.NewWriter(d.out, 0, 8, 2, ' ', 0)
	}
	return d.tw
}

func (d *describer) line(indent int, format string, args ...any) {
	fmt.Fprintf(d.writer(), strings.Repeat(" ", indent)+format+"\n", args...)
}

// kv writes "Key:\tvalue"; a multi-line value continues under the value
// column.
func (d *describer) kv(indent int, key, value string) {
	lines := strings.Split(value, "\n")
	d.line(indent, "%s:\t%s", key, lines[0])
	for _, l := range lines[1:] {
		d.line(indent, "\t%s", l)
	}
}

func (d *describer) flush() {
	if d.tw != nil {
		_ = d.tw.Flush()
	}
}

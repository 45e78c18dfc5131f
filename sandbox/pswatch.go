package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// WatchInterval is how often `ps -w` and `get -w` look at the pods again.
// podbox has no API server to stream changes from: a poll reads each pod's
// status from its PID 1 (the control socket), as `ps` does, which is cheap
// at a second's period and shows a pod start as it happens to a person.
const WatchInterval = time.Second

// podTable is what ps or get shows: a header and a row per pod (or per
// container), with the padding between columns.
type podTable struct {
	head []string
	rows []podRow
	pad  int // spaces between columns, as text/tabwriter's padding
	age  int // index of the AGE column, which a watch does not compare; -1: none
}

// podRow is one line of a podTable.
type podRow struct {
	key   string      // the pod, or "pod/container"
	pod   *corev1.Pod // what -o json, yaml or name print of it
	cells []string
}

// widths are the columns' widths in t: the widest cell, header included.
func (t podTable) widths() []int {
	w := make([]int, len(t.head))
	grow := func(cells []string) {
		for i, c := range cells {
			if i < len(w) && utf8.RuneCountInString(c) > w[i] {
				w[i] = utf8.RuneCountInString(c)
			}
		}
	}
	grow(t.head)
	for _, r := range t.rows {
		grow(r.cells)
	}
	return w
}

// writeLine writes cells padded to widths, as text/tabwriter would align
// them (the last cell unpadded); a cell wider than its column widens it.
func writeLine(w io.Writer, cells []string, widths []int, pad int) {
	var b strings.Builder
	for i, c := range cells {
		b.WriteString(c)
		if i == len(cells)-1 {
			break
		}
		n := utf8.RuneCountInString(c)
		if i < len(widths) && n > widths[i] {
			widths[i] = n
		}
		if i < len(widths) {
			n = widths[i] - n
		} else {
			n = 0
		}
		b.WriteString(strings.Repeat(" ", n+pad))
	}
	b.WriteByte('\n')
	io.WriteString(w, b.String())
}

// writeTable writes t whole and returns the column widths it used.
func writeTable(w io.Writer, t podTable) []int {
	widths := t.widths()
	writeLine(w, t.head, widths, t.pad)
	for _, r := range t.rows {
		writeLine(w, r.cells, widths, t.pad)
	}
	return widths
}

// sameRow compares two rows but for the AGE column, which changes by
// itself.
func sameRow(a, b []string, age int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if i != age && a[i] != b[i] {
			return false
		}
	}
	return true
}

// watchOptions say how to follow a podTable.
type watchOptions struct {
	output   string                                  // "" or wide: lines of the table; json, yaml, name: the pod
	interval time.Duration                           // 0: WatchInterval
	snapshot func(context.Context) (podTable, error) // required
	out      io.Writer                               // required
}

// watchTable prints the table, then, until ctx ends, a line (or an object
// for -o json, yaml, name) for each row that appeared or changed, as
// `kubectl get -w` does: no header again, the columns as wide as the first
// table's. A pod that goes away is printed once more as it was last seen,
// as kubectl prints the object of a DELETED event. A snapshot that fails
// after the first (a pod removed while it was read) is skipped.
func watchTable(ctx context.Context, o watchOptions) error {
	t, err := o.snapshot(ctx)
	if err != nil {
		return err
	}
	var widths []int
	if o.output == "" || o.output == "wide" {
		widths = writeTable(o.out, t)
	}
	emit := func(r podRow) error {
		switch o.output {
		case "", "wide":
			writeLine(o.out, r.cells, widths, t.pad)
			return nil
		}
		return writePod(o.out, r.pod, o.output)
	}
	last := map[string]podRow{}
	var order []string
	for _, r := range t.rows {
		last[r.key] = r
		order = append(order, r.key)
		if widths == nil {
			if err := emit(r); err != nil {
				return err
			}
		}
	}
	interval := o.interval
	if interval <= 0 {
		interval = WatchInterval
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		nt, err := o.snapshot(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			continue
		}
		seen := map[string]bool{}
		var next []string
		for _, r := range nt.rows {
			seen[r.key] = true
			next = append(next, r.key)
			if prev, ok := last[r.key]; ok && sameRow(prev.cells, r.cells, t.age) {
				continue
			}
			last[r.key] = r
			if err := emit(r); err != nil {
				return err
			}
		}
		for _, k := range order {
			if !seen[k] {
				if err := emit(last[k]); err != nil {
					return err
				}
				delete(last, k)
			}
		}
		order = next
	}
}

// writePod writes one pod for a watch: pod/NAME, a JSON object, or a YAML
// document after `---`.
func writePod(w io.Writer, p *corev1.Pod, output string) error {
	p.APIVersion, p.Kind = "v1", "Pod"
	switch output {
	case "name":
		_, err := fmt.Fprintf(w, "pod/%s\n", p.Name)
		return err
	case "yaml":
		b, err := yaml.Marshal(p)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "---\n%s", b)
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "    ")
	enc.SetEscapeHTML(false)
	return enc.Encode(p)
}

// wideHead are the columns `kubectl get pods -o wide` adds; wideCells
// fills them for a pod (READINESS GATES: true ones of how many, or <none>).
var wideHead = []string{"IP", "NODE", "NOMINATED NODE", "READINESS GATES"}

func wideCells(p *corev1.Pod) []string {
	gates := "<none>"
	if n := len(p.Spec.ReadinessGates); n > 0 {
		ok := 0
		for _, g := range p.Spec.ReadinessGates {
			for _, c := range p.Status.Conditions {
				if c.Type == g.ConditionType && c.Status == corev1.ConditionTrue {
					ok++
				}
			}
		}
		gates = fmt.Sprintf("%d/%d", ok, n)
	}
	return []string{orNone(p.Status.PodIP), orNone(p.Spec.NodeName), orNone(p.Status.NominatedNodeName), gates}
}

package manifest

// `podbox explain` and the table of Pod fields (FIELDS.md): what podbox
// does with each field, read from the lists in supported.go, walking the
// corev1.Pod type by reflection so that no field of the API is left out
// (a field Kubernetes adds shows up as ignored until the list says more).

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"text/tabwriter"

	corev1 "k8s.io/api/core/v1"
)

// Support is what podbox does with a Pod field.
type Support string

// The answers of Explain, as FIELDS.md words them.
const (
	Honoured       Support = "honoured"
	HonouredInPart Support = "honoured in part" // some of its fields are ignored: see them
	Accepted       Support = "accepted without effect"
	Refused        Support = "refused" // some values (the note says which) are an error
	Ignored        Support = "ignored with a warning"
)

// FieldInfo is what Explain tells of one field.
type FieldInfo struct {
	Path    string  // the pattern: spec.containers[*].livenessProbe
	Type    string  // as kubectl explain names it: Probe, []Container, string
	Support Support // what podbox does with it
	Note    string  // why, or which values are refused; may be ""
	Fields  []FieldInfo
}

// ErrNoField reports a field path that a Pod does not have.
var ErrNoField = errors.New("no such field in a Pod")

var podType = reflect.TypeOf(corev1.Pod{})

// ExplainField describes the Pod field at path, written as kubectl explain
// takes it (spec.containers.livenessProbe, with or without a leading
// "pod."; [*] or [0] after a list is allowed), with its fields one level
// down. "" is the Pod itself.
func ExplainField(path string) (*FieldInfo, error) {
	path = strings.TrimPrefix(strings.TrimPrefix(path, "pods."), "pod.")
	if path == "pod" || path == "pods" {
		path = ""
	}
	t, pattern := podType, ""
	if path != "" {
		for _, seg := range strings.Split(path, ".") {
			seg, _, _ = strings.Cut(seg, "[")
			ft, ok := structFields(t)[seg]
			if !ok {
				return nil, fmt.Errorf("explain %s: %w (podbox explain %s lists the fields there)", path, ErrNoField, strings.TrimSuffix(strings.TrimSuffix(pattern, "[*]"), "."))
			}
			pattern = join(pattern, seg)
			t = deref(ft)
			for t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
				if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
					break
				}
				pattern += "[*]"
				t = deref(t.Elem())
			}
		}
	}
	info := describeField(pattern, fieldType(podType, path))
	if t.Kind() == reflect.Struct && !opaque(t) {
		for _, name := range sortedFieldNames(t) {
			ft := structFields(t)[name]
			info.Fields = append(info.Fields, describeField(elemPattern(join(pattern, name), ft), ft))
		}
	}
	return &info, nil
}

// Explain writes ExplainField's answer for path, as kubectl explain lays
// it out.
func Explain(w io.Writer, path string) error {
	info, err := ExplainField(path)
	if err != nil {
		return err
	}
	if info.Path == "" {
		fmt.Fprintf(w, "KIND:     Pod\nVERSION:  v1\n")
	} else {
		fmt.Fprintf(w, "FIELD:    %s <%s>\n", info.Path, info.Type)
		fmt.Fprintf(w, "PODBOX:   %s\n", info.Support)
		if info.Note != "" {
			fmt.Fprintf(w, "          %s\n", info.Note)
		}
	}
	if len(info.Fields) > 0 {
		fmt.Fprintf(w, "\nFIELDS:\n")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, f := range info.Fields {
			name := f.Path[strings.LastIndex(strings.TrimSuffix(f.Path, "[*]"), ".")+1:]
			fmt.Fprintf(tw, "  %s\t<%s>\t%s\n", strings.TrimSuffix(name, "[*]"), f.Type, f.Support)
		}
		tw.Flush()
	}
	return nil
}

// FieldsTable writes, as markdown, every field of a Pod down to where
// podbox treats a field and all below it alike: FIELDS.md.
func FieldsTable(w io.Writer) {
	fmt.Fprintln(w, "| Pod field | podbox | note |")
	fmt.Fprintln(w, "| --- | --- | --- |")
	var rows func(t reflect.Type, pattern string)
	rows = func(t reflect.Type, pattern string) {
		for _, name := range sortedFieldNames(t) {
			ft := structFields(t)[name]
			p := elemPattern(join(pattern, name), ft)
			info := describeField(p, ft)
			fmt.Fprintf(w, "| `%s` | %s | %s |\n", p, info.Support, strings.ReplaceAll(info.Note, "|", "\\|"))
			et := deref(elemType(ft))
			if et.Kind() == reflect.Struct && !opaque(et) && (info.Support == HonouredInPart || listedBelow(p)) {
				rows(et, p)
			}
		}
	}
	rows(podType, "")
}

// describeField says what podbox does with the field at pattern, of type t.
func describeField(pattern string, t reflect.Type) FieldInfo {
	l, note := classify(pattern)
	info := FieldInfo{Path: pattern, Type: typeName(t), Note: note}
	switch l {
	case supportedAll:
		info.Support = Honoured
	case supportedSome:
		info.Support = HonouredInPart
	case acceptedOnly:
		info.Support = Accepted
	case refusedSome:
		info.Support = Refused
	default:
		info.Support = Ignored
	}
	if pattern == "" {
		info.Support = HonouredInPart
	}
	return info
}

// classify finds what applies to pattern: its own entry, else what its
// nearest listed parent says of everything below it (a field not listed
// under a supportedSome parent is ignored).
func classify(pattern string) (level, string) {
	for p := pattern; p != ""; p = parentPattern(p) {
		l, ok := lookup(p)
		if !ok {
			continue
		}
		if l == unsupported || (l == supportedSome && p != pattern) {
			break
		}
		if l == refusedSome && p != pattern {
			return supportedAll, "" // what is refused is a value of p
		}
		return l, noteFor(p)
	}
	for p := pattern; p != ""; p = parentPattern(p) {
		if m, ok := messages[p]; ok {
			return unsupported, m
		}
	}
	return unsupported, unsupportedMsg(pattern)
}

// lookup is the entry for pattern in podFields or containerFields.
func lookup(pattern string) (level, bool) {
	pattern = strings.TrimSuffix(pattern, "[*]")
	if l, ok := podFields[pattern]; ok {
		return l, true
	}
	if rel, ok := containerRel(pattern); ok {
		l, ok := containerFields[rel]
		return l, ok
	}
	return unsupported, false
}

func noteFor(pattern string) string {
	pattern = strings.TrimSuffix(pattern, "[*]")
	if n, ok := notes[pattern]; ok {
		return n
	}
	if rel, ok := containerRel(pattern); ok {
		return notes[rel]
	}
	return ""
}

// listedBelow reports whether a list entry is more specific than pattern.
func listedBelow(pattern string) bool {
	base := strings.TrimSuffix(pattern, "[*]")
	var keys []string
	for k := range podFields {
		keys = append(keys, k)
	}
	for k := range containerFields {
		keys = append(keys, "spec.containers[*]."+k, "spec.initContainers[*]."+k)
	}
	for _, k := range keys {
		if strings.HasPrefix(k, base+".") || strings.HasPrefix(k, base+"[*].") {
			return true
		}
	}
	return false
}

// parentPattern drops the last field (and list marker) of a pattern.
func parentPattern(p string) string {
	p = strings.TrimSuffix(p, "[*]")
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return strings.TrimSuffix(p[:i], "[*]")
	}
	return ""
}

// elemPattern is the pattern of a field of type t named by p: with [*]
// for a list or map, as the walk writes it.
func elemPattern(p string, t reflect.Type) string {
	t = deref(t)
	if (t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8) || t.Kind() == reflect.Map {
		return p + "[*]"
	}
	return p
}

func elemType(t reflect.Type) reflect.Type {
	t = deref(t)
	for (t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8) || t.Kind() == reflect.Map {
		t = deref(t.Elem())
	}
	return t
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// fieldType is the type of the field at a dotted path of t ("" is t).
func fieldType(t reflect.Type, path string) reflect.Type {
	if path == "" {
		return t
	}
	for _, seg := range strings.Split(path, ".") {
		seg, _, _ = strings.Cut(seg, "[")
		t = structFields(elemType(t))[seg]
	}
	return t
}

// structFields are jsonFields of a struct type, any other type having none.
func structFields(t reflect.Type) map[string]reflect.Type {
	t = elemType(t)
	if t.Kind() != reflect.Struct || opaque(t) {
		return nil
	}
	return jsonFields(t)
}

func sortedFieldNames(t reflect.Type) []string {
	m := structFields(t)
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	// apiVersion, kind, metadata, spec, status first, as a manifest has them.
	order := map[string]int{"apiVersion": 1, "kind": 2, "metadata": 3, "spec": 4, "status": 5}
	sort.Slice(names, func(i, j int) bool {
		oi, oj := order[names[i]], order[names[j]]
		if oi != oj {
			return oi != 0 && (oj == 0 || oi < oj)
		}
		return names[i] < names[j]
	})
	return names
}

// opaque types decode themselves (Quantity, IntOrString, Time): no fields.
func opaque(t reflect.Type) bool { return reflect.PointerTo(t).Implements(jsonUnmarshaler) }

// typeName names a type as kubectl explain does.
func typeName(t reflect.Type) string {
	t = deref(t)
	switch t.Kind() {
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "string" // base64
		}
		return "[]" + typeName(t.Elem())
	case reflect.Map:
		return "map[string]" + typeName(t.Elem())
	case reflect.Struct:
		return t.Name()
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Interface:
		return "Object"
	}
	return "integer"
}

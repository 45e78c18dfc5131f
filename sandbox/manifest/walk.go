package manifest

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// walker checks a YAML node tree against a Go type the way encoding/json
// would decode it, but field by field, so that an unknown field or a value
// of the wrong type is reported with its path and line. It also records
// the line of every field path and warns about fields podbox ignores.
type walker struct {
	file         string
	lines        map[string]int // "spec.containers[0].image" → line of its key
	warnings     []string
	ignored      []*Error // the fields among warnings that podbox ignores
	checkSupport bool
	// For a workload (kinds.go): the fields of the kind itself, and the
	// path prefix of its pod template ("spec.template."), below which the
	// Pod's list applies.
	kind *kindInfo
}

var jsonUnmarshaler = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()

// walk checks node n against type t at field path path; pattern is path
// with list indexes as [*], for supported.go.
func (w *walker) walk(n *yaml.Node, t reflect.Type, path, pattern string) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) {
		// resource.Quantity, intstr.IntOrString, metav1.Time: let the type
		// judge the value itself.
		js, err := json.Marshal(toPlain(n))
		if err == nil {
			err = json.Unmarshal(js, reflect.New(t).Interface())
		}
		if err != nil {
			return w.errf(n, path, "invalid value %s: %v", shortValue(n), cleanJSONErr(err))
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return w.errf(n, path, "must be a mapping (object), got %s", describe(n))
		}
		fields := jsonFields(t)
		seen := make(map[string]int, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.ShortTag() == "!!merge" {
				continue // YAML merge keys (<<): their fields are checked where they were written
			}
			name := k.Value
			p, pat := join(path, name), join(pattern, name)
			if err := w.once(seen, k, p); err != nil {
				return err
			}
			w.lines[p] = k.Line
			ft, ok := fields[name]
			if !ok {
				return w.errf(k, p, "unknown field")
			}
			if w.checkSupport && !isEmpty(v) {
				switch w.support(pat) {
				case unsupported:
					e := &Error{File: w.file, Line: k.Line, Field: p, Msg: w.unsupportedMsg(pat)}
					w.warnings = append(w.warnings, e.Error())
					w.ignored = append(w.ignored, e)
					fallthrough
				case supportedAll, acceptedOnly, refusedSome: // check the types below, warn no more
					inner := *w
					inner.checkSupport = false
					inner.warnings, inner.ignored = nil, nil
					if err := inner.walk(v, ft, p, pat); err != nil {
						return err
					}
					continue
				}
			}
			if err := w.walk(v, ft, p, pat); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return w.errf(n, path, "must be a mapping (object), got %s", describe(n))
		}
		seen := make(map[string]int, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := path + "[" + k.Value + "]"
			if err := w.once(seen, k, p); err != nil {
				return err
			}
			w.lines[p] = k.Line
			if err := w.walk(v, t.Elem(), p, pattern+"[*]"); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 { // []byte: base64 in JSON
			if n.Kind != yaml.ScalarNode {
				return w.errf(n, path, "must be a base64 string, got %s", describe(n))
			}
			return nil
		}
		if n.Kind != yaml.SequenceNode {
			return w.errf(n, path, "must be a list, got %s", describe(n))
		}
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			w.lines[p] = c.Line
			if err := w.walk(c, t.Elem(), p, pattern+"[*]"); err != nil {
				return err
			}
		}
		return nil
	case reflect.Interface:
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return w.errf(n, path, "must be a %s, got %s", kindName(t), describe(n))
	}
	tag := n.ShortTag()
	switch t.Kind() {
	case reflect.String:
		if tag != "!!str" {
			return w.errf(n, path, "must be a string, got %s (quote it)", describe(n))
		}
	case reflect.Bool:
		if tag != "!!bool" {
			return w.errf(n, path, "must be true or false, got %s", describe(n))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var v int64
		if tag != "!!int" || n.Decode(&v) != nil {
			return w.errf(n, path, "must be an integer, got %s", describe(n))
		}
		bits := t.Bits()
		if v < -1<<(bits-1) || (bits < 64 && v > 1<<(bits-1)-1) {
			return w.errf(n, path, "%d is out of range", v)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var v uint64
		if tag != "!!int" || n.Decode(&v) != nil {
			return w.errf(n, path, "must be a non-negative integer, got %s", describe(n))
		}
		if t.Bits() < 64 && v > 1<<t.Bits()-1 {
			return w.errf(n, path, "%d is out of range", v)
		}
	case reflect.Float32, reflect.Float64:
		var v float64
		if (tag != "!!int" && tag != "!!float") || n.Decode(&v) != nil || math.IsNaN(v) {
			return w.errf(n, path, "must be a number, got %s", describe(n))
		}
	}
	return nil
}

// once refuses a key already seen in the same mapping: the API server's
// strict decoding does, where encoding/json would keep the last value.
func (w *walker) once(seen map[string]int, k *yaml.Node, path string) error {
	if first, dup := seen[k.Value]; dup {
		return w.errf(k, path, "duplicate key (first at line %d)", first)
	}
	seen[k.Value] = k.Line
	return nil
}

func (w *walker) errf(n *yaml.Node, path, format string, args ...any) error {
	return &Error{File: w.file, Line: n.Line, Field: path, Msg: fmt.Sprintf(format, args...)}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// isEmpty reports whether a value means "the default": null, {}, [], false,
// 0 or "".
func isEmpty(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode, yaml.SequenceNode:
		return len(n.Content) == 0
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return true
		case "!!bool":
			return n.Value == "false"
		case "!!int", "!!float":
			f, err := strconv.ParseFloat(n.Value, 64)
			return err == nil && f == 0
		case "!!str":
			return n.Value == ""
		}
	}
	return false
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.ShortTag() {
	case "!!int":
		return "integer " + n.Value
	case "!!float":
		return "number " + n.Value
	case "!!bool":
		return "boolean " + n.Value
	case "!!str":
		return "string " + strconv.Quote(n.Value)
	}
	return shortValue(n)
}

func shortValue(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return strconv.Quote(n.Value)
	}
	return describe(n)
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Float32, reflect.Float64:
		return "number"
	}
	return "integer"
}

// cleanJSONErr drops encoding/json's Go type names from an error message.
func cleanJSONErr(err error) string {
	s := err.Error()
	if i := strings.Index(s, "into Go"); i > 0 {
		s = strings.TrimSpace(s[:i])
	}
	return strings.TrimPrefix(s, "json: ")
}

var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// jsonFields maps a struct's JSON field names to their types, with
// embedded and `json:",inline"` structs flattened as encoding/json does.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if (f.Anonymous && name == "") || strings.Contains(","+opts+",", ",inline,") {
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					if _, ok := m[k]; !ok {
						m[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	fieldCache.Store(t, m)
	return m
}

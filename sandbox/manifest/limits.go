package manifest

import (
	"fmt"

	"go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Limits on what a manifest may hold, after the API server's.
const (
	// MaxFileSize is the largest manifest podbox reads: kube-apiserver
	// refuses request bodies over 3 MiB (its MaxRequestBodyBytes).
	MaxFileSize = 3 << 20
	// MaxExpandedSize bounds a file with its YAML aliases expanded, measured
	// as the bytes of every scalar plus one per node, which is never more
	// than 1.5 times the size of the same file written out without aliases:
	// twice MaxFileSize lets any file without aliases through, and keeps
	// what the walk and the decoding build proportionate to the cap.
	MaxExpandedSize = 2 * MaxFileSize
	// MaxAnnotationsSize is the API server's TotalAnnotationSizeLimitB:
	// the keys and values of an object's annotations, together.
	MaxAnnotationsSize = 256 << 10
)

// Stdin is the manifest path that means standard input, as with kubectl's
// `-f -`; messages then name the file stdinName.
const (
	Stdin     = "-"
	stdinName = "<stdin>"
)

// expansion measures what the YAML aliases of a file expand to before
// anything follows them: go.yaml.in/yaml/v3 keeps an alias as a pointer to
// its anchored node, so a few hundred bytes of nested aliases ("billion
// laughs") stand for gigabytes once walked or decoded. Anchored nodes are
// measured once (memo), so measuring costs time and memory in proportion
// to the file, not to its expansion.
type expansion struct {
	file  string
	total int64                // of the documents measured so far
	memo  map[*yaml.Node]int64 // anchored node → its expanded size; -1 while being measured
}

// add measures one document and fails once the file's expansion passes
// MaxExpandedSize, or when an alias refers to a node that contains it
// (yaml.v3 accepts `a: &a [*a]`, which no walk would finish).
func (x *expansion) add(doc *yaml.Node) error {
	if x.memo == nil {
		x.memo = map[*yaml.Node]int64{}
	}
	s, err := x.size(doc, doc)
	if err != nil {
		return err
	}
	x.total += s
	if x.total > MaxExpandedSize {
		return x.tooLarge(doc)
	}
	return nil
}

func (x *expansion) size(n, at *yaml.Node) (int64, error) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		at, n = n, n.Alias
	}
	if n.Anchor != "" {
		switch s, ok := x.memo[n]; {
		case ok && s < 0:
			return 0, &Error{File: x.file, Line: at.Line, Msg: fmt.Sprintf("YAML alias *%s refers to a value that contains it", n.Anchor)}
		case ok:
			return s, nil
		}
		x.memo[n] = -1
	}
	s := int64(len(n.Value)) + 1
	for _, c := range n.Content {
		cs, err := x.size(c, c)
		if err != nil {
			return 0, err
		}
		if s += cs; x.total+s > MaxExpandedSize {
			return 0, x.tooLarge(c)
		}
	}
	if n.Anchor != "" {
		x.memo[n] = s
	}
	return s, nil
}

func (x *expansion) tooLarge(at *yaml.Node) error {
	return &Error{File: x.file, Line: at.Line, Msg: fmt.Sprintf("YAML aliases expand the file past %d MiB (%d MiB is the largest manifest the API server accepts): write out fewer aliases", MaxExpandedSize>>20, MaxFileSize>>20)}
}

// checkAnnotations refuses annotations over MaxAnnotationsSize in total,
// with the API server's message.
func checkAnnotations(file string, lines map[string]int, obj any) error {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil
	}
	total := 0
	for k, v := range m.GetAnnotations() {
		total += len(k) + len(v)
	}
	if total <= MaxAnnotationsSize {
		return nil
	}
	const field = "metadata.annotations"
	return &Error{File: file, Line: lines[field], Field: field, Msg: fmt.Sprintf("too long: must have at most %d bytes in total (keys and values), got %d", MaxAnnotationsSize, total)}
}

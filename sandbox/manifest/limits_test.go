package manifest

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
)

// laughs is a "billion laughs" pod: nine levels of ten aliases, 10^9
// strings once expanded, in under 1 KiB.
func laughs() string {
	var b strings.Builder
	b.WriteString(podHead + "  containers:\n  - name: a\n    image: b\n    args:\n")
	b.WriteString(`    - &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]` + "\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "    - &l%d [*l%[2]d, *l%[2]d, *l%[2]d, *l%[2]d, *l%[2]d, *l%[2]d, *l%[2]d, *l%[2]d, *l%[2]d, *l%[2]d]\n", i, i-1)
	}
	return b.String()
}

// wideAliases is a valid pod whose args repeat one anchored 64 KiB string
// n times: the "one anchored value referenced many times".
func wideAliases(n int) string {
	var b strings.Builder
	b.WriteString(podHead + "  containers:\n  - name: a\n    image: b\n    args:\n")
	fmt.Fprintf(&b, "    - &big %q\n", strings.Repeat("x", 64<<10))
	for i := 1; i < n; i++ {
		b.WriteString("    - *big\n")
	}
	return b.String()
}

// pad fills s up to n bytes with x.
func pad(s string, n int) string { return s + strings.Repeat("x", n-len(s)) }

func TestLimitErrors(t *testing.T) {
	annotations := podHead[:strings.Index(podHead, "spec:")] + "  annotations:\n" +
		"    a: " + strings.Repeat("x", 128<<10) + "\n" +
		"    b: " + strings.Repeat("y", 128<<10) + "\n" +
		"spec:\n  containers: [{name: a, image: b}]\n"
	tests := []struct {
		name  string
		yaml  string
		line  int
		field string
		msg   string // substring
	}{
		{"duplicate field", podHead + "  containers:\n  - name: a\n    image: b\n    command: [sh]\n    image: c\n",
			10, "spec.containers[0].image", "duplicate key (first at line 8)"},
		{"duplicate top-level field", podHead + "  containers: [{name: a, image: b}]\nspec:\n  containers: [{name: a, image: c}]\n",
			7, "spec", "duplicate key (first at line 5)"},
		{"duplicate map key", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n    app: a\n    app: b\nspec:\n  containers: [{name: a, image: b}]\n",
			7, "metadata.labels[app]", "duplicate key (first at line 6)"},
		{"duplicate key in a ConfigMap", podHead + "  containers: [{name: a, image: b}]\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: a, k: b}\n",
			11, "data[k]", "duplicate key (first at line 11)"},
		{"annotations over 256 KiB", annotations, 5, "metadata.annotations", "must have at most 262144 bytes"},
		{"alias that contains itself", podHead + "  containers:\n  - &c {name: a, image: b, args: *c}\n", 7, "", "YAML alias *c refers to a value that contains it"},
		{"billion laughs", laughs(), 16, "", "YAML aliases expand the file past 6 MiB"},
		{"one value referenced many times", wideAliases(100), 105, "", "YAML aliases expand the file past 6 MiB"},
		{"file over 3 MiB", pad(podHead+"  containers: [{name: a, image: b}]\n#", MaxFileSize+1), 0, "", "larger than 3 MiB"},
	}
	for _, tc := range tests {
		checkParseError(t, parseErrorCase(tc))
	}
}

func TestLimitsLetThrough(t *testing.T) {
	tests := []struct{ name, yaml string }{
		{"a merge key's field overridden", podHead + "  containers:\n  - &base {name: a, image: b}\n  - <<: *base\n    name: c\n"},
		{"aliases under the cap", wideAliases(90)},
		{"annotations of 256 KiB", podHead[:strings.Index(podHead, "spec:")] + "  annotations:\n    a: " + strings.Repeat("x", 256<<10-1) + "\nspec:\n  containers: [{name: a, image: b}]\n"},
		{"a file of 3 MiB", pad(podHead+"  containers: [{name: a, image: b}]\n#", MaxFileSize)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse("pod.yaml", []byte(tc.yaml)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestAliasesBoundedMemory loads manifests whose aliases expand to far more
// than the cap, and checks that refusing them costs what their bytes cost.
func TestAliasesBoundedMemory(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml []byte
	}{
		{"billion laughs", []byte(laughs())},
		{"one value referenced many times", []byte(wideAliases(2000))}, // 128 MiB expanded
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := Parse("pod.yaml", tc.yaml)
			runtime.ReadMemStats(&after)
			if err == nil || !strings.Contains(err.Error(), "YAML aliases expand the file past") {
				t.Fatalf("got %v, want the alias expansion error", err)
			}
			// The yaml.v3 node tree of the file itself, and a margin.
			limit := uint64(len(tc.yaml))*4 + 1<<20
			if got := after.TotalAlloc - before.TotalAlloc; got > limit {
				t.Errorf("allocated %d bytes to refuse a %d-byte file, want at most %d", got, len(tc.yaml), limit)
			}
		})
	}
}

func TestLoadStdin(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() {
		defer w.Close()
		fmt.Fprint(w, podHead+"  containers:\n  - name: a\n    image: b\n    image: c\n")
	}()
	stdin := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = stdin }()
	_, err = Load(Stdin)
	if got, want := fmt.Sprint(err), "<stdin>:9: spec.containers[0].image: duplicate key (first at line 8)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLoadEndless(t *testing.T) {
	_, err := Load("/dev/zero")
	if got, want := fmt.Sprint(err), "/dev/zero: larger than 3 MiB"; !strings.HasPrefix(got, want) {
		t.Errorf("got %q, want %q…", got, want)
	}
}

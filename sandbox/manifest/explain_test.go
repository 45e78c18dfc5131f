package manifest

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

var update = flag.Bool("update", false, "rewrite FIELDS.md")

// TestFieldsTable keeps FIELDS.md, the table of what podbox does with
// each Pod field, in step with supported.go: go test -run TestFieldsTable
// -update rewrites it.
func TestFieldsTable(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(fieldsHeader)
	FieldsTable(&b)
	if *update {
		if err := os.WriteFile("FIELDS.md", b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old, err := os.ReadFile("FIELDS.md")
	if err != nil {
		t.Fatalf("%v (go test -run TestFieldsTable -update writes it)", err)
	}
	if !bytes.Equal(old, b.Bytes()) {
		t.Errorf("FIELDS.md is not what supported.go says: go test -run TestFieldsTable -update rewrites it")
	}
	// Every field of PodSpec and Container has its row.
	for _, tc := range []struct {
		prefix string
		t      reflect.Type
	}{{"spec.", reflect.TypeOf(corev1.PodSpec{})}, {"spec.containers[*].", reflect.TypeOf(corev1.Container{})}} {
		for name, ft := range jsonFields(tc.t) {
			row := "| `" + elemPattern(tc.prefix+name, ft) + "` |"
			if !strings.Contains(b.String(), row) {
				t.Errorf("no row %s", row)
			}
		}
	}
}

const fieldsHeader = `# What podbox does with each Pod field

Generated from sandbox/manifest/supported.go by ` + "`go test -run TestFieldsTable -update ./sandbox/manifest`" + `
(` + "`podbox explain --table`" + ` prints the same). Every field of the Pod type of
k8s.io/api is listed, down to where podbox treats a field and all below it
alike. A field "ignored with a warning" makes ` + "`podbox up`" + ` warn, naming its
file and line; ` + "`podbox up --strict`" + ` refuses it. ` + "`podbox explain FIELD`" + ` says
the same for one field, with its fields.

`

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		path string
		want Support
	}{
		{"spec.containers.livenessProbe", Honoured},
		{"spec.containers.livenessProbe.httpGet.port", Honoured},
		{"spec.initContainers[0].image", Honoured},
		{"spec.containers", HonouredInPart},
		{"spec.hostNetwork", Ignored},
		{"spec.containers.tty", Ignored},
		{"spec.containers.resources", Accepted},
		{"spec.containers.resources.limits", Accepted},
		{"spec.nodeSelector", Accepted},
		{"spec.containers.securityContext.privileged", Refused},
		{"pod.metadata.generateName", Refused},
		{"metadata.labels", Honoured},
		{"spec.volumes.configMap.items", Honoured},
		{"spec.volumes.nfs", Ignored},
		{"status.phase", Ignored},
	} {
		t.Run(tc.path, func(t *testing.T) {
			info, err := ExplainField(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if info.Support != tc.want {
				t.Errorf("%s: %s, want %s", tc.path, info.Support, tc.want)
			}
		})
	}
	if _, err := ExplainField("spec.containers.nope"); !errors.Is(err, ErrNoField) {
		t.Errorf("unknown field: %v, want ErrNoField", err)
	}
}

// The walk at load and explain agree: what explain calls ignored is what
// Load warns about.
func TestStrictIgnored(t *testing.T) {
	f, err := Parse("pod.yaml", []byte(`apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  hostNetwork: true
  nodeSelector: {disk: ssd}
  containers:
  - name: c
    image: busybox
    tty: true
    resources: {limits: {memory: 64Mi, ephemeral-storage: 1Gi}}
    resizePolicy: [{resourceName: cpu, restartPolicy: NotRequired}]
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range f.Ignored {
		got = append(got, e.Error())
	}
	want := []string{"pod.yaml:5: spec.hostNetwork: not supported yet, ignored", "pod.yaml:10: spec.containers[0].tty: not supported yet, ignored"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Ignored = %q, want %q", got, want)
	}
	if !reflect.DeepEqual(f.Warnings, want) {
		t.Errorf("Warnings = %q, want %q", f.Warnings, want)
	}
}

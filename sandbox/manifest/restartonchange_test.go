package manifest

import (
	"reflect"
	"strings"
	"testing"
)

const rocHead = `apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations:
    podbox.io/restart-on-change: %s
spec:
  volumes:
  - {name: src, hostPath: {path: /tmp/src}}
  - {name: data, emptyDir: {}}
  initContainers: [{name: init, image: b}]
  containers:
  - name: web
    image: b
    volumeMounts: [{name: src, mountPath: /src}, {name: src, mountPath: /app.py, subPath: app.py}]
  - name: db
    image: b
    volumeMounts: [{name: data, mountPath: /data}]
`

func rocPod(value string) string { return strings.Replace(rocHead, "%s", value, 1) }

func TestRestartOnChange(t *testing.T) {
	f, err := Parse("pod.yaml", []byte(rocPod(`" web , web"`)))
	if err != nil {
		t.Fatal(err)
	}
	p := f.Pods[0]
	if got := RestartOnChange(p); !reflect.DeepEqual(got, []string{"web"}) {
		t.Errorf("RestartOnChange = %q, want [web]", got)
	}
	if got := HostPathMounts(p, &p.Spec.Containers[0]); !reflect.DeepEqual(got, []string{"/tmp/src", "/tmp/src/app.py"}) {
		t.Errorf("HostPathMounts = %q", got)
	}
	const field = "metadata.annotations[podbox.io/restart-on-change]"
	for _, tc := range []parseErrorCase{
		{"unknown container", rocPod("web,api"), 6, field, `no container "api" in the pod (its containers: web, db)`},
		{"init container", rocPod("init"), 6, field, `"init" is an init container`},
		{"no hostPath", rocPod("db"), 6, field, `container "db" mounts no hostPath volume`},
		{"empty name", rocPod(`"web,"`), 6, field, "comma-separated list of container names"},
	} {
		checkParseError(t, tc)
	}
}

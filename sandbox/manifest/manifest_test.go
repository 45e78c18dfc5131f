package manifest

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestLoadGood(t *testing.T) {
	f, err := Load("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Pods) != 2 || len(f.ConfigMaps) != 1 || len(f.Secrets) != 1 {
		t.Fatalf("got %d pods, %d configmaps, %d secrets; want 2, 1, 1", len(f.Pods), len(f.ConfigMaps), len(f.Secrets))
	}
	if len(f.Warnings) != 0 {
		t.Errorf("warnings: %q", f.Warnings)
	}
	web, other := f.Pods[0], f.Pods[1]
	checks := []struct {
		name      string
		got, want any
	}{
		{"web namespace default", web.Namespace, "default"},
		{"web restartPolicy as given", web.Spec.RestartPolicy, corev1.RestartPolicyNever},
		{"web grace default", *web.Spec.TerminationGracePeriodSeconds, int64(30)},
		{"tagged image pull policy", web.Spec.Containers[0].ImagePullPolicy, corev1.PullIfNotPresent},
		{"untagged image pull policy", web.Spec.Containers[1].ImagePullPolicy, corev1.PullAlways},
		{"port protocol default", web.Spec.Containers[0].Ports[0].Protocol, corev1.ProtocolTCP},
		{"sizeLimit", web.Spec.Volumes[1].EmptyDir.SizeLimit.String(), "64Mi"},
		{"subPath", web.Spec.Containers[0].VolumeMounts[1].SubPath, "sub"},
		{"other namespace", other.Namespace, "dev"},
		{"other restartPolicy default", other.Spec.RestartPolicy, corev1.RestartPolicyAlways},
		{"other grace", *other.Spec.TerminationGracePeriodSeconds, int64(5)},
		{"digest pull policy", other.Spec.Containers[0].ImagePullPolicy, corev1.PullIfNotPresent},
		{"configmap data", f.ConfigMaps[0].Data["key"], "value"},
		{"secret data", string(f.Secrets[0].Data["password"]), "secret"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

// pod wraps container YAML lines (indented under containers:) in a pod.
const podHead = `apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
`

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		line  int
		field string
		msg   string // substring
	}{
		{"unknown field", podHead + `  containers:
  - name: a
    image: busybox
  - name: b
    image: busybox
    imagePullPolcy: Always
`, 11, "spec.containers[1].imagePullPolcy", "unknown field"},
		{"restartPolicy on an app container", podHead + `  containers:
  - name: a
    image: busybox
    restartPolicy: Always
`, 9, "spec.containers[0].restartPolicy", "init containers only"},
		{"sidecar restartPolicy other than Always", podHead + `  initContainers:
  - name: i
    image: busybox
    restartPolicy: Never
  containers: [{name: a, image: b}]
`, 9, "spec.initContainers[0].restartPolicy", "only Always"},
		{"unknown top-level field", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspek: {}\n", 4, "spek", "unknown field"},
		{"unknown metadata field", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  lables: {a: b}\nspec:\n  containers: [{name: a, image: b}]\n", 5, "metadata.lables", "unknown field"},
		{"unknown field in second document", podHead + "  containers: [{name: a, image: b}]\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndatta: {}\n", 11, "datta", "unknown field"},
		{"wrong type", podHead + "  containers:\n  - name: a\n    image: b\n    env:\n    - name: X\n      value: 8080\n", 11, "spec.containers[0].env[0].value", "must be a string"},
		{"int for string list", podHead + "  containers:\n  - name: a\n    image: b\n    args: foo\n", 9, "spec.containers[0].args", "must be a list"},
		{"bad quantity", podHead + "  volumes:\n  - name: v\n    emptyDir: {sizeLimit: lots}\n  containers: [{name: a, image: b}]\n", 8, "spec.volumes[0].emptyDir.sizeLimit", "invalid value"},
		{"hostPort out of range", podHead + "  containers:\n  - name: a\n    image: b\n    ports:\n    - containerPort: 80\n      hostPort: 70000\n", 11, "spec.containers[0].ports[0].hostPort", "must be 1-65535, got 70000"},
		{"containerPort missing", podHead + "  containers:\n  - name: a\n    image: b\n    ports:\n    - name: http\n", 10, "spec.containers[0].ports[0].containerPort", "must be 1-65535"},
		{"image missing", podHead + "  containers:\n  - name: a\n", 7, "spec.containers[0].image", "required"},
		{"no containers", podHead + "  restartPolicy: Never\n", 5, "spec.containers", "at least one container"},
		{"bad container name", podHead + "  containers:\n  - name: Web_1\n    image: b\n", 7, "spec.containers[0].name", "invalid name"},
		{"duplicate container", podHead + "  initContainers:\n  - name: a\n    image: b\n  containers:\n  - name: a\n    image: b\n", 10, "spec.containers[0].name", "defined twice"},
		{"bad pod name", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: My.Pod\nspec:\n  containers: [{name: a, image: b}]\n", 4, "metadata.name", "invalid name"},
		{"missing pod name", "apiVersion: v1\nkind: Pod\nspec:\n  containers: [{name: a, image: b}]\n", 1, "metadata.name", "required"},
		{"duplicate pod", podHead + "  containers: [{name: a, image: b}]\n---\n" + podHead + "  containers: [{name: a, image: b}]\n", 11, "metadata.name", "defined twice"},
		{"missing volume", podHead + "  containers:\n  - name: a\n    image: b\n    volumeMounts:\n    - name: data\n      mountPath: /data\n", 10, "spec.containers[0].volumeMounts[0].name", `no volume named "data"`},
		{"relative mountPath", podHead + "  volumes: [{name: d, emptyDir: {}}]\n  containers:\n  - name: a\n    image: b\n    volumeMounts:\n    - name: d\n      mountPath: data\n", 12, "spec.containers[0].volumeMounts[0].mountPath", "absolute"},
		{"subPath escapes", podHead + "  volumes: [{name: d, emptyDir: {}}]\n  containers:\n  - name: a\n    image: b\n    volumeMounts:\n    - name: d\n      mountPath: /d\n      subPath: ../x\n", 13, "spec.containers[0].volumeMounts[0].subPath", "without '..'"},
		{"restartPolicy", podHead + "  restartPolicy: Sometimes\n  containers: [{name: a, image: b}]\n", 6, "spec.restartPolicy", "must be Always, OnFailure or Never"},
		{"imagePullPolicy", podHead + "  containers:\n  - name: a\n    image: b\n    imagePullPolicy: Maybe\n", 9, "spec.containers[0].imagePullPolicy", "must be Always"},
		{"hostPath type", podHead + "  volumes:\n  - name: h\n    hostPath: {path: /tmp, type: Folder}\n  containers: [{name: a, image: b}]\n", 8, "spec.volumes[0].hostPath.type", "must be one of"},
		{"hostPath relative", podHead + "  volumes:\n  - name: h\n    hostPath: {path: tmp}\n  containers: [{name: a, image: b}]\n", 8, "spec.volumes[0].hostPath.path", "absolute"},
		{"medium", podHead + "  volumes:\n  - name: h\n    emptyDir: {medium: HugePages}\n  containers: [{name: a, image: b}]\n", 8, "spec.volumes[0].emptyDir.medium", "Memory"},
		{"unsupported kind", "apiVersion: apps/v1\nkind: Deployment\n", 2, "kind", `"Deployment" is not supported`},
		{"wrong apiVersion", "apiVersion: v2\nkind: Pod\n", 1, "apiVersion", "must be v1"},
		{"no kind", "apiVersion: v1\nmetadata: {name: p}\n", 1, "kind", "required"},
		{"no pod", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n", 0, "", "no Pod"},
		{"syntax", podHead + "  containers:\n  - name: a\n   image: b\n", 5, "", "invalid YAML"},
		{"grace negative", podHead + "  terminationGracePeriodSeconds: -1\n  containers: [{name: a, image: b}]\n", 6, "spec.terminationGracePeriodSeconds", "0 or more"},
		{"probe named port", podHead + "  containers:\n  - name: a\n    image: b\n    livenessProbe:\n      httpGet: {port: metrics}\n", 10, "spec.containers[0].livenessProbe.httpGet.port", "names no port of the container"},
		{"probe two handlers", podHead + "  containers:\n  - name: a\n    image: b\n    readinessProbe:\n      tcpSocket: {port: 80}\n      exec: {command: [\"true\"]}\n", 9, "spec.containers[0].readinessProbe", "exactly one handler"},
		{"liveness successThreshold", podHead + "  containers:\n  - name: a\n    image: b\n    livenessProbe:\n      tcpSocket: {port: 80}\n      successThreshold: 2\n", 11, "spec.containers[0].livenessProbe.successThreshold", "must be 1"},
		{"probe on an init container", podHead + "  initContainers:\n  - name: i\n    image: b\n    startupProbe:\n      tcpSocket: {port: 80}\n  containers: [{name: a, image: b}]\n", 9, "spec.initContainers[0].startupProbe", "restartPolicy: Always"},
		{"int32 overflow", podHead + "  containers:\n  - name: a\n    image: b\n    ports: [{containerPort: 99999999999}]\n", 9, "spec.containers[0].ports[0].containerPort", "out of range"},
	}
	for _, tc := range tests {
		checkParseError(t, parseErrorCase(tc))
	}
}

func TestErrorString(t *testing.T) {
	e := &Error{File: "pod.yaml", Line: 9, Field: "spec.containers[1].imagePullPolcy", Msg: "unknown field"}
	if got, want := e.Error(), "pod.yaml:9: spec.containers[1].imagePullPolcy: unknown field"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"probes and hooks are silent", podHead + "  containers:\n  - name: a\n    image: b\n    livenessProbe:\n      exec: {command: [\"true\"]}\n    lifecycle:\n      preStop: {sleep: {seconds: 1}}\n      stopSignal: SIGQUIT\n", nil},
		{"stdin", podHead + "  containers:\n  - name: a\n    image: b\n    stdin: true\n",
			[]string{"pod.yaml:9: spec.containers[0].stdin: not supported yet, ignored"}},
		{"resources", podHead + "  containers:\n  - name: a\n    image: b\n    resources:\n      limits: {memory: 1Gi}\n",
			[]string{"pod.yaml:9: spec.containers[0].resources: not applied, ignored"}},
		{"empty and false values are silent", podHead + "  hostNetwork: false\n  containers:\n  - name: a\n    image: b\n    resources: {}\n    tty: false\n", nil},
		{"pod-level field", podHead + "  nodeName: n1\n  containers: [{name: a, image: b}]\n",
			[]string{"pod.yaml:6: spec.nodeName: not supported yet, ignored"}},
		{"init container field", podHead + "  initContainers:\n  - name: i\n    image: b\n    stdin: true\n  containers: [{name: a, image: b}]\n",
			[]string{"pod.yaml:9: spec.initContainers[0].stdin: not supported yet, ignored"}},
		{"volume source", podHead + "  volumes:\n  - name: c\n    configMap: {name: c}\n  containers: [{name: a, image: b}]\n",
			[]string{"pod.yaml:8: spec.volumes[0].configMap: not supported yet: the volume is an empty directory"}},
		{"securityContext part", podHead + "  containers:\n  - name: a\n    image: b\n    securityContext:\n      readOnlyRootFilesystem: true\n      privileged: true\n",
			[]string{"pod.yaml:11: spec.containers[0].securityContext.privileged: not supported yet, ignored"}},
		{"status", podHead + "  containers: [{name: a, image: b}]\nstatus:\n  phase: Running\n",
			[]string{"pod.yaml:7: status: ignored: podbox reports the status itself"}},
		{"supported fields are silent", podHead + "  restartPolicy: OnFailure\n  hostAliases: [{ip: 1.2.3.4, hostnames: [x]}]\n  dnsConfig: {nameservers: [1.1.1.1]}\n  containers:\n  - name: a\n    image: b\n    workingDir: /w\n    securityContext: {runAsUser: 1, capabilities: {add: [NET_ADMIN]}}\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("pod.yaml", []byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Warnings) != len(tc.want) {
				t.Fatalf("got warnings %q, want %q", f.Warnings, tc.want)
			}
			for i := range tc.want {
				if !strings.HasPrefix(f.Warnings[i], tc.want[i]) {
					t.Errorf("warning %d: got %q, want %q", i, f.Warnings[i], tc.want[i])
				}
			}
		})
	}
}

func TestDefaultPullPolicy(t *testing.T) {
	tests := []struct {
		image string
		want  corev1.PullPolicy
	}{
		{"busybox", corev1.PullAlways},
		{"busybox:latest", corev1.PullAlways},
		{"busybox:1.0", corev1.PullIfNotPresent},
		{"127.0.0.1:5000/busybox", corev1.PullAlways},
		{"127.0.0.1:5000/busybox:1.0", corev1.PullIfNotPresent},
		{"busybox@sha256:abc", corev1.PullIfNotPresent},
	}
	for _, tc := range tests {
		if got := DefaultPullPolicy(tc.image); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.image, got, tc.want)
		}
	}
}

func TestEnvFromFile(t *testing.T) {
	const objs = `apiVersion: v1
kind: ConfigMap
metadata: {name: conf}
data: {MODE: dev, LEVEL: "3"}
---
apiVersion: v1
kind: Secret
metadata: {name: pw}
data: {password: c2VjcmV0}
stringData: {user: admin}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: conf, namespace: other}
data: {MODE: other}
---
`
	tests := []struct {
		name    string
		env     string
		want    []corev1.EnvVar
		wantErr string
	}{
		{"envFrom then env over it", `    envFrom:
    - configMapRef: {name: conf}
    - secretRef: {name: pw}
      prefix: DB_
    env:
    - {name: MODE, value: prod}
    - {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
`, []corev1.EnvVar{{Name: "LEVEL", Value: "3"}, {Name: "MODE", Value: "prod"}, {Name: "DB_password", Value: "secret"}, {Name: "DB_user", Value: "admin"},
			{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}, ""},
		{"key refs", `    env:
    - {name: A, value: a}
    - {name: M, valueFrom: {configMapKeyRef: {name: conf, key: MODE}}}
    - {name: P, valueFrom: {secretKeyRef: {name: pw, key: password}}}
    - {name: O, valueFrom: {configMapKeyRef: {name: nope, key: x, optional: true}}}
`, []corev1.EnvVar{{Name: "A", Value: "a"}, {Name: "M", Value: "dev"}, {Name: "P", Value: "secret"}}, ""},
		{"resourceFieldRef dropped", `    env:
    - {name: A, value: a}
    - {name: R, valueFrom: {resourceFieldRef: {resource: limits.cpu}}}
`, []corev1.EnvVar{{Name: "A", Value: "a"}}, "warn"},
		{"missing key", `    env:
    - {name: M, valueFrom: {configMapKeyRef: {name: conf, key: NOPE}}}
`, nil, `pod.yaml:26: spec.containers[0].env[0].valueFrom.configMapKeyRef: key "NOPE" of ConfigMap "conf" not found`},
		{"missing secret", `    envFrom:
    - secretRef: {name: nope}
`, nil, `spec.containers[0].envFrom[0].secretRef.name: Secret "nope" not found`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := objs + podHead + "  containers:\n  - name: a\n    image: b\n" + tc.env
			f, err := Parse("pod.yaml", []byte(doc))
			if tc.wantErr != "" && tc.wantErr != "warn" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := f.Pods[0].Spec.Containers[0]
			if len(c.EnvFrom) != 0 {
				t.Errorf("envFrom left: %v", c.EnvFrom)
			}
			if !reflect.DeepEqual(c.Env, tc.want) {
				t.Errorf("got %+v\nwant %+v", c.Env, tc.want)
			}
			if (len(f.Warnings) != 0) != (tc.wantErr == "warn") {
				t.Errorf("warnings: %q", f.Warnings)
			}
		})
	}
}

// parseErrorCase is one row of an error table: Parse of yaml fails at
// line with field, and a message containing msg.
type parseErrorCase struct {
	name  string
	yaml  string
	line  int
	field string
	msg   string // substring
}

func checkParseError(t *testing.T, tc parseErrorCase) {
	t.Helper()
	t.Run(tc.name, func(t *testing.T) {
		_, err := Parse("pod.yaml", []byte(tc.yaml))
		var me *Error
		if !errors.As(err, &me) {
			t.Fatalf("got error %v, want a *manifest.Error", err)
		}
		if me.File != "pod.yaml" || me.Line != tc.line || me.Field != tc.field || !strings.Contains(me.Msg, tc.msg) {
			t.Errorf("got %q (line %d, field %q), want line %d, field %q, message with %q", err, me.Line, me.Field, tc.line, tc.field, tc.msg)
		}
	})
}

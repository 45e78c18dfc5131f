package manifest

import (
	"errors"
	"os"
	"path/filepath"
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
		{"privileged", podHead + `  initContainers:
  - name: i
    image: busybox
    securityContext:
      privileged: true
  containers: [{name: a, image: b}]
`, 10, "spec.initContainers[0].securityContext.privileged", "not possible rootless"},
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
		{"unsupported kind", "apiVersion: networking.k8s.io/v1\nkind: Ingress\n", 2, "kind", `"Ingress" is not supported`},
		{"wrong apiVersion", "apiVersion: v2\nkind: Pod\n", 1, "apiVersion", "must be v1"},
		{"no kind", "apiVersion: v1\nmetadata: {name: p}\n", 1, "kind", "required"},
		{"no pod", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n", 0, "", "no Pod"},
		{"configMap key a path", podHead + "  containers: [{name: a, image: b}]\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  ok: x\n  ../etc/passwd: y\n", 13, "data[../etc/passwd]", "invalid key"},
		{"secret key starting with ..", podHead + "  containers: [{name: a, image: b}]\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {..data: y}\n", 11, "stringData[..data]", "must not start with '..'"},
		{"configMap key twice", podHead + "  containers: [{name: a, image: b}]\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: x}\nbinaryData: {k: AA==}\n", 12, "binaryData[k]", "in data too"},
		{"configMap name", podHead + "  containers: [{name: a, image: b}]\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: Conf_1}\n", 10, "metadata.name", "invalid name"},
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
		{"pod-level field", podHead + "  hostIPC: true\n  containers: [{name: a, image: b}]\n",
			[]string{"pod.yaml:6: spec.hostIPC: not supported yet, ignored"}},
		{"scheduling fields are silent", podHead + "  nodeName: n1\n  nodeSelector: {disk: ssd}\n  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: k, operator: In, values: [v]}]}]}}}\n  tolerations: [{key: k, operator: Exists, effect: NoSchedule}]\n  schedulingGates: [{name: g}]\n  priorityClassName: high\n  priority: 1000\n  preemptionPolicy: Never\n  topologySpreadConstraints: [{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: ScheduleAnyway}]\n  runtimeClassName: gvisor\n  schedulerName: my-scheduler\n  containers: [{name: a, image: b}]\n", nil},
		{"init container field", podHead + "  initContainers:\n  - name: i\n    image: b\n    stdin: true\n  containers: [{name: a, image: b}]\n",
			[]string{"pod.yaml:9: spec.initContainers[0].stdin: not supported yet, ignored"}},
		{"volume source", podHead + "  volumes:\n  - name: c\n    iscsi: {targetPortal: t, iqn: i, lun: 0}\n  containers: [{name: a, image: b}]\n",
			[]string{"pod.yaml:8: spec.volumes[0].iscsi: not supported yet: the volume is an empty directory"}},
		{"config volumes and service accounts are silent", podHead + "  serviceAccountName: sa\n  automountServiceAccountToken: false\n  volumes:\n  - name: c\n    configMap: {name: c, optional: true, items: [{key: k, path: p, mode: 0400}]}\n  - name: s\n    secret: {secretName: s, optional: true, defaultMode: 0400}\n  - name: d\n    downwardAPI: {items: [{path: n, fieldRef: {fieldPath: metadata.name}}]}\n  - name: p\n    projected:\n      sources:\n      - serviceAccountToken: {path: token}\n      - configMap: {name: c, optional: true}\n  containers:\n  - name: a\n    image: b\n    env:\n    - {name: R, valueFrom: {resourceFieldRef: {resource: limits.cpu}}}\n", nil},
		{"securityContext part", podHead + "  containers:\n  - name: a\n    image: b\n    securityContext:\n      readOnlyRootFilesystem: true\n      privileged: false\n      procMount: Unmasked\n",
			[]string{"pod.yaml:12: spec.containers[0].securityContext.procMount: not supported yet, ignored"}},
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

func TestRefs(t *testing.T) {
	const objs = `apiVersion: v1
kind: ConfigMap
metadata: {name: conf}
data: {MODE: dev, LEVEL: "3"}
binaryData: {bin: AAE=}
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
		spec    string // under spec:, after the objects (the pod starts at line 19)
		wantErr string
	}{
		{"envFrom and env refs", `  containers:
  - name: a
    image: b
    envFrom:
    - configMapRef: {name: conf}
    - secretRef: {name: pw}
      prefix: DB_
    - configMapRef: {name: nope, optional: true}
    env:
    - {name: M, valueFrom: {configMapKeyRef: {name: conf, key: MODE}}}
    - {name: P, valueFrom: {secretKeyRef: {name: pw, key: user}}}
    - {name: O, valueFrom: {configMapKeyRef: {name: nope, key: x, optional: true}}}
    - {name: K, valueFrom: {configMapKeyRef: {name: conf, key: nokey, optional: true}}}
`, ""},
		{"volumes", `  volumes:
  - {name: c, configMap: {name: conf, items: [{key: bin, path: b/in}]}}
  - {name: s, secret: {secretName: pw, items: [{key: user, path: u}]}}
  - {name: o, configMap: {name: nope, optional: true}}
  - name: p
    projected:
      sources:
      - configMap: {name: conf}
      - secret: {name: pw, items: [{key: nokey, path: x}], optional: true}
  containers: [{name: a, image: b}]
`, ""},
		{"missing key in env", `  containers:
  - name: a
    image: b
    env:
    - {name: M, valueFrom: {configMapKeyRef: {name: conf, key: NOPE}}}
`, `pod.yaml:27: spec.containers[0].env[0].valueFrom.configMapKeyRef.key: key "NOPE" not found in ConfigMap "conf"`},
		{"missing secret in envFrom", `  containers:
  - name: a
    image: b
    envFrom:
    - secretRef: {name: nope}
`, `pod.yaml:27: spec.containers[0].envFrom[0].secretRef.name: Secret "nope" not found in pod.yaml`},
		{"other namespace", `  containers:
  - name: a
    image: b
    env:
    - {name: M, valueFrom: {secretKeyRef: {name: conf, key: MODE}}}
`, `spec.containers[0].env[0].valueFrom.secretKeyRef.name: Secret "conf" not found`},
		{"missing configMap volume", `  volumes:
  - name: c
    configMap: {name: nope}
  containers: [{name: a, image: b}]
`, `pod.yaml:25: spec.volumes[0].configMap.name: ConfigMap "nope" not found in pod.yaml`},
		{"missing secret volume", `  volumes:
  - name: c
    secret: {secretName: nope}
  containers: [{name: a, image: b}]
`, `spec.volumes[0].secret.secretName: Secret "nope" not found in pod.yaml`},
		{"missing key in a volume", `  volumes:
  - name: c
    configMap:
      name: conf
      items:
      - {key: NOPE, path: x}
  containers: [{name: a, image: b}]
`, `pod.yaml:28: spec.volumes[0].configMap.items[0].key: key "NOPE" not found in ConfigMap "conf"`},
		{"missing projected secret", `  volumes:
  - name: c
    projected: {sources: [{secret: {name: nope}}]}
  containers: [{name: a, image: b}]
`, `spec.volumes[0].projected.sources[0].secret.name: Secret "nope" not found`},
		{"item path escapes", `  volumes:
  - name: c
    configMap: {name: conf, items: [{key: MODE, path: ../x}]}
  containers: [{name: a, image: b}]
`, `spec.volumes[0].configMap.items[0].path: must not start with '..'`},
		{"mode too large", `  volumes:
  - name: c
    secret: {secretName: pw, defaultMode: 01000}
  containers: [{name: a, image: b}]
`, `spec.volumes[0].secret.defaultMode: must be a number between 0 and 0777`},
		{"volume fieldRef", `  volumes:
  - name: d
    downwardAPI: {items: [{path: ip, fieldRef: {fieldPath: status.podIP}}]}
  containers: [{name: a, image: b}]
`, `spec.volumes[0].downwardAPI.items[0].fieldRef.fieldPath: "status.podIP" is not supported in a volume`},
		{"volume resource needs a container", `  volumes:
  - name: d
    downwardAPI: {items: [{path: cpu, resourceFieldRef: {resource: limits.cpu}}]}
  containers: [{name: a, image: b}]
`, `spec.volumes[0].downwardAPI.items[0].resourceFieldRef.containerName: required in a volume`},
		{"env fieldRef", `  containers:
  - name: a
    image: b
    env:
    - {name: X, valueFrom: {fieldRef: {fieldPath: spec.nope}}}
`, `spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: "spec.nope" is not supported`},
		{"env resource", `  containers:
  - name: a
    image: b
    env:
    - {name: X, valueFrom: {resourceFieldRef: {resource: limits.gpu}}}
`, `spec.containers[0].env[0].valueFrom.resourceFieldRef.resource: "limits.gpu" is not supported`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := objs + podHead + tc.spec
			f, err := Parse("pod.yaml", []byte(doc))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Warnings) != 0 {
				t.Errorf("warnings: %q", f.Warnings)
			}
			// The pod keeps its references: no value is copied into it.
			if c := f.Pods[0].Spec.Containers[0]; len(c.Env) > 0 && c.Env[0].ValueFrom == nil {
				t.Errorf("env resolved into the pod: %+v", c.Env)
			}
		})
	}
}

func TestEnvFromInvalidKeys(t *testing.T) {
	doc := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {good: a, 2nd: b, 1st: c}\n---\n" + podHead +
		"  containers:\n  - name: a\n    image: b\n    envFrom:\n    - configMapRef: {name: c}\n"
	f, err := Parse("pod.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := `pod.yaml:15: spec.containers[0].envFrom[0]: keys 1st, 2nd skipped: they are not valid environment variable names`
	if len(f.Warnings) != 1 || f.Warnings[0] != want {
		t.Errorf("got %q, want %q", f.Warnings, want)
	}
}

func TestLoadSeveral(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pod := write("b-pod.yaml", podHead+"  volumes: [{name: c, configMap: {name: conf}}]\n  containers: [{name: a, image: b}]\n")
	cm := write("a-cm.yml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: conf}\ndata: {k: v}\n")
	write("c-secret.json", `{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"k": "v"}}`)
	write("notes.txt", "not a manifest")

	if _, err := Load(pod); err == nil || !strings.Contains(err.Error(), `b-pod.yaml:6: spec.volumes[0].configMap.name: ConfigMap "conf" not found in `+pod) {
		t.Errorf("one file: got %v", err)
	}
	f, err := Load(pod, cm)
	if err != nil {
		t.Fatalf("two files: %v", err)
	}
	if len(f.Pods) != 1 || len(f.ConfigMaps) != 1 || f.Path != pod+", "+cm {
		t.Errorf("two files: %d pods, %d configmaps, path %q", len(f.Pods), len(f.ConfigMaps), f.Path)
	}
	f, err = Load(dir)
	if err != nil {
		t.Fatalf("directory: %v", err)
	}
	if len(f.Pods) != 1 || len(f.ConfigMaps) != 1 || len(f.Secrets) != 1 || f.Secret("default", "s") == nil {
		t.Errorf("directory: %d pods, %d configmaps, %d secrets", len(f.Pods), len(f.ConfigMaps), len(f.Secrets))
	}
	if _, err := Load(cm); err == nil || !strings.Contains(err.Error(), "no Pod in the file") {
		t.Errorf("no pod: got %v", err)
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no .yaml, .yml or .json file") {
		t.Errorf("empty directory: got %v", err)
	}
	// Errors name the file they are in, not the first one.
	bad := write("z-bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndatta: {}\n")
	if _, err := Load(pod, cm, bad); err == nil || !strings.HasPrefix(err.Error(), bad+":4: datta: unknown field") {
		t.Errorf("error in the third file: got %v", err)
	}
	if f, err := LoadPods(pod); err != nil || len(f.Pods) != 1 {
		t.Errorf("LoadPods skips the references: %v", err)
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

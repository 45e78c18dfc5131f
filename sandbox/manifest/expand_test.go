package manifest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: httpd
        image: busybox:1
`

func TestDeployment(t *testing.T) {
	f, err := Parse("web.yaml", []byte(deployment))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Pods) != 2 {
		t.Fatalf("got %d pods, want 2", len(f.Pods))
	}
	name := regexp.MustCompile(`^web-([` + idAlphabet + `]{1,10})-[` + idAlphabet + `]{5}$`)
	a, b := f.Pods[0], f.Pods[1]
	if a.Name == b.Name {
		t.Errorf("both pods are named %q", a.Name)
	}
	for _, p := range f.Pods {
		m := name.FindStringSubmatch(p.Name)
		if m == nil {
			t.Fatalf("pod name %q is not web-<hash>-<id>", p.Name)
		}
		if p.Labels["app"] != "web" || p.Labels[LabelPodTemplateHash] != m[1] {
			t.Errorf("%s: labels %v, want app=web and pod-template-hash=%s", p.Name, p.Labels, m[1])
		}
		if len(p.OwnerReferences) != 1 {
			t.Fatalf("%s: ownerReferences %v", p.Name, p.OwnerReferences)
		}
		o := p.OwnerReferences[0]
		if o.Kind != "ReplicaSet" || o.APIVersion != "apps/v1" || o.Name != "web-"+m[1] || o.Controller == nil || !*o.Controller || o.UID == "" {
			t.Errorf("%s: owner %+v, want the controller ReplicaSet web-%s", p.Name, o, m[1])
		}
		if p.Namespace != "default" || p.Spec.RestartPolicy != corev1.RestartPolicyAlways || p.Spec.Containers[0].ImagePullPolicy != corev1.PullIfNotPresent {
			t.Errorf("%s: defaults not filled: %q %q %q", p.Name, p.Namespace, p.Spec.RestartPolicy, p.Spec.Containers[0].ImagePullPolicy)
		}
	}
	// The same file gives the same names; another template another hash.
	g, _ := Parse("web.yaml", []byte(deployment))
	if g.Pods[0].Name != a.Name || g.Pods[1].Name != b.Name {
		t.Errorf("names differ between loads: %s %s, then %s %s", a.Name, b.Name, g.Pods[0].Name, g.Pods[1].Name)
	}
	h, _ := Parse("web.yaml", []byte(strings.Replace(deployment, "busybox:1", "busybox:2", 1)))
	if h.Pods[0].Labels[LabelPodTemplateHash] == a.Labels[LabelPodTemplateHash] {
		t.Errorf("a changed template keeps the hash %s", a.Labels[LabelPodTemplateHash])
	}
}

func TestPodNamesDistinct(t *testing.T) {
	names := podNames("web-abc", 500)
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Fatalf("%s twice", n)
		}
		seen[n] = true
	}
}

func TestStatefulSet(t *testing.T) {
	const y = `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: dbs
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: db
        image: busybox:1
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
`
	f, err := Parse("db.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Pods) != 2 || len(f.Claims) != 2 {
		t.Fatalf("got %d pods, %d claims; want 2, 2", len(f.Pods), len(f.Claims))
	}
	for i, p := range f.Pods {
		want := []string{"db-0", "db-1"}[i]
		if p.Name != want || p.Spec.Hostname != want || p.Spec.Subdomain != "dbs" {
			t.Errorf("pod %d: name %q hostname %q subdomain %q, want %s, %s, dbs", i, p.Name, p.Spec.Hostname, p.Spec.Subdomain, want, want)
		}
		if p.Labels[LabelStatefulSetPod] != want || !strings.HasPrefix(p.Labels[LabelRevisionHash], "db-") {
			t.Errorf("%s: labels %v", p.Name, p.Labels)
		}
		if o := p.OwnerReferences; len(o) != 1 || o[0].Kind != "StatefulSet" || o[0].Name != "db" {
			t.Errorf("%s: owner %v", p.Name, o)
		}
		if v := p.Spec.Volumes; len(v) != 1 || v[0].PersistentVolumeClaim == nil || v[0].PersistentVolumeClaim.ClaimName != "data-"+want {
			t.Errorf("%s: volumes %+v, want claim data-%s", p.Name, v, want)
		}
		if c := f.Claims[i]; c.Name != "data-"+want || c.Namespace != "default" {
			t.Errorf("claim %d: %s/%s", i, c.Namespace, c.Name)
		}
	}
}

func TestDaemonSetReplicaSetServiceClaim(t *testing.T) {
	const y = `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: a, image: busybox:1}]}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs}
spec:
  replicas: 3
  selector: {matchExpressions: [{key: app, operator: In, values: [rs]}]}
  template:
    metadata: {labels: {app: rs}}
    spec: {containers: [{name: a, image: busybox:1}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: rs}
  ports: [{port: 80, targetPort: 8080, nodePort: 30080}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
`
	f, err := Parse("all.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Pods) != 4 || len(f.Services) != 1 || len(f.Claims) != 1 {
		t.Fatalf("got %d pods, %d services, %d claims; want 4, 1, 1", len(f.Pods), len(f.Services), len(f.Claims))
	}
	if !regexp.MustCompile(`^agent-[` + idAlphabet + `]{5}$`).MatchString(f.Pods[0].Name) {
		t.Errorf("DaemonSet pod %q", f.Pods[0].Name)
	}
	for _, p := range f.Pods[1:] {
		if !regexp.MustCompile(`^rs-[` + idAlphabet + `]{5}$`).MatchString(p.Name) {
			t.Errorf("ReplicaSet pod %q", p.Name)
		}
	}
	if s := f.Services[0]; s.Spec.Ports[0].Protocol != corev1.ProtocolTCP || s.Spec.Ports[0].TargetPort.IntValue() != 8080 {
		t.Errorf("service port %+v", s.Spec.Ports[0])
	}
	if len(f.Warnings) != 0 {
		t.Errorf("warnings: %q", f.Warnings)
	}
}

func TestJob(t *testing.T) {
	const y = `apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  completions: 3
  completionMode: Indexed
  template:
    spec:
      restartPolicy: Never
      containers: [{name: a, image: busybox:1}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: a, image: busybox:1}]
`
	f, err := Parse("job.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Pods) != 0 || len(f.Jobs) != 1 || len(f.CronJobs) != 1 {
		t.Fatalf("got %d pods, %d jobs, %d cronjobs; want 0, 1, 1", len(f.Pods), len(f.Jobs), len(f.CronJobs))
	}
	j := f.Jobs[0]
	if *j.Spec.Parallelism != 1 || *j.Spec.BackoffLimit != 6 || *j.Spec.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("defaults: parallelism %d backoffLimit %d", *j.Spec.Parallelism, *j.Spec.BackoffLimit)
	}
	p := JobPod(j, 2, 0)
	if !regexp.MustCompile(`^pi-2-[` + idAlphabet + `]{5}$`).MatchString(p.Name) {
		t.Errorf("Indexed Job pod %q", p.Name)
	}
	if JobPod(j, 2, 0).Name != p.Name || JobPod(j, 2, 1).Name == p.Name {
		t.Errorf("names: same index and attempt must give the same name, another attempt another")
	}
	if p.Labels[LabelJobName] != "pi" || p.Labels[LabelJobCompletionIdx] != "2" || p.Annotations[LabelJobCompletionIdx] != "2" || p.Spec.Hostname != "pi-2" {
		t.Errorf("labels %v annotations %v hostname %q", p.Labels, p.Annotations, p.Spec.Hostname)
	}
	if o := p.OwnerReferences; len(o) != 1 || o[0].Kind != "Job" || o[0].Name != "pi" {
		t.Errorf("owner %v", o)
	}
	if e := p.Spec.Containers[0].Env; len(e) != 1 || e[0].Name != EnvJobCompletionIndex {
		t.Errorf("env %v", e)
	}
	if len(j.Spec.Template.Spec.Containers[0].Env) != 0 {
		t.Errorf("JobPod changed the Job's template")
	}
}

func TestWorkloadErrors(t *testing.T) {
	tests := []parseErrorCase{
		{"selector does not match", strings.Replace(deployment, "labels: {app: web}", "labels: {app: other}", 1), 11, "spec.template.metadata.labels", "`selector` does not match template `labels`"},
		{"no selector", strings.Replace(deployment, "  selector:\n    matchLabels: {app: web}\n", "", 1), 5, "spec.selector", "required"},
		{"template field", strings.Replace(deployment, "image: busybox:1", "image: ''", 1), 15, "spec.template.spec.containers[0].image", "required"},
		{"template unknown field", strings.Replace(deployment, "image: busybox:1", "imagee: busybox:1", 1), 15, "spec.template.spec.containers[0].imagee", "unknown field"},
		{"deployment restartPolicy", strings.Replace(deployment, "    spec:\n", "    spec:\n      restartPolicy: Never\n", 1), 13, "spec.template.spec.restartPolicy", "only Always"},
		{"hostPort with replicas", deployment + "        ports: [{containerPort: 80, hostPort: 8080}]\n", 16, "spec.template.spec.containers[0].ports[0].hostPort",
			`Deployment "web" has 2 replicas but hostPort 8080: podbox runs them all on this machine, where only one pod can have port 8080`},
		{"wrong apiVersion", strings.Replace(deployment, "apps/v1", "v1", 1), 1, "apiVersion", "must be apps/v1 for kind Deployment"},
		{"name too long for its pods", strings.Replace(deployment, "name: web", "name: "+strings.Repeat("w", 240), 1), 4, "metadata.name", "made from it is not a valid name"},
		{"negative replicas", strings.Replace(deployment, "replicas: 2", "replicas: -1", 1), 6, "spec.replicas", "must be 0 or more"},
		{"job restartPolicy", "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: b}]\n", 6, "spec.template.spec.restartPolicy", "required for a Job: Never or OnFailure"},
		{"job template", "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: A, image: b}]\n", 8, "spec.template.spec.containers[0].name", "invalid name"},
		{"job selector", "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: a, image: b}]\n", 5, "spec.selector", "manualSelector: true"},
		{"cronjob template", "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  schedule: '* * * * *'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Always\n          containers: [{name: a, image: b}]\n", 10, "spec.jobTemplate.spec.template.spec.restartPolicy", "not allowed for a Job"},
		{"claim without size", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: b}]}\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\nspec:\n  accessModes: [ReadWriteOnce]\n", 9, "spec.resources.requests.storage", "required"},
		{"two workloads one pod name", deployment + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: db-0}\nspec: {containers: [{name: a, image: b}]}\n---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: a, image: b}]}\n", 24, "metadata.name", `pod "db-0" is defined twice`},
	}
	for _, tc := range tests {
		checkParseError(t, tc)
	}
}

func TestWorkloadWarnings(t *testing.T) {
	y := strings.Replace(deployment, "  replicas: 2\n", "  replicas: 2\n  strategy: {type: Recreate}\n", 1) +
		"        resources: {limits: {cpu: 1}}\n"
	f, err := Parse("web.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"web.yaml:7: spec.strategy: ignored: up replaces all the pods at once (as strategy Recreate)",
		"web.yaml:17: spec.template.spec.containers[0].resources: " + messages["resources"],
	}
	if strings.Join(f.Warnings, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(f.Warnings, "\n"), strings.Join(want, "\n"))
	}
}

func TestLoadPodsClaimsAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pvc.yaml")
	y := "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n"
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	if f, err := LoadPods(path); err != nil || len(f.Claims) != 1 {
		t.Errorf("LoadPods: %v", err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "no Pod in the file") {
		t.Errorf("Load: got %v, want no Pod in the file", err)
	}
}

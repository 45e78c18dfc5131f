package image

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/podbox/podbox/sandbox/downward"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const testRootfs = "testdata/rootfs"

func i64(v int64) *int64 { return &v }
func bp(v bool) *bool    { return &v }

func imageCfg(entrypoint, cmd []string) *imgspecv1.Image {
	return &imgspecv1.Image{Config: imgspecv1.ImageConfig{
		Entrypoint: entrypoint, Cmd: cmd,
		Env: []string{"PATH=/bin", "FOO=image", "IMG=1"}, WorkingDir: "/work",
	}}
}

func TestProcessForArgs(t *testing.T) {
	ep, cmd := []string{"/bin/echo", "entry"}, []string{"cmd1", "cmd2"}
	env := []corev1.EnvVar{{Name: "WHO", Value: "world"}}
	for _, tc := range []struct {
		name       string
		entrypoint []string
		cmd        []string
		command    []string
		args       []string
		want       []string
		wantErr    string
	}{
		{name: "neither: ENTRYPOINT+CMD", entrypoint: ep, cmd: cmd, want: []string{"/bin/echo", "entry", "cmd1", "cmd2"}},
		{name: "command only: image ignored", entrypoint: ep, cmd: cmd, command: []string{"/bin/sh"}, want: []string{"/bin/sh"}},
		{name: "args only: ENTRYPOINT+args", entrypoint: ep, cmd: cmd, args: []string{"a"}, want: []string{"/bin/echo", "entry", "a"}},
		{name: "command and args", entrypoint: ep, cmd: cmd, command: []string{"/bin/sh", "-c"}, args: []string{"x"}, want: []string{"/bin/sh", "-c", "x"}},
		{name: "args only without ENTRYPOINT", cmd: cmd, args: []string{"/bin/true"}, want: []string{"/bin/true"}},
		{name: "CMD only", cmd: cmd, want: []string{"cmd1", "cmd2"}},
		{name: "expansion in command and args", command: []string{"echo", "$(WHO)"}, args: []string{"$$(WHO)", "$(NOPE)", "$(IMG)", "a$b$"}, want: []string{"echo", "world", "$(WHO)", "$(NOPE)", "$(IMG)", "a$b$"}},
		{name: "nothing to run", wantErr: "no command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &corev1.Container{Name: "c", Command: tc.command, Args: tc.args, Env: env}
			p, err := ProcessFor(imageCfg(tc.entrypoint, tc.cmd), &corev1.Pod{}, c, "", EnvSources{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(tc.wantErr, "root") && !errors.Is(err, ErrRunAsRoot) {
					t.Errorf("err = %v, want ErrRunAsRoot", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p.Args, tc.want) {
				t.Errorf("Args = %q, want %q", p.Args, tc.want)
			}
		})
	}
}

func TestProcessForEnv(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "dev", Labels: map[string]string{"app": "x"}}}
	for _, tc := range []struct {
		name    string
		env     []corev1.EnvVar
		want    []string // must appear, in this order
		absent  []string
		wantErr string
	}{
		{name: "image env kept", want: []string{"PATH=/bin", "FOO=image", "IMG=1", "HOSTNAME=web"}},
		{name: "container wins, in place", env: []corev1.EnvVar{{Name: "FOO", Value: "ctr"}, {Name: "NEW", Value: "n"}},
			want: []string{"PATH=/bin", "FOO=ctr", "IMG=1", "NEW=n"}, absent: []string{"FOO=image"}},
		{name: "expands earlier entries only", env: []corev1.EnvVar{{Name: "A", Value: "a"}, {Name: "B", Value: "$(A)-$(C)"}, {Name: "C", Value: "c"}},
			want: []string{"A=a", "B=a-$(C)", "C=c"}},
		{name: "image env not visible to expansion", env: []corev1.EnvVar{{Name: "X", Value: "$(IMG)"}}, want: []string{"X=$(IMG)"}},
		{name: "escape", env: []corev1.EnvVar{{Name: "A", Value: "a"}, {Name: "E", Value: "$$(A) $$ $"}}, want: []string{"E=$(A) $ $"}},
		{name: "fieldRef", env: []corev1.EnvVar{
			{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "NS", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
			{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
			{Name: "MSG", Value: "$(POD).$(NS)"}},
			want: []string{"POD=web", "NS=dev", "APP=x", "MSG=web.dev"}},
		{name: "unknown fieldRef", env: []corev1.EnvVar{
			{Name: "S", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nope"}}}}, wantErr: "env[0] (S)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &corev1.Container{Name: "c", Env: tc.env}
			p, err := ProcessFor(imageCfg(nil, []string{"sh"}), pod, c, "", EnvSources{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(tc.wantErr, "root") && !errors.Is(err, ErrRunAsRoot) {
					t.Errorf("err = %v, want ErrRunAsRoot", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			last := -1
			for _, w := range tc.want {
				i := indexOf(p.Env, w)
				if i < 0 || i < last {
					t.Fatalf("Env = %q: want %q after index %d", p.Env, w, last)
				}
				last = i
			}
			for _, a := range tc.absent {
				if indexOf(p.Env, a) >= 0 {
					t.Errorf("Env = %q: %q should be gone", p.Env, a)
				}
			}
		})
	}
}

func TestProcessForDefaultPath(t *testing.T) {
	p, err := ProcessFor(&imgspecv1.Image{Config: imgspecv1.ImageConfig{Cmd: []string{"sh"}}}, nil, &corev1.Container{}, "", EnvSources{})
	if err != nil {
		t.Fatal(err)
	}
	if indexOf(p.Env, "PATH="+DefaultPath) < 0 {
		t.Errorf("Env = %q: want the default PATH", p.Env)
	}
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

func TestProcessForWorkdir(t *testing.T) {
	for _, tc := range []struct {
		name, image, ctr, want, wantErr string
	}{
		{name: "default", want: "/"},
		{name: "image WORKDIR", image: "/work", want: "/work"},
		{name: "workingDir wins", image: "/work", ctr: "/srv", want: "/srv"},
		{name: "relative workingDir", ctr: "srv", wantErr: "absolute"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &imgspecv1.Image{Config: imgspecv1.ImageConfig{Cmd: []string{"sh"}, WorkingDir: tc.image}}
			p, err := ProcessFor(cfg, nil, &corev1.Container{WorkingDir: tc.ctr}, "", EnvSources{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(tc.wantErr, "root") && !errors.Is(err, ErrRunAsRoot) {
					t.Errorf("err = %v, want ErrRunAsRoot", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Cwd != tc.want {
				t.Errorf("Cwd = %q, want %q", p.Cwd, tc.want)
			}
		})
	}
}

func TestProcessForUser(t *testing.T) {
	for _, tc := range []struct {
		name     string
		user     string
		ctr      *corev1.SecurityContext
		podSC    *corev1.PodSecurityContext
		uid, gid uint32
		groups   []uint32
		home     string
		wantErr  string
		noRootfs bool
	}{
		{name: "no USER is root", uid: 0, gid: 0, groups: []uint32{0}, home: "/root"},
		{name: "by name", user: "www-data", uid: 33, gid: 33, groups: []uint32{33, 29}, home: "/var/www"},
		{name: "name with supplementary groups", user: "app", uid: 1000, gid: 1000, groups: []uint32{1000, 10, 29}, home: "/home/app"},
		{name: "by uid", user: "33", uid: 33, gid: 33, groups: []uint32{33, 29}},
		{name: "uid not in passwd", user: "4242", uid: 4242, gid: 0, groups: []uint32{0}},
		{name: "uid:gid", user: "33:1000", uid: 33, gid: 1000, groups: []uint32{1000, 29}},
		{name: "name:group", user: "app:www-data", uid: 1000, gid: 33, groups: []uint32{33, 10, 29}},
		{name: "missing user", user: "nobody-here", wantErr: "nobody-here"},
		{name: "missing group", user: "app:nogroup", wantErr: "nogroup"},
		{name: "name without rootfs", user: "www-data", noRootfs: true, wantErr: "www-data"},
		{name: "uid without rootfs", user: "7", noRootfs: true, uid: 7, gid: 0, groups: []uint32{0}},
		{name: "pod runAsUser over USER", user: "www-data", podSC: &corev1.PodSecurityContext{RunAsUser: i64(1000)}, uid: 1000, gid: 1000, groups: []uint32{1000, 10, 29}},
		{name: "container runAsUser over pod's", user: "www-data", podSC: &corev1.PodSecurityContext{RunAsUser: i64(1000)},
			ctr: &corev1.SecurityContext{RunAsUser: i64(33)}, uid: 33, gid: 33, groups: []uint32{33, 29}},
		{name: "runAsGroup keeps USER", user: "www-data", ctr: &corev1.SecurityContext{RunAsGroup: i64(5)}, uid: 33, gid: 5, groups: []uint32{5, 29}},
		{name: "runAsUser and runAsGroup", ctr: &corev1.SecurityContext{RunAsUser: i64(1234), RunAsGroup: i64(99)}, uid: 1234, gid: 99, groups: []uint32{99}},
		{name: "the docs' example", ctr: &corev1.SecurityContext{RunAsUser: i64(1000), RunAsGroup: i64(3000)}, podSC: &corev1.PodSecurityContext{FSGroup: i64(2000)},
			uid: 1000, gid: 3000, groups: []uint32{3000, 10, 29, 2000}},
		{name: "supplementalGroupsPolicy Strict", user: "www-data", podSC: &corev1.PodSecurityContext{SupplementalGroups: []int64{500}, SupplementalGroupsPolicy: ptrTo(corev1.SupplementalGroupsPolicyStrict)},
			uid: 33, gid: 33, groups: []uint32{33, 500}},
		{name: "supplementalGroups and fsGroup", user: "www-data", podSC: &corev1.PodSecurityContext{SupplementalGroups: []int64{500, 29}, FSGroup: i64(2000)},
			uid: 33, gid: 33, groups: []uint32{33, 29, 500, 2000}},
		{name: "runAsNonRoot with root", ctr: &corev1.SecurityContext{RunAsNonRoot: bp(true)}, wantErr: "CreateContainerConfigError: container has runAsNonRoot and image will run as root"},
		{name: "runAsNonRoot with runAsUser 0", user: "1000", ctr: &corev1.SecurityContext{RunAsNonRoot: bp(true), RunAsUser: i64(0)}, wantErr: "container's runAsUser breaks non-root policy"},
		{name: "runAsNonRoot on the pod, root by the image's USER", user: "0", podSC: &corev1.PodSecurityContext{RunAsNonRoot: bp(true)}, wantErr: "image will run as root"},
		{name: "runAsNonRoot with a name", user: "app", ctr: &corev1.SecurityContext{RunAsNonRoot: bp(true)}, wantErr: "image has non-numeric user (app), cannot verify user is non-root"},
		{name: "runAsNonRoot with a uid", user: "1000", ctr: &corev1.SecurityContext{RunAsNonRoot: bp(true)}, uid: 1000, gid: 1000, groups: []uint32{1000, 10, 29}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &imgspecv1.Image{Config: imgspecv1.ImageConfig{Cmd: []string{"sh"}, User: tc.user}}
			pod := &corev1.Pod{Spec: corev1.PodSpec{SecurityContext: tc.podSC}}
			rootfs := testRootfs
			if tc.noRootfs {
				rootfs = ""
			}
			p, err := ProcessFor(cfg, pod, &corev1.Container{Name: "c", SecurityContext: tc.ctr}, rootfs, EnvSources{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(tc.wantErr, "root") && !errors.Is(err, ErrRunAsRoot) {
					t.Errorf("err = %v, want ErrRunAsRoot", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.UID != tc.uid || p.GID != tc.gid {
				t.Errorf("uid:gid = %d:%d, want %d:%d", p.UID, p.GID, tc.uid, tc.gid)
			}
			if len(p.AdditionalGids) != 0 || len(tc.groups) != 0 {
				if !reflect.DeepEqual(p.AdditionalGids, tc.groups) {
					t.Errorf("AdditionalGids = %v, want %v", p.AdditionalGids, tc.groups)
				}
			}
			if tc.home != "" && indexOf(p.Env, "HOME="+tc.home) < 0 {
				t.Errorf("Env = %q: want HOME=%s", p.Env, tc.home)
			}
		})
	}
}

func TestOpenInRootStaysInside(t *testing.T) {
	// An image whose /etc/passwd is an absolute symlink must not read the
	// host's: RESOLVE_IN_ROOT resolves it inside the rootfs.
	root := t.TempDir()
	if err := mkSymlinkRoot(root); err != nil {
		t.Fatal(err)
	}
	cfg := &imgspecv1.Image{Config: imgspecv1.ImageConfig{Cmd: []string{"sh"}, User: "root"}}
	_, err := ProcessFor(cfg, nil, &corev1.Container{}, root, EnvSources{})
	if err == nil || !strings.Contains(err.Error(), "root") {
		t.Fatalf("err = %v, want user root not found (the host's /etc/passwd must not be read)", err)
	}
}

// objects is a fake Objects.
type objects struct {
	cms     []*corev1.ConfigMap
	secrets []*corev1.Secret
}

func (o objects) ConfigMap(ns, name string) *corev1.ConfigMap {
	for _, c := range o.cms {
		if c.Name == name && c.Namespace == ns {
			return c
		}
	}
	return nil
}

func (o objects) Secret(ns, name string) *corev1.Secret {
	for _, s := range o.secrets {
		if s.Name == name && s.Namespace == ns {
			return s
		}
	}
	return nil
}

func TestContainerEnvAsKubelet(t *testing.T) {
	objs := objects{
		cms: []*corev1.ConfigMap{{ObjectMeta: metav1.ObjectMeta{Name: "conf", Namespace: "dev"},
			Data: map[string]string{"MODE": "dev", "LEVEL": "$(MODE)", "bad name": "x", "1X": "y"}}},
		secrets: []*corev1.Secret{{ObjectMeta: metav1.ObjectMeta{Name: "pw", Namespace: "dev"},
			Data: map[string][]byte{"password": []byte("s3cret")}, StringData: map[string]string{"user": "admin"}}},
	}
	mem := resource.MustParse("64Mi")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "dev", UID: "u-1", Annotations: map[string]string{"a": "b"}},
		Spec:       corev1.PodSpec{NodeName: "host", ServiceAccountName: "sa", Containers: []corev1.Container{{Name: "other", Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: mem}}}}},
		Status: corev1.PodStatus{HostIP: "127.0.0.1", HostIPs: []corev1.HostIP{{IP: "127.0.0.1"}}, PodIP: "10.0.2.100",
			PodIPs: []corev1.PodIP{{IP: "10.0.2.100"}, {IP: "fd00::100"}}},
	}
	node := downward.Node{CPU: resource.MustParse("4"), Memory: resource.MustParse("8Gi")}
	field := func(p string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: p}}
	}
	res := func(r, div, ctr string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: r, Divisor: resource.MustParse(div), ContainerName: ctr}}
	}
	no := true
	c := &corev1.Container{
		Name: "c",
		EnvFrom: []corev1.EnvFromSource{
			{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "conf"}}},
			{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "pw"}}, Prefix: "DB_"},
			{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}, Optional: &no}},
		},
		Env: []corev1.EnvVar{
			{Name: "MODE", Value: "prod-$(MODE)"},
			{Name: "NODE", ValueFrom: field("spec.nodeName")},
			{Name: "SA", ValueFrom: field("spec.serviceAccountName")},
			{Name: "UID", ValueFrom: field("metadata.uid")},
			{Name: "ANN", ValueFrom: field("metadata.annotations['a']")},
			{Name: "HOSTIP", ValueFrom: field("status.hostIP")},
			{Name: "HOSTIPS", ValueFrom: field("status.hostIPs")},
			{Name: "PODIP", ValueFrom: field("status.podIP")},
			{Name: "PODIPS", ValueFrom: field("status.podIPs")},
			{Name: "CPU", ValueFrom: res("limits.cpu", "1m", "")},
			{Name: "MEM", ValueFrom: res("limits.memory", "1Mi", "")},
			{Name: "OTHERMEM", ValueFrom: res("limits.memory", "1Mi", "other")},
			{Name: "OTHERREQ", ValueFrom: res("requests.memory", "1Mi", "other")},
			{Name: "REQCPU", ValueFrom: res("requests.cpu", "0", "")},
			{Name: "PW", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "pw"}, Key: "password"}}},
			{Name: "OPT", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "conf"}, Key: "nope", Optional: &no}}},
			{Name: "KUBERNETES_SERVICE_PORT", Value: "6443"},
			{Name: "API", Value: "$(KUBERNETES_SERVICE_HOST):$(KUBERNETES_SERVICE_PORT)"},
		},
		Command: []string{"echo", "$(DB_user)", "$(KUBERNETES_PORT)"},
	}
	p, err := ProcessFor(imageCfg(nil, nil), pod, c, "", EnvSources{Objects: objs, Node: node})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		"LEVEL=$(MODE)", // from a ConfigMap: not expanded
		"MODE=prod-dev", "DB_password=s3cret", "DB_user=admin",
		"NODE=host", "SA=sa", "UID=u-1", "ANN=b", "HOSTIP=127.0.0.1", "HOSTIPS=127.0.0.1",
		"PODIP=10.0.2.100", "PODIPS=10.0.2.100,fd00::100",
		"CPU=4000", "MEM=8192", "OTHERMEM=64", "OTHERREQ=64", "REQCPU=0", "PW=s3cret",
		"KUBERNETES_SERVICE_HOST=10.96.0.1", "KUBERNETES_SERVICE_PORT=6443",
		"KUBERNETES_PORT=tcp://10.96.0.1:443", "KUBERNETES_PORT_443_TCP_ADDR=10.96.0.1",
		"API=10.96.0.1:6443",
	} {
		if indexOf(p.Env, w) < 0 {
			t.Errorf("Env = %q: want %q", p.Env, w)
		}
	}
	for _, prefix := range []string{"bad name=", "1X=", "OPT="} {
		for _, kv := range p.Env {
			if strings.HasPrefix(kv, prefix) {
				t.Errorf("Env has %q", kv)
			}
		}
	}
	if want := []string{"echo", "admin", "tcp://10.96.0.1:443"}; !reflect.DeepEqual(p.Args, want) {
		t.Errorf("Args = %q, want %q", p.Args, want)
	}
}

func ptrTo[T any](v T) *T { return &v }

package mounts

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

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

func i32(v int32) *int32 { return &v }
func yes() *bool         { b := true; return &b }

func TestContent(t *testing.T) {
	src := Sources{Objects: objects{
		cms: []*corev1.ConfigMap{{ObjectMeta: metav1.ObjectMeta{Name: "conf", Namespace: "default"},
			Data: map[string]string{"a.conf": "A", "b.conf": "B"}, BinaryData: map[string][]byte{"bin": {0, 1}}}},
		secrets: []*corev1.Secret{{ObjectMeta: metav1.ObjectMeta{Name: "pw", Namespace: "default"},
			Data: map[string][]byte{"password": []byte("old"), "user": []byte("u")}, StringData: map[string]string{"password": "s3cret"}}},
	}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Labels: map[string]string{"b": "2", "a": "1"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}}}
	ref := func(n string) corev1.LocalObjectReference { return corev1.LocalObjectReference{Name: n} }
	tests := []struct {
		name      string
		vol       corev1.VolumeSource
		want      []File
		wantNotes int
		wantErr   string
	}{
		{"configMap: every key, data and binaryData, defaultMode 0644",
			corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: ref("conf")}},
			[]File{{"a.conf", []byte("A"), 0o644}, {"b.conf", []byte("B"), 0o644}, {"bin", []byte{0, 1}, 0o644}}, 0, ""},
		{"configMap: items and modes",
			corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: ref("conf"), DefaultMode: i32(0o440),
				Items: []corev1.KeyToPath{{Key: "a.conf", Path: "etc/app/a.conf", Mode: i32(0o400)}, {Key: "b.conf", Path: "b"}}}},
			[]File{{"b", []byte("B"), 0o440}, {"etc/app/a.conf", []byte("A"), 0o400}}, 0, ""},
		{"configMap: a missing key", corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: ref("conf"),
			Items: []corev1.KeyToPath{{Key: "nope", Path: "x"}}}}, nil, 0, `key "nope" not found in ConfigMap "conf"`},
		{"configMap: a missing key, optional", corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: ref("conf"), Optional: yes(),
			Items: []corev1.KeyToPath{{Key: "nope", Path: "x"}, {Key: "a.conf", Path: "a"}}}}, []File{{"a", []byte("A"), 0o644}}, 0, ""},
		{"configMap: missing", corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: ref("nope")}}, nil, 0, `ConfigMap "nope" not found`},
		{"configMap: missing, optional", corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: ref("nope"), Optional: yes()}}, nil, 0, ""},
		{"secret: stringData over data",
			corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "pw", DefaultMode: i32(0o400)}},
			[]File{{"password", []byte("s3cret"), 0o400}, {"user", []byte("u"), 0o400}}, 0, ""},
		{"secret: missing", corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "nope"}}, nil, 0, `Secret "nope" not found`},
		{"downwardAPI",
			corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
				{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
				{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}, Mode: i32(0o600)},
			}}},
			[]File{{"labels", []byte("a=\"1\"\nb=\"2\""), 0o644}, {"name", []byte("web"), 0o600}}, 0, ""},
		{"projected: sources together, placeholders said",
			corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{DefaultMode: i32(0o444), Sources: []corev1.VolumeProjection{
				{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: ref("conf"), Items: []corev1.KeyToPath{{Key: "a.conf", Path: "a"}}}},
				{Secret: &corev1.SecretProjection{LocalObjectReference: ref("pw"), Items: []corev1.KeyToPath{{Key: "user", Path: "u"}}}},
				{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "ns", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}},
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
			}}},
			[]File{{"a", []byte("A"), 0o444}, {"u", []byte("u"), 0o444}, {"ns", []byte("default"), 0o444}, {"token", []byte(TokenPlaceholder), 0o444}}, 1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := &corev1.Volume{Name: "v", VolumeSource: tc.vol}
			files, notes, err := content(pod, v, src)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(files, tc.want) {
				t.Errorf("got %q\nwant %q", files, tc.want)
			}
			if len(notes) != tc.wantNotes {
				t.Errorf("notes: %q", notes)
			}
		})
	}
}

// Setup writes configMap volumes on disk in the atomic-writer layout; a
// secret volume gets nothing on disk, only its tmpfs options.
func TestSetupContent(t *testing.T) {
	src := Sources{Objects: objects{
		cms:     []*corev1.ConfigMap{{ObjectMeta: metav1.ObjectMeta{Name: "conf", Namespace: "default"}, Data: map[string]string{"a.conf": "A"}}},
		secrets: []*corev1.Secret{{ObjectMeta: metav1.ObjectMeta{Name: "pw", Namespace: "default"}, StringData: map[string]string{"password": "s3cret"}}},
	}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: corev1.PodSpec{Volumes: []corev1.Volume{
		{Name: "cm", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "conf"},
			Items: []corev1.KeyToPath{{Key: "a.conf", Path: "app/a.conf", Mode: i32(0o600)}}}}},
		{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "pw"}}},
	}}}
	data := t.TempDir()
	vols, _, err := Setup(pod, data, src)
	if err != nil {
		t.Fatal(err)
	}
	cm := vols["cm"]
	if cm.Kind != KindConfig || !cm.ReadOnly || !cm.Content {
		t.Errorf("cm: %+v", cm)
	}
	fi, err := os.Stat(filepath.Join(cm.Source, "app/a.conf"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("cm file through the links: %v %v", err, fi)
	}
	if l, err := os.Readlink(filepath.Join(cm.Source, "app")); err != nil || l != "..data/app" {
		t.Errorf("top-level link: %q %v", l, err)
	}
	if l, err := os.Readlink(filepath.Join(cm.Source, "..data")); err != nil || !strings.HasPrefix(l, "..20") {
		t.Errorf("..data: %q %v", l, err)
	}
	sec := vols["sec"]
	if sec.Kind != KindMemory || sec.TmpfsOptions != "mode=1777" || !sec.ReadOnly {
		t.Errorf("sec: %+v", sec)
	}
	filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Type().IsRegular() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), "s3cret") {
				t.Errorf("secret bytes on disk in %s", p)
			}
		}
		return nil
	})
	// subPath into the secret volume: from its files, as they will be.
	ms, err := ForContainer(&corev1.Container{Name: "c", VolumeMounts: []corev1.VolumeMount{
		{Name: "sec", MountPath: "/pw", SubPath: "password"},
		{Name: "cm", MountPath: "/a.conf", SubPath: "app/a.conf"},
	}}, vols, Etc{})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(sec.Source, sec.dataDir, "password"); ms[0].Source != want {
		t.Errorf("secret subPath: %s, want %s", ms[0].Source, want)
	}
	if want := filepath.Join(cm.Source, cm.dataDir, "app/a.conf"); ms[1].Source != want {
		t.Errorf("configMap subPath: %s, want %s", ms[1].Source, want)
	}
	if _, err := ForContainer(&corev1.Container{Name: "c", VolumeMounts: []corev1.VolumeMount{{Name: "sec", MountPath: "/x", SubPath: "nope"}}}, vols, Etc{}); err == nil {
		t.Error("subPath nope, which no container of the pod mounts, into a secret volume: no error")
	}
	// A subPath the pod mounts that no file has: a directory, made with the files.
	pod.Spec.Containers = []corev1.Container{{Name: "c", VolumeMounts: []corev1.VolumeMount{{Name: "sec", MountPath: "/cache", SubPath: "cache/x"}}}}
	vols, _, err = Setup(pod, t.TempDir(), src)
	if err != nil {
		t.Fatal(err)
	}
	ms, err = ForContainer(&pod.Spec.Containers[0], vols, Etc{})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(vols["sec"].Source, "cache/x"); ms[0].Source != want || !reflect.DeepEqual(vols["sec"].subDirs, []string{"cache/x"}) {
		t.Errorf("missing subPath: %s (dirs %q), want %s", ms[0].Source, vols["sec"].subDirs, want)
	}
}

func TestWriteContent(t *testing.T) {
	dir := t.TempDir()
	ts := dataDirName(time.Date(2026, 11, 28, 10, 0, 0, 5, time.UTC))
	if ts != "..2026_11_28_10_00_00.000000005" {
		t.Errorf("dataDirName: %s", ts)
	}
	if err := writeContentAt(dir, ts, []File{{"x/y", []byte("1"), 0o640}, {"z", []byte("2"), 0o644}}); err != nil {
		t.Fatal(err)
	}
	var got []string
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if want := []string{ts, "..data", "x", "z"}; !reflect.DeepEqual(got, want) {
		t.Errorf("entries %q, want %q", got, want)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "x/y")); err != nil || string(b) != "1" {
		t.Errorf("x/y: %q %v", b, err)
	}
}

// FillTmpfs writes only into a tmpfs: through /proc/<pid>/root, on a
// directory that is not one, it refuses and writes nothing.
func TestFillTmpfs(t *testing.T) {
	dir := t.TempDir()
	v := Volume{Name: "sec", Source: dir, Kind: KindMemory, Content: true, dataDir: dataDirName(time.Now()),
		Files: []File{{"password", []byte("s3cret"), 0o644}}}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	err := FillTmpfs(os.Getpid(), map[string]Volume{"sec": v})
	if st.Type == unix.TMPFS_MAGIC {
		if err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "password")); err != nil || string(b) != "s3cret" {
			t.Errorf("on a tmpfs: %q %v", b, err)
		}
		return
	}
	if !errors.Is(err, ErrNotTmpfs) {
		t.Fatalf("on disk: got %v, want ErrNotTmpfs", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("on disk: wrote %v", ents)
	}
}

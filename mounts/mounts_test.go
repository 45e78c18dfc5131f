package mounts

import (
	"bytes"
	"errors"
	"flag"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestWriteEtc(t *testing.T) {
	ndots, yes := "2", true
	tests := []struct {
		name string
		pod  *corev1.Pod
	}{
		{"plain", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"}}},
		{"aliases-dns", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "api"}, Spec: corev1.PodSpec{
			HostAliases: []corev1.HostAlias{{IP: "10.0.2.2", Hostnames: []string{"host.local", "db"}}, {IP: "127.0.0.1", Hostnames: []string{"me"}}},
			DNSConfig: &corev1.PodDNSConfig{
				Nameservers: []string{"1.1.1.1", "10.0.2.3", "8.8.8.8", "9.9.9.9"},
				Searches:    []string{"svc.local", "local"},
				Options:     []corev1.PodDNSConfigOption{{Name: "ndots", Value: &ndots}, {Name: "edns0"}},
			},
		}}},
		{"long-name", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: strings.Repeat("a", 62) + "-b.example"}}},
		{"subdomain", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "db-0", Namespace: "shop"}, Spec: corev1.PodSpec{
			Hostname: "busybox-1", Subdomain: "busybox-subdomain", DNSPolicy: corev1.DNSDefault,
			DNSConfig: &corev1.PodDNSConfig{Searches: []string{"corp.example", "lan"}, Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: &ndots}, {Name: "rotate"}}},
		}}},
		{"fqdn", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.PodSpec{
			Subdomain: "sub", SetHostnameAsFQDN: &yes, DNSPolicy: corev1.DNSNone,
			DNSConfig: &corev1.PodDNSConfig{Nameservers: []string{"192.0.2.1"}, Searches: []string{"ns1.svc.cluster-domain.example"}, Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: &ndots}, {Name: "edns0"}}},
		}}},
	}
	hostResolvConf = filepath.Join("testdata", "host-resolv.conf")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			e, err := WriteEtc(tc.pod, filepath.Join(dir, "etc"))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []struct{ path, golden string }{
				{e.Hosts, tc.name + ".hosts"},
				{e.Resolv, tc.name + ".resolv.conf"},
				{e.Hostname, tc.name + ".hostname"},
			} {
				got, err := os.ReadFile(f.path)
				if err != nil {
					t.Fatal(err)
				}
				golden := filepath.Join("testdata", f.golden)
				if *update {
					if err := os.WriteFile(golden, got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (go test -update creates it)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from %s:\n%s", filepath.Base(f.path), golden, got)
				}
			}
		})
	}
}

func TestHostname(t *testing.T) {
	long := strings.Repeat("a", 62) + "-b"
	if got := Hostname(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: long}}); got != strings.Repeat("a", 62) {
		t.Errorf("got %q", got)
	}
}

func TestForContainer(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	host := filepath.Join(dir, "host")
	for _, d := range []string{data, filepath.Join(host, "exists")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A symlink in the volume may not lead out of it.
	if err := os.Symlink("/etc", filepath.Join(data, "escape")); err != nil {
		t.Fatal(err)
	}
	vols := map[string]Volume{
		"data": {Name: "data", Source: data, Kind: KindEmptyDir},
		"host": {Name: "host", Source: host, Kind: KindHostPath},
		"conf": {Name: "conf", Source: data, Kind: KindEmptyDir, ReadOnly: true},
	}
	etc := Etc{Hosts: "/p/etc/hosts", Resolv: "/p/etc/resolv.conf", Hostname: "/p/etc/hostname"}
	bidi := corev1.MountPropagationBidirectional
	h2c := corev1.MountPropagationHostToContainer
	bind := func(dst, src string, opts ...string) specs.Mount {
		return specs.Mount{Destination: dst, Type: "bind", Source: src, Options: opts}
	}
	etcMounts := []specs.Mount{
		bind("/etc/hosts", "/p/etc/hosts", "rbind", "rprivate"),
		bind("/etc/resolv.conf", "/p/etc/resolv.conf", "rbind", "rprivate"),
		bind("/etc/hostname", "/p/etc/hostname", "rbind", "rprivate"),
	}
	tests := []struct {
		name    string
		mounts  []corev1.VolumeMount
		want    []specs.Mount
		wantErr string
	}{
		{"etc only", nil, etcMounts, ""},
		{"readOnly and propagation, parents first", []corev1.VolumeMount{
			{Name: "data", MountPath: "/srv/data/inner", ReadOnly: true},
			{Name: "host", MountPath: "/srv/", MountPropagation: &h2c},
			{Name: "conf", MountPath: "/conf", MountPropagation: &bidi},
		}, append(append([]specs.Mount{
			bind("/srv", host, "rbind", "rslave"),
			bind("/conf", data, "rbind", "rshared", "ro"),
		}, etcMounts...), bind("/srv/data/inner", data, "rbind", "rprivate", "ro")), ""},
		{"subPath existing and created", []corev1.VolumeMount{
			{Name: "host", MountPath: "/a", SubPath: "exists"},
			{Name: "data", MountPath: "/b", SubPath: "new/dir"},
		}, append([]specs.Mount{
			bind("/a", filepath.Join(host, "exists"), "rbind", "rprivate"),
			bind("/b", filepath.Join(data, "new/dir"), "rbind", "rprivate"),
		}, etcMounts...), ""},
		{"subPath symlink stays inside", []corev1.VolumeMount{{Name: "data", MountPath: "/x", SubPath: "escape/passwd"}},
			append([]specs.Mount{bind("/x", filepath.Join(data, "etc/passwd"), "rbind", "rprivate")}, etcMounts...), ""},
		{"own /etc/hosts wins", []corev1.VolumeMount{{Name: "data", MountPath: "/etc/hosts", SubPath: "hosts"}},
			[]specs.Mount{bind("/etc/hosts", filepath.Join(data, "hosts"), "rbind", "rprivate"), etcMounts[1], etcMounts[2]}, ""},
		{"subPath with ..", []corev1.VolumeMount{{Name: "data", MountPath: "/x", SubPath: "a/../../b"}}, nil, "must not contain '..'"},
		{"unknown volume", []corev1.VolumeMount{{Name: "nope", MountPath: "/x"}}, nil, "no such volume"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ForContainer(&corev1.Container{Name: "c", VolumeMounts: tc.mounts}, vols, etc)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
	if fi, err := os.Stat(filepath.Join(data, "new/dir")); err != nil || fi.Mode().Perm() != 0o777 {
		t.Errorf("subPath in an emptyDir: %v, mode %v; want 0777", err, fi.Mode())
	}
}

func TestCheckHostPaths(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	secret := filepath.Join(dir, "secret")
	if err := os.Mkdir(secret, 0o000); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		typ     corev1.HostPathType
		wantErr string // "" = ok
		created bool
	}{
		{"directory", dir, corev1.HostPathDirectory, "", false},
		{"directory is a file", file, corev1.HostPathDirectory, "is not a directory", false},
		{"directory missing", filepath.Join(dir, "nope"), corev1.HostPathDirectory, "no such file", false},
		{"directory or create", filepath.Join(dir, "new/dir"), corev1.HostPathDirectoryOrCreate, "", true},
		{"file", file, corev1.HostPathFile, "", false},
		{"file is a dir", dir, corev1.HostPathFile, "is not a regular file (type File), it is a directory", false},
		{"file or create", filepath.Join(dir, "newfile"), corev1.HostPathFileOrCreate, "", true},
		{"file or create without parent", filepath.Join(dir, "no/newfile"), corev1.HostPathFileOrCreate, "creating file", false},
		{"socket", sock, corev1.HostPathSocket, "", false},
		{"socket is a file", file, corev1.HostPathSocket, "is not a socket", false},
		{"char device", "/dev/null", corev1.HostPathCharDev, "", false},
		{"char device is a file", file, corev1.HostPathCharDev, "is not a character device", false},
		{"block device is a char device", "/dev/null", corev1.HostPathBlockDev, "is not a block device", false},
		{"unset exists", file, corev1.HostPathUnset, "", false},
		{"unset missing", filepath.Join(dir, "nope"), corev1.HostPathUnset, "no such file", false},
	}
	if os.Geteuid() != 0 {
		tests = append(tests, struct {
			name    string
			path    string
			typ     corev1.HostPathType
			wantErr string
			created bool
		}{"unreadable", secret, corev1.HostPathDirectory, "cannot be read", false})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			typ := tc.typ
			pod := &corev1.Pod{Spec: corev1.PodSpec{Volumes: []corev1.Volume{
				{Name: "e", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: tc.path, Type: &typ}}},
			}}}
			err := CheckHostPaths(pod)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				var he *HostPathError
				if !errors.As(err, &he) || he.Path != tc.path || he.Volume != "h" || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want a HostPathError for %s with %q", err, tc.path, tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.path) {
					t.Errorf("error does not name the path: %v", err)
				}
			}
			if tc.created {
				if _, err := os.Stat(tc.path); err != nil {
					t.Errorf("not created: %v", err)
				}
			}
		})
	}
}

func TestSetupEmptyDir(t *testing.T) {
	data := t.TempDir()
	pod := &corev1.Pod{Spec: corev1.PodSpec{Volumes: []corev1.Volume{
		{Name: "e", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/"}}},
	}}}
	vols, _, err := Setup(pod, data, Sources{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Volume{
		"e": {Name: "e", Source: filepath.Join(data, "volumes/e"), Kind: KindEmptyDir},
		"h": {Name: "h", Source: "/tmp", Kind: KindHostPath},
	}
	if !reflect.DeepEqual(vols, want) {
		t.Errorf("got %+v, want %+v", vols, want)
	}
	if fi, err := os.Stat(vols["e"].Source); err != nil || fi.Mode().Perm() != 0o777 {
		t.Errorf("emptyDir: %v, mode %v; want 0777", err, fi.Mode())
	}
}

// Setup runs in the CLI: a medium Memory volume is a directory and the
// options of the tmpfs the pod's PID 1 mounts there.
func TestSetupMemory(t *testing.T) {
	size := resource.MustParse("1Mi")
	pod := &corev1.Pod{Spec: corev1.PodSpec{Volumes: []corev1.Volume{
		{Name: "m", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: &size}}},
	}}}
	data := t.TempDir()
	vols, _, err := Setup(pod, data, Sources{})
	if err != nil {
		t.Fatal(err)
	}
	want := Volume{Name: "m", Source: filepath.Join(data, "volumes/m"), Kind: KindMemory, TmpfsOptions: "mode=1777,size=1048576"}
	if !reflect.DeepEqual(vols["m"], want) {
		t.Errorf("got %+v, want %+v", vols["m"], want)
	}
	if fi, err := os.Stat(want.Source); err != nil || !fi.IsDir() {
		t.Errorf("no directory to mount on: %v", err)
	}
}

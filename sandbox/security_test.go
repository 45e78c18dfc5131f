package sandbox

import (
	"reflect"
	"testing"

	"github.com/podbox/podbox/mounts"
	"github.com/podbox/podbox/sandbox/podproto"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestVolumeLimitsAndSysctls(t *testing.T) {
	mi, zero := resource.MustParse("1Mi"), resource.MustParse("0")
	p := &corev1.Pod{Spec: corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "net/ipv4/tcp_syncookies", Value: "1"}}},
		Volumes: []corev1.Volume{
			{Name: "disk", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: &mi}}},
			{Name: "mem", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: &mi}}},
			{Name: "unbounded", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "zero", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: &zero}}},
		},
	}}
	vols := map[string]mounts.Volume{
		"disk":      {Name: "disk", Source: "/d/volumes/disk", Kind: mounts.KindEmptyDir},
		"mem":       {Name: "mem", Source: "/d/volumes/mem", Kind: mounts.KindMemory},
		"unbounded": {Name: "unbounded", Source: "/d/volumes/unbounded", Kind: mounts.KindEmptyDir},
		"zero":      {Name: "zero", Source: "/d/volumes/zero", Kind: mounts.KindEmptyDir},
	}
	want := []podproto.VolumeLimit{{Name: "disk", Path: "/d/volumes/disk", Bytes: 1 << 20, Limit: "1Mi"}}
	if got := volumeLimits(p, vols); !reflect.DeepEqual(got, want) {
		t.Errorf("volumeLimits = %+v, want %+v", got, want)
	}
	if got := podSysctls(p); !reflect.DeepEqual(got, []podproto.Sysctl{{Name: "net.ipv4.tcp_syncookies", Value: "1"}}) {
		t.Errorf("podSysctls = %+v", got)
	}
}

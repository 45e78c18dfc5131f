package sandbox

import (
	"fmt"
	"io"

	"github.com/podbox/podbox/mounts"
	"github.com/podbox/podbox/sandbox/manifest"
	"github.com/podbox/podbox/sandbox/podproto"
	corev1 "k8s.io/api/core/v1"
)

// volumeLimits are the pod's on-disk emptyDirs with a sizeLimit, which its
// PID 1 watches (the kubelet's eviction). A medium: Memory emptyDir is
// bounded by its tmpfs already.
func volumeLimits(p *corev1.Pod, vols map[string]mounts.Volume) []podproto.VolumeLimit {
	var out []podproto.VolumeLimit
	for _, v := range p.Spec.Volumes {
		ed := v.EmptyDir
		if ed == nil || ed.Medium == corev1.StorageMediumMemory || ed.SizeLimit == nil || ed.SizeLimit.Sign() <= 0 {
			continue
		}
		vol, ok := vols[v.Name]
		if !ok || vol.Kind != mounts.KindEmptyDir {
			continue
		}
		out = append(out, podproto.VolumeLimit{Name: v.Name, Path: vol.Source, Bytes: ed.SizeLimit.Value(), Limit: ed.SizeLimit.String()})
	}
	return out
}

// podSysctls are the pod's securityContext.sysctls, by their dotted names
// (package manifest has checked they are safe).
func podSysctls(p *corev1.Pod) []podproto.Sysctl {
	sc := p.Spec.SecurityContext
	if sc == nil {
		return nil
	}
	var out []podproto.Sysctl
	for _, s := range sc.Sysctls {
		out = append(out, podproto.Sysctl{Name: manifest.SysctlName(s.Name), Value: s.Value})
	}
	return out
}

// warnOnce writes a warning to w unless this process has said it already.
func warnOnce(w io.Writer, msg string) {
	if _, said := saidOnce.LoadOrStore("warning: "+msg, true); !said && w != nil {
		fmt.Fprintf(w, "warning: %s\n", msg)
	}
}

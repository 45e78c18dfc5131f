package ocispec

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// hostOnlyCapabilities are the capabilities the kernel checks in the
// initial user namespace (capable(), not ns_capable()): in podbox's user
// namespace a container may hold them, but what they allow is still
// refused (EPERM). The rest act on what the pod's user namespace owns: its
// network namespace (NET_ADMIN, NET_RAW, NET_BIND_SERVICE), its mount
// namespaces (SYS_ADMIN for mount), its processes (KILL, SYS_PTRACE) and
// the files of mapped ids (CHOWN, DAC_OVERRIDE, FOWNER, SETUID …).
var hostOnlyCapabilities = map[string]string{
	"CAP_AUDIT_CONTROL":   "the audit system belongs to the host",
	"CAP_AUDIT_READ":      "the audit system belongs to the host",
	"CAP_BLOCK_SUSPEND":   "checked in the host's user namespace",
	"CAP_BPF":             "checked in the host's user namespace",
	"CAP_IPC_LOCK":        "mlock stays bounded by RLIMIT_MEMLOCK",
	"CAP_LINUX_IMMUTABLE": "chattr +i/+a needs the host's root",
	"CAP_MAC_ADMIN":       "LSM policy belongs to the host",
	"CAP_MAC_OVERRIDE":    "LSM policy belongs to the host",
	"CAP_MKNOD":           "device nodes cannot be made in a user namespace",
	"CAP_PERFMON":         "checked in the host's user namespace",
	"CAP_SYSLOG":          "the kernel log belongs to the host",
	"CAP_SYS_MODULE":      "kernel modules belong to the host",
	"CAP_SYS_NICE":        "priorities are checked in the host's user namespace",
	"CAP_SYS_PACCT":       "process accounting belongs to the host",
	"CAP_SYS_RAWIO":       "raw I/O belongs to the host",
	"CAP_SYS_RESOURCE":    "limits are checked in the host's user namespace",
	"CAP_SYS_TIME":        "the clock belongs to the host",
	"CAP_SYS_TTY_CONFIG":  "checked in the host's user namespace",
	"CAP_WAKE_ALARM":      "checked in the host's user namespace",
}

// RootlessWarnings are what to tell the user about container c's
// securityContext.capabilities.add, once: the capabilities it adds that
// have no effect rootless (hostOnlyCapabilities), by name. The default set
// is not warned about (MKNOD is in it, as on a cluster).
func RootlessWarnings(c *corev1.Container) []string {
	sc := c.SecurityContext
	if sc == nil || sc.Capabilities == nil {
		return nil
	}
	var names []string
	all := false
	for _, a := range sc.Capabilities.Add {
		n := capName(string(a))
		if n == "CAP_ALL" {
			all = true
			continue
		}
		if _, ok := hostOnlyCapabilities[n]; ok {
			names = append(names, n)
		}
	}
	if all {
		return []string{fmt.Sprintf("container %q: securityContext.capabilities.add: ALL: %s have no effect rootless (the kernel checks them in the host's user namespace); the others act in the pod's namespaces",
			c.Name, strings.Join(trimCap(sortedKeys(hostOnlyCapabilities)), ", "))}
	}
	sort.Strings(names)
	var out []string
	for _, n := range names {
		out = append(out, fmt.Sprintf("container %q: securityContext.capabilities.add: %s has no effect rootless: %s", c.Name, strings.TrimPrefix(n, "CAP_"), hostOnlyCapabilities[n]))
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func trimCap(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.TrimPrefix(n, "CAP_")
	}
	return out
}

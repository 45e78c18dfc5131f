// Package downward computes the values of the Kubernetes downward API for a
// pod on this machine: fieldRef paths and resourceFieldRef resources, for
// env (package image) and downwardAPI and projected volumes (package
// mounts), with the kubelet's formats.
//
// Decisions:
//
//   - The paths are the kubelet's (podFieldSelectorRuntimeValue and
//     fieldpath.ExtractFieldPathAsString): env takes metadata.name,
//     namespace, uid, labels['k'], annotations['k'], spec.nodeName,
//     spec.serviceAccountName, status.hostIP, status.hostIPs, status.podIP
//     and status.podIPs; a volume takes the metadata ones and the whole
//     metadata.labels and metadata.annotations (key="value" lines, sorted,
//     as fieldpath.FormatMap). The API server refuses the others; so does
//     the manifest's validation, with the same lists (EnvFieldPaths,
//     VolumeFieldPaths).
//   - status.* come from the pod's status as the caller fills it (podbox's
//     pod IP on slirp4netns's network, the host IP the pod reports), spec.*
//     from the spec with its defaults (nodeName: this host).
//   - resourceFieldRef follows the kubelet's containerResourceRuntimeValue:
//     a limit that is unset is the node's allocatable (here: this machine's
//     CPU count, its MemTotal, the size of the filesystem of podbox's data
//     dir; the kubelet subtracts its reservations, podbox reserves none), a
//     request that is unset is the limit as the API server defaults it,
//     else 0; values are divided by divisor (default 1) and rounded up.
package downward

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// ErrUnsupported reports a field path or resource the downward API does not
// have.
var ErrUnsupported = errors.New("not supported by the downward API")

// EnvFieldPaths are the fieldRef paths env may use; a trailing "[" stands
// for a subscript ['key'].
var EnvFieldPaths = []string{
	"metadata.name", "metadata.namespace", "metadata.uid",
	"metadata.labels[", "metadata.annotations[",
	"spec.nodeName", "spec.serviceAccountName",
	"status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs",
}

// VolumeFieldPaths are the fieldRef paths a downwardAPI volume item may use.
var VolumeFieldPaths = []string{
	"metadata.name", "metadata.namespace", "metadata.uid",
	"metadata.labels", "metadata.annotations",
	"metadata.labels[", "metadata.annotations[",
}

// Resources are the resourceFieldRef resources podbox resolves (hugepages
// are the kubelet's too, but a rootless pod has none).
var Resources = []string{
	"limits.cpu", "limits.memory", "limits.ephemeral-storage",
	"requests.cpu", "requests.memory", "requests.ephemeral-storage",
}

// Allowed reports whether path is one of paths (EnvFieldPaths or
// VolumeFieldPaths), a subscript written ['key'].
func Allowed(paths []string, path string) bool {
	for _, p := range paths {
		if strings.HasSuffix(p, "[") {
			if rest, ok := strings.CutPrefix(path, p+"'"); ok && strings.HasSuffix(rest, "']") && len(rest) > 2 {
				return true
			}
			continue
		}
		if p == path {
			return true
		}
	}
	return false
}

// FieldValue is the value of fieldRef path for pod, whose status holds its
// IPs.
func FieldValue(pod *corev1.Pod, path string) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		if pod.Namespace == "" {
			return "default", nil
		}
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return FormatMap(pod.Labels), nil
	case "metadata.annotations":
		return FormatMap(pod.Annotations), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP":
		return pod.Status.HostIP, nil
	case "status.hostIPs":
		var ips []string
		for _, ip := range pod.Status.HostIPs {
			ips = append(ips, ip.IP)
		}
		return strings.Join(ips, ","), nil
	case "status.podIP":
		return pod.Status.PodIP, nil
	case "status.podIPs":
		var ips []string
		for _, ip := range pod.Status.PodIPs {
			ips = append(ips, ip.IP)
		}
		return strings.Join(ips, ","), nil
	}
	for _, m := range []struct {
		prefix string
		vals   map[string]string
	}{{"metadata.labels", pod.Labels}, {"metadata.annotations", pod.Annotations}} {
		if rest, ok := strings.CutPrefix(path, m.prefix+"['"); ok {
			if key, ok := strings.CutSuffix(rest, "']"); ok {
				return m.vals[key], nil
			}
		}
	}
	return "", fmt.Errorf("fieldRef %q: %w", path, ErrUnsupported)
}

// FormatMap is the kubelet's fieldpath.FormatMap: key="value" lines in key
// order, without a trailing newline.
func FormatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%v=%q", k, m[k])
	}
	return b.String()
}

// Node is what the kubelet would report as the node's allocatable.
type Node struct {
	CPU              resource.Quantity
	Memory           resource.Quantity
	EphemeralStorage resource.Quantity
}

// ThisNode measures this machine: its CPUs (those this process may run
// on), MemTotal, and the size of the filesystem holding dir.
func ThisNode(dir string) Node {
	n := Node{CPU: *resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI)}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
				n.Memory = *resource.NewQuantity(kb*1024, resource.BinarySI)
				break
			}
		}
		f.Close()
	}
	var st unix.Statfs_t
	if dir != "" && unix.Statfs(dir, &st) == nil {
		n.EphemeralStorage = *resource.NewQuantity(int64(st.Blocks)*st.Bsize, resource.BinarySI)
	}
	return n
}

// ResourceValue is the value of resourceFieldRef ref for container c, on
// node.
func ResourceValue(c *corev1.Container, ref *corev1.ResourceFieldSelector, node Node) (string, error) {
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	kind, name, ok := strings.Cut(ref.Resource, ".")
	if !ok || (kind != "limits" && kind != "requests") {
		return "", fmt.Errorf("resourceFieldRef %q: %w", ref.Resource, ErrUnsupported)
	}
	var alloc resource.Quantity
	switch corev1.ResourceName(name) {
	case corev1.ResourceCPU:
		alloc = node.CPU
	case corev1.ResourceMemory:
		alloc = node.Memory
	case corev1.ResourceEphemeralStorage:
		alloc = node.EphemeralStorage
	default:
		return "", fmt.Errorf("resourceFieldRef %q: %w", ref.Resource, ErrUnsupported)
	}
	rn := corev1.ResourceName(name)
	limit, hasLimit := c.Resources.Limits[rn]
	request, hasRequest := c.Resources.Requests[rn]
	var q resource.Quantity
	if kind == "limits" {
		q = limit
		if !hasLimit || limit.IsZero() {
			q = alloc
		}
	} else {
		q = request
		if !hasRequest && hasLimit {
			q = limit // the API server's default
		}
	}
	if rn == corev1.ResourceCPU {
		return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(divisor.MilliValue()))), 10), nil
	}
	return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10), nil
}

// Container returns the init or app container of pod named name (a
// resourceFieldRef's containerName), or nil.
func Container(pod *corev1.Pod, name string) *corev1.Container {
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			if cs[i].Name == name {
				return &cs[i]
			}
		}
	}
	return nil
}

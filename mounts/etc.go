package mounts

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// The pod's addresses on slirp4netns's default network.
const (
	PodIP     = "10.0.2.100"
	DNSServer = "10.0.2.3"
)

// Etc are the generated files of a pod, bound into each container.
type Etc struct {
	Hosts, Resolv, Hostname string // file paths; "": not bound
}

// ClusterDomain is the cluster's DNS domain, the kubelet's
// --cluster-domain as kubeadm and kind set it: a pod with a subdomain is
// host.subdomain.namespace.svc.ClusterDomain.
const ClusterDomain = "cluster.local"

// hostResolvConf is the host's resolver configuration, which dnsPolicy
// Default (and ClusterFirst, without a cluster DNS) takes the search list
// and options from; a variable for tests.
var hostResolvConf = "/etc/resolv.conf"

// shortHostname is the pod's host name as the kubelet's
// GeneratePodHostNameAndDomain makes it: spec.hostname, else the pod's
// name, cut to 63 characters without a trailing '-' or '.'.
func shortHostname(pod *corev1.Pod) string {
	h := pod.Name
	if pod.Spec.Hostname != "" {
		h = pod.Spec.Hostname
	}
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-.")
	}
	return h
}

// HostDomain is the pod's domain, subdomain.namespace.svc.ClusterDomain,
// or "" without spec.subdomain.
func HostDomain(pod *corev1.Pod) string {
	if pod.Spec.Subdomain == "" {
		return ""
	}
	ns := pod.Namespace
	if ns == "" {
		ns = "default"
	}
	return pod.Spec.Subdomain + "." + ns + ".svc." + ClusterDomain
}

// Hostname is the pod's UTS host name and /etc/hostname: the short name
// (spec.hostname, else the pod's name, at most 63 characters), or with
// setHostnameAsFQDN and a subdomain the fully qualified one, as the
// kubelet sets it.
func Hostname(pod *corev1.Pod) string {
	h := shortHostname(pod)
	if f := pod.Spec.SetHostnameAsFQDN; f != nil && *f {
		if d := HostDomain(pod); d != "" {
			return h + "." + d
		}
	}
	return h
}

// WriteEtc writes hosts (localhost, the pod's host name at PodIP, its FQDN
// with a subdomain, hostAliases), resolv.conf (dnsPolicy and dnsConfig,
// dns.go) and hostname into dir, creating it.
func WriteEtc(pod *corev1.Pod, dir string) (Etc, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Etc{}, fmt.Errorf("writing /etc files: %w", err)
	}
	e := Etc{
		Hosts:    filepath.Join(dir, "hosts"),
		Resolv:   filepath.Join(dir, "resolv.conf"),
		Hostname: filepath.Join(dir, "hostname"),
	}
	for path, content := range map[string]string{
		e.Hosts:    hostsFile(pod),
		e.Resolv:   resolvConf(pod),
		e.Hostname: Hostname(pod) + "\n",
	} {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return Etc{}, fmt.Errorf("writing /etc files: %w", err)
		}
	}
	return e, nil
}

// hostsFile is the kubelet's managed hosts file (managedHostsFileContent)
// with podbox's addresses: with a subdomain, the pod's line is
// "IP<tab>host.sub.ns.svc.cluster.local<tab>host".
func hostsFile(pod *corev1.Pod) string {
	var b strings.Builder
	b.WriteString("# Kubernetes-managed hosts file (podbox).\n")
	b.WriteString("127.0.0.1\tlocalhost\n")
	b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::0\tip6-localnet\n")
	b.WriteString("fe00::0\tip6-mcastprefix\n")
	b.WriteString("fe00::1\tip6-allnodes\n")
	b.WriteString("fe00::2\tip6-allrouters\n")
	if d := HostDomain(pod); d != "" {
		fmt.Fprintf(&b, "%s\t%s.%s\t%s\n", PodIP, shortHostname(pod), d, shortHostname(pod))
	} else {
		fmt.Fprintf(&b, "%s\t%s\n", PodIP, shortHostname(pod))
	}
	if len(pod.Spec.HostAliases) > 0 {
		b.WriteString("\n# Entries added by HostAliases.\n")
		for _, a := range pod.Spec.HostAliases {
			fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
		}
	}
	return b.String()
}

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

// Hostname is the pod's host name, as the kubelet derives it: the pod's
// name, cut to 63 characters without a trailing '-' or '.'.
func Hostname(pod *corev1.Pod) string {
	h := pod.Name
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-.")
	}
	return h
}

// WriteEtc writes hosts (localhost, the pod's name at PodIP, hostAliases),
// resolv.conf (nameserver DNSServer, then spec.dnsConfig) and hostname into
// dir, creating it.
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

// hostsFile is the kubelet's managed hosts file with podbox's addresses.
func hostsFile(pod *corev1.Pod) string {
	var b strings.Builder
	b.WriteString("# Kubernetes-managed hosts file (podbox).\n")
	b.WriteString("127.0.0.1\tlocalhost\n")
	b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::0\tip6-localnet\n")
	b.WriteString("fe00::0\tip6-mcastprefix\n")
	b.WriteString("fe00::1\tip6-allnodes\n")
	b.WriteString("fe00::2\tip6-allrouters\n")
	fmt.Fprintf(&b, "%s\t%s\n", PodIP, Hostname(pod))
	if len(pod.Spec.HostAliases) > 0 {
		b.WriteString("\n# Entries added by HostAliases.\n")
		for _, a := range pod.Spec.HostAliases {
			if len(a.Hostnames) > 0 {
				fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
			}
		}
	}
	return b.String()
}

// resolvConf points at slirp4netns's DNS forwarder, then adds dnsConfig's
// nameservers (at most 3 in all, the resolver's limit), searches and options.
func resolvConf(pod *corev1.Pod) string {
	servers := []string{DNSServer}
	var searches []string
	var options []string
	if d := pod.Spec.DNSConfig; d != nil {
		for _, s := range d.Nameservers {
			if !contains(servers, s) && len(servers) < 3 {
				servers = append(servers, s)
			}
		}
		searches = d.Searches
		for _, o := range d.Options {
			if o.Value != nil {
				options = append(options, o.Name+":"+*o.Value)
			} else {
				options = append(options, o.Name)
			}
		}
	}
	var b strings.Builder
	for _, s := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(searches) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(searches, " "))
	}
	if len(options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(options, " "))
	}
	return b.String()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

package manifest

import (
	"fmt"
	"net"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// SafeSysctls are the kubelet's safe sysctls (pkg/kubelet/sysctl,
// Kubernetes 1.32): namespaced, and harmless to the node. podbox applies
// them in the pod's namespaces; any other sysctl needs the node's
// --allowed-unsafe-sysctls on a cluster and is refused here, as the
// kubelet refuses it (SysctlForbidden) when not allowed.
var SafeSysctls = []string{
	"kernel.shm_rmid_forced",
	"net.ipv4.ip_local_port_range",
	"net.ipv4.tcp_syncookies",
	"net.ipv4.ping_group_range",
	"net.ipv4.ip_unprivileged_port_start",
	"net.ipv4.ip_local_reserved_ports",
	"net.ipv4.tcp_keepalive_time",
	"net.ipv4.tcp_fin_timeout",
	"net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes",
	"net.ipv4.tcp_rmem",
	"net.ipv4.tcp_wmem",
}

// SysctlName is a sysctl's dotted name; a name written with '/' (the API
// allows both) is converted as the kubelet's NormalizeName does.
func SysctlName(name string) string {
	if i := strings.IndexAny(name, "./"); i >= 0 && name[i] == '/' {
		return strings.Map(func(r rune) rune {
			switch r {
			case '/':
				return '.'
			case '.':
				return '/'
			}
			return r
		}, name)
	}
	return name
}

// podNetwork checks hostname, subdomain, setHostnameAsFQDN, dnsPolicy and
// dnsConfig as the API server and the kubelet do.
func (v *validator) podNetwork(p *corev1.Pod) {
	s := &p.Spec
	if s.Hostname != "" {
		v.dns("spec.hostname", s.Hostname, false)
	}
	if s.Subdomain != "" {
		v.dns("spec.subdomain", s.Subdomain, false)
	}
	if f := s.SetHostnameAsFQDN; f != nil && *f && s.Subdomain != "" {
		host := s.Hostname
		if host == "" {
			host = p.Name
		}
		if len(host) > 63 {
			host = strings.TrimRight(host[:63], "-.")
		}
		// The kubelet's limit: the kernel keeps 64 bytes of a host name.
		if fqdn := host + "." + s.Subdomain + "." + p.Namespace + ".svc.cluster.local"; len(fqdn) > 64 {
			v.fail("spec.setHostnameAsFQDN", "the FQDN %s is too long (64 characters is the max, %d characters requested)", fqdn, len(fqdn))
		}
	}
	switch s.DNSPolicy {
	case "", corev1.DNSClusterFirst, corev1.DNSClusterFirstWithHostNet, corev1.DNSDefault:
	case corev1.DNSNone:
		if s.DNSConfig == nil {
			v.fail("spec.dnsPolicy", "None needs spec.dnsConfig")
		} else if len(s.DNSConfig.Nameservers) == 0 {
			v.fail("spec.dnsConfig.nameservers", "must have at least one nameserver when dnsPolicy is None")
		}
	default:
		v.fail("spec.dnsPolicy", "must be ClusterFirst, ClusterFirstWithHostNet, Default or None, got %q", s.DNSPolicy)
	}
	if d := s.DNSConfig; d != nil {
		for i, ns := range d.Nameservers {
			if net.ParseIP(ns) == nil {
				v.fail(fmt.Sprintf("spec.dnsConfig.nameservers[%d]", i), "must be an IP address, got %q", ns)
			}
		}
		if len(d.Nameservers) > 3 {
			v.fail("spec.dnsConfig.nameservers", "must not have more than 3 nameservers, got %d", len(d.Nameservers))
		}
		if len(d.Searches) > 32 {
			v.fail("spec.dnsConfig.searches", "must not have more than 32 search paths, got %d", len(d.Searches))
		}
		for i, o := range d.Options {
			if o.Name == "" {
				v.fail(fmt.Sprintf("spec.dnsConfig.options[%d].name", i), "required")
			}
		}
	}
}

// podSecurity checks the pod's securityContext and the containers'
// procMount, fsGroupChangePolicy and supplementalGroupsPolicy.
func (v *validator) podSecurity(p *corev1.Pod) {
	hostUsers := p.Spec.HostUsers != nil && *p.Spec.HostUsers
	if hostUsers {
		v.warn("spec.hostUsers", "true is not possible rootless: podbox runs every pod in a user namespace of its own (as hostUsers: false); the containers' ids are the user's subordinate ids on the host")
	}
	if sc := p.Spec.SecurityContext; sc != nil {
		if pol := sc.FSGroupChangePolicy; pol != nil && *pol != corev1.FSGroupChangeAlways && *pol != corev1.FSGroupChangeOnRootMismatch {
			v.fail("spec.securityContext.fsGroupChangePolicy", "must be Always or OnRootMismatch, got %q", *pol)
		}
		if pol := sc.SupplementalGroupsPolicy; pol != nil && *pol != corev1.SupplementalGroupsPolicyMerge && *pol != corev1.SupplementalGroupsPolicyStrict {
			v.fail("spec.securityContext.supplementalGroupsPolicy", "must be Merge or Strict, got %q", *pol)
		}
		seen := map[string]bool{}
		for i, s := range sc.Sysctls {
			f := fmt.Sprintf("spec.securityContext.sysctls[%d].name", i)
			name := SysctlName(s.Name)
			switch {
			case s.Name == "":
				v.fail(f, "required")
			case seen[name]:
				v.fail(f, "%s is set twice", name)
			case !safeSysctl(name):
				v.fail(f, "forbidden sysctl: %q is not one of the kubelet's safe sysctls (%s); a cluster runs it only on nodes started with --allowed-unsafe-sysctls, and podbox, which has no such node, refuses it", s.Name, strings.Join(SafeSysctls, ", "))
			}
			seen[name] = true
		}
	}
	for _, list := range []struct {
		field string
		cs    []corev1.Container
	}{{"spec.initContainers", p.Spec.InitContainers}, {"spec.containers", p.Spec.Containers}} {
		for i, c := range list.cs {
			sc := c.SecurityContext
			if sc == nil || sc.ProcMount == nil {
				continue
			}
			f := fmt.Sprintf("%s[%d].securityContext.procMount", list.field, i)
			switch *sc.ProcMount {
			case corev1.DefaultProcMount:
			case corev1.UnmaskedProcMount:
				if hostUsers {
					v.fail(f, "Unmasked needs spec.hostUsers: false (the API server's rule); podbox pods always have their own user namespace: remove hostUsers: true")
				}
			default:
				v.fail(f, "must be Default or Unmasked, got %q", *sc.ProcMount)
			}
		}
	}
}

func safeSysctl(name string) bool {
	for _, s := range SafeSysctls {
		if s == name {
			return true
		}
	}
	return false
}

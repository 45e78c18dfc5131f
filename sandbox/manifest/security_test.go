package manifest

import (
	"strings"
	"testing"
)

func TestSecurityErrors(t *testing.T) {
	c := "  containers: [{name: a, image: b}]\n"
	for _, tc := range []parseErrorCase{
		{"unsafe sysctl", podHead + "  securityContext:\n    sysctls:\n    - {name: net.ipv4.tcp_syncookies, value: \"1\"}\n    - {name: kernel.msgmax, value: \"65536\"}\n" + c,
			9, "spec.securityContext.sysctls[1].name", `forbidden sysctl: "kernel.msgmax" is not one of the kubelet's safe sysctls`},
		{"sysctl twice, slashes", podHead + "  securityContext:\n    sysctls:\n    - {name: net.ipv4.tcp_syncookies, value: \"1\"}\n    - {name: net/ipv4/tcp_syncookies, value: \"0\"}\n" + c,
			9, "spec.securityContext.sysctls[1].name", "net.ipv4.tcp_syncookies is set twice"},
		{"dnsPolicy None without nameservers", podHead + "  dnsPolicy: None\n  dnsConfig: {searches: [a.example]}\n" + c,
			7, "spec.dnsConfig.nameservers", "at least one nameserver"},
		{"dnsPolicy unknown", podHead + "  dnsPolicy: Cluster\n" + c, 6, "spec.dnsPolicy", "must be ClusterFirst"},
		{"four nameservers", podHead + "  dnsConfig: {nameservers: [1.1.1.1, 1.0.0.1, 8.8.8.8, 9.9.9.9]}\n" + c, 6, "spec.dnsConfig.nameservers", "more than 3"},
		{"hostname", podHead + "  hostname: Web_1\n" + c, 6, "spec.hostname", "invalid name"},
		{"subdomain", podHead + "  subdomain: a.b\n" + c, 6, "spec.subdomain", "invalid name"},
		{"FQDN too long", podHead + "  hostname: " + strings.Repeat("h", 40) + "\n  subdomain: sub\n  setHostnameAsFQDN: true\n" + c, 8, "spec.setHostnameAsFQDN", "too long (64 characters is the max"},
		{"Unmasked with hostUsers", podHead + "  hostUsers: true\n  containers:\n  - name: a\n    image: b\n    securityContext: {procMount: Unmasked}\n",
			10, "spec.containers[0].securityContext.procMount", "Unmasked needs spec.hostUsers: false"},
		{"fsGroupChangePolicy", podHead + "  securityContext: {fsGroupChangePolicy: Sometimes}\n" + c, 6, "spec.securityContext.fsGroupChangePolicy", "Always or OnRootMismatch"},
	} {
		checkParseError(t, tc)
	}
}

func TestSecurityWarnings(t *testing.T) {
	f, err := Parse("pod.yaml", []byte(podHead+"  hostUsers: true\n  hostname: h\n  subdomain: s\n  dnsPolicy: Default\n  securityContext: {fsGroup: 2000, fsGroupChangePolicy: OnRootMismatch, supplementalGroupsPolicy: Strict, sysctls: [{name: net.ipv4.ip_unprivileged_port_start, value: \"0\"}]}\n  containers: [{name: a, image: b, securityContext: {procMount: Default}}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Warnings) != 1 || !strings.HasPrefix(f.Warnings[0], "pod.yaml:6: spec.hostUsers: true is not possible rootless") {
		t.Errorf("warnings %q, want only hostUsers", f.Warnings)
	}
}

func TestSysctlName(t *testing.T) {
	for in, want := range map[string]string{
		"net.ipv4.tcp_syncookies":   "net.ipv4.tcp_syncookies",
		"net/ipv4/tcp_syncookies":   "net.ipv4.tcp_syncookies",
		"net/ipv4/conf/eth0.100/rp": "net.ipv4.conf.eth0/100.rp",
	} {
		if got := SysctlName(in); got != want {
			t.Errorf("SysctlName(%q) = %q, want %q", in, got, want)
		}
	}
}

package mounts

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
)

// The resolver's limits the kubelet keeps to (validation.MaxDNSNameservers,
// MaxDNSSearchPaths, MaxDNSSearchListChars).
const (
	maxNameservers = 3
	maxSearches    = 32
	maxSearchChars = 2048
)

// dnsConfig is what resolv.conf says.
type dnsConfig struct {
	servers, searches, options []string
}

var clusterFirstOnce sync.Once

// resolvConf is the pod's /etc/resolv.conf as the kubelet computes it
// (pkg/kubelet/network/dns) and containerd writes it (search, nameserver,
// options):
//
//   - Default: the host's resolver, whose nameservers are slirp4netns's
//     forwarder DNSServer (the pod cannot reach the host's loopback
//     resolvers; slirp4netns asks them), with the host's search list and
//     options.
//   - ClusterFirst (the default) and ClusterFirstWithHostNet: there is no
//     cluster DNS here, so as the kubelet without --cluster-dns does, the
//     pod gets Default; said once, at info level (the kubelet's
//     MissingClusterDNS event).
//   - None: dnsConfig alone.
//
// dnsConfig is then merged as the kubelet's appendDNSConfig: nameservers
// and searches appended without duplicates, options by name (the pod's
// value wins, in the order first seen); then cut to the resolver's limits
// (3 nameservers, 32 search domains of 2048 characters in all).
func resolvConf(pod *corev1.Pod) string {
	var cfg dnsConfig
	switch pod.Spec.DNSPolicy {
	case corev1.DNSNone:
	case corev1.DNSDefault:
		cfg = hostDNS()
	default:
		clusterFirstOnce.Do(func() {
			logrus.Infof("dnsPolicy %s: there is no cluster DNS here; pods get dnsPolicy Default (the host's resolver, through slirp4netns), as a kubelet without --cluster-dns does", orDefault(string(pod.Spec.DNSPolicy), string(corev1.DNSClusterFirst)))
		})
		cfg = hostDNS()
	}
	if d := pod.Spec.DNSConfig; d != nil {
		cfg.servers = appendNew(cfg.servers, d.Nameservers...)
		cfg.searches = appendNew(cfg.searches, d.Searches...)
		cfg.options = mergeOptions(cfg.options, d.Options)
	}
	if len(cfg.servers) > maxNameservers {
		cfg.servers = cfg.servers[:maxNameservers]
	}
	cfg.searches = fitSearches(cfg.searches)
	var b strings.Builder
	if len(cfg.searches) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(cfg.searches, " "))
	}
	for _, s := range cfg.servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(cfg.options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(cfg.options, " "))
	}
	return b.String()
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// hostDNS reads the host's search list and options; its nameserver is
// slirp4netns's forwarder.
func hostDNS() dnsConfig {
	cfg := dnsConfig{servers: []string{DNSServer}}
	f, err := os.Open(hostResolvConf)
	if err != nil {
		return cfg
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") || strings.HasPrefix(fields[0], ";") {
			continue
		}
		switch fields[0] {
		case "search", "domain":
			// The last one wins, as in the resolver; "." and trailing
			// dots go, as the kubelet's parseResolvConf drops them.
			cfg.searches = nil
			for _, d := range fields[1:] {
				if d != "." {
					cfg.searches = appendNew(cfg.searches, strings.TrimSuffix(d, "."))
				}
			}
		case "options":
			cfg.options = appendNew(cfg.options, fields[1:]...)
		}
	}
	return cfg
}

func appendNew(list []string, more ...string) []string {
	for _, s := range more {
		if !contains(list, s) {
			list = append(list, s)
		}
	}
	return list
}

// mergeOptions is the kubelet's mergeDNSOptions, in a stable order.
func mergeOptions(existing []string, pod []corev1.PodDNSConfigOption) []string {
	var names []string
	values := map[string]string{}
	set := func(name, value string) {
		if _, ok := values[name]; !ok {
			names = append(names, name)
		}
		values[name] = value
	}
	for _, o := range existing {
		name, value, _ := strings.Cut(o, ":")
		set(name, value)
	}
	for _, o := range pod {
		value := ""
		if o.Value != nil {
			value = *o.Value
		}
		set(o.Name, value)
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if v := values[n]; v != "" {
			out = append(out, n+":"+v)
		} else {
			out = append(out, n)
		}
	}
	return out
}

// fitSearches keeps the search domains that fit the resolver's limits, as
// the kubelet's formDNSSearchFitsLimits.
func fitSearches(s []string) []string {
	if len(s) > maxSearches {
		s = s[:maxSearches]
	}
	for len(s) > 0 && len(strings.Join(s, " ")) > maxSearchChars {
		s = s[:len(s)-1]
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

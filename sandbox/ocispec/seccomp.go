package ocispec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	seccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
)

// ErrSeccompProfile reports a securityContext.seccompProfile that cannot be
// applied; the error names the field and, for Localhost, the file.
var ErrSeccompProfile = errors.New("invalid seccomp profile")

// SeccompDir returns where Localhost seccomp profiles are looked up:
// $XDG_CONFIG_HOME/podbox/seccomp (default ~/.config/podbox/seccomp), as
// the kubelet looks in <root-dir>/seccomp.
func SeccompDir() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding the seccomp profile directory: %w", err)
	}
	return filepath.Join(d, "podbox", "seccomp"), nil
}

// seccompFor returns the seccomp filter of a container whose spec s has its
// capabilities already: the container's securityContext.seccompProfile,
// else the pod's, else RuntimeDefault. nil means Unconfined.
func seccompFor(s *specs.Spec, pod *corev1.Pod, c *corev1.Container) (*specs.LinuxSeccomp, error) {
	field := "securityContext.seccompProfile"
	var prof *corev1.SeccompProfile
	if c != nil && c.SecurityContext != nil {
		prof = c.SecurityContext.SeccompProfile
	}
	if prof == nil && pod != nil && pod.Spec.SecurityContext != nil && pod.Spec.SecurityContext.SeccompProfile != nil {
		prof, field = pod.Spec.SecurityContext.SeccompProfile, "spec.securityContext.seccompProfile"
	}
	if prof == nil {
		prof = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
	}
	if prof.Type != corev1.SeccompProfileTypeLocalhost && prof.LocalhostProfile != nil {
		return nil, fmt.Errorf("%w: %s.localhostProfile: may only be set when type is Localhost", ErrSeccompProfile, field)
	}
	switch prof.Type {
	case corev1.SeccompProfileTypeUnconfined:
		return nil, nil
	case corev1.SeccompProfileTypeRuntimeDefault:
		sc, err := seccomp.GetDefaultProfile(s)
		if err != nil {
			return nil, fmt.Errorf("building the default seccomp profile: %w", err)
		}
		return sc, nil
	case corev1.SeccompProfileTypeLocalhost:
		return localhostProfile(s, prof.LocalhostProfile, field+".localhostProfile")
	}
	return nil, fmt.Errorf("%w: %s.type: %q is not Unconfined, RuntimeDefault or Localhost", ErrSeccompProfile, field, prof.Type)
}

// localhostProfile reads a Localhost profile: a path below SeccompDir,
// relative and without "..", as the API server's validation wants it.
func localhostProfile(s *specs.Spec, name *string, field string) (*specs.LinuxSeccomp, error) {
	if name == nil || *name == "" {
		return nil, fmt.Errorf("%w: %s: required when type is Localhost", ErrSeccompProfile, field)
	}
	if filepath.IsAbs(*name) || containsDotDot(*name) {
		return nil, fmt.Errorf("%w: %s: %q must be a relative path without '..'", ErrSeccompProfile, field, *name)
	}
	dir, err := SeccompDir()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, *name)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: reading the profile: %w", ErrSeccompProfile, field, err)
	}
	sc, err := seccomp.LoadProfile(string(data), s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %s: %w", ErrSeccompProfile, field, path, err)
	}
	return sc, nil
}

func containsDotDot(p string) bool {
	for _, e := range strings.Split(filepath.ToSlash(p), "/") {
		if e == ".." {
			return true
		}
	}
	return false
}

// notifyAccept returns sc with accept(2) and accept4(2) sent to the agent
// listening on listener (SCMP_ACT_NOTIFY, linux.seccomp.listenerPath): the
// hostPort bypass (slirp/relay). Only where the profile allows them
// unconditionally; a profile that denies them, or allows them only under
// conditions, is left as it is (that container's clients are copied).
// nil (Unconfined) becomes an allow-all filter with just these.
func notifyAccept(sc *specs.LinuxSeccomp, listener string, names []string) *specs.LinuxSeccomp {
	notify := specs.LinuxSyscall{Names: names, Action: specs.ActNotify}
	if sc == nil {
		return &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: listener, Syscalls: []specs.LinuxSyscall{notify}}
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	allowed := sc.DefaultAction == specs.ActAllow
	for _, r := range sc.Syscalls {
		for _, n := range r.Names {
			if !want[n] {
				continue
			}
			if r.Action != specs.ActAllow || len(r.Args) > 0 {
				return sc
			}
			allowed = true
		}
	}
	if !allowed {
		return sc
	}
	out := *sc
	out.ListenerPath = listener
	out.Syscalls = nil
	for _, r := range sc.Syscalls {
		var keep []string
		for _, n := range r.Names {
			if !want[n] {
				keep = append(keep, n)
			}
		}
		if len(keep) == 0 {
			continue
		}
		r.Names = keep
		out.Syscalls = append(out.Syscalls, r)
	}
	out.Syscalls = append(out.Syscalls, notify)
	return &out
}

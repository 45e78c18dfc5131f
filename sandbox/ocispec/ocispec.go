// Package ocispec builds the OCI runtime spec (config.json) of one container
// of a pod, for runc or crun running inside the pod's user namespace as its
// uid 0.
//
// Decisions:
//
//   - Namespaces: the container gets its own mount and PID namespaces only.
//     With shareProcessNamespace it gets no PID namespace: it stays in the
//     pod's, whose PID 1 is podbox's pod process (as the pause container is
//     on a cluster), so the containers see each other's processes, and a
//     container's first process is not an init (the stop signal reaches it
//     without a handler, sandbox/pod/stopsignal.go).
//     Network, IPC, UTS and user are left out of the list, so the runtime
//     keeps the ones it runs in: the pod's. That is why the spec has no
//     uid/gid mappings (the pod's user namespace already maps the user's
//     subordinate ids) and an empty Hostname (runc refuses a hostname
//     without a UTS namespace of its own; the pod's UTS namespace already
//     carries the pod's name).
//   - What the runtime does for safety stays on, as `runc spec` sets it:
//     masked and read-only /proc paths, read-only /sys (a fresh sysfs: the
//     pod owns its network namespace), and a seccomp profile (seccomp.go).
//   - no_new_privs as the kubelet sets it (AddNoNewPrivileges): only when
//     securityContext.allowPrivilegeEscalation is false. Unset leaves it
//     off, as on a cluster, so a setuid binary in the image (su, ping) works
//     as there; it can only ever reach the container's root, which is the
//     user's own uid on the host.
//   - procMount: Default keeps the masked and read-only /proc paths;
//     Unmasked drops both lists, as the CRI does. The API server allows
//     Unmasked only with hostUsers: false; a podbox pod is always in a user
//     namespace of its own (hostUsers: false in effect), so Unmasked is
//     honoured unless the manifest says hostUsers: true (refused at load).
//   - Capabilities: the default set of containerd and Docker, which is what
//     a Kubernetes container gets, adjusted by securityContext.capabilities
//     (add/drop, names with or without CAP_, "ALL"). Inheritable and ambient
//     stay empty (CVE-2022-24769), so a non-root process has none after
//     execve, as on a cluster. The capabilities are real in the pod's user
//     namespace; those the kernel checks only in the host's (SYS_TIME,
//     SYS_MODULE, MKNOD for devices … rootless.go) are still given but
//     have no effect, and `up` says so once per container that adds one.
//   - /dev is left to the runtime: a tmpfs where runc creates null, zero,
//     full, random, urandom and tty itself (binding /dev/tty here breaks
//     it), plus devpts, shm and mqueue. No device list, no cgroupsPath and no
//     resources: without cgroup v2 delegation a rootless runtime can apply no
//     limits, and runc runs fine without them.
//   - devpts asks for gid 5 (tty) only when that gid is mapped in the user
//     namespace: with a single-id mapping the mount would fail.
//   - Seccomp (seccomp.go): by default every container gets RuntimeDefault,
//     as Podman and Docker give theirs one (the kubelet's default is
//     Unconfined unless --seccomp-default; a developer's box errs on the
//     safe side). RuntimeDefault is the profile of Docker and containerd
//     (github.com/moby/profiles/seccomp, pure Go, the same profile family
//     as containers/common's): deny by default with EPERM; the syscalls
//     that need a capability (unshare, clone with namespace flags, setns,
//     mount, bpf, ptrace of others…) are allowed only to a container whose
//     bounding set has it, so a container cannot make nested user
//     namespaces (`unshare -U -r`) unless it was given CAP_SYS_ADMIN.
//     Podman's own profile (go.podman.io/common/pkg/seccomp) is not used:
//     the module is not served to this project, its converter to the OCI
//     spec builds only with cgo, libseccomp and the `seccomp` tag, and its
//     profile allows unshare and clone of user namespaces to every
//     container (for nested Podman), which is what this default is meant to
//     refuse. containerd's profile is also what RuntimeDefault means on
//     nearly every cluster, so a pod that runs here runs there.
//     securityContext.seccompProfile (the container's, else the pod's)
//     overrides it: Unconfined (no filter), RuntimeDefault, or Localhost
//     with localhostProfile, a path relative to
//     $XDG_CONFIG_HOME/podbox/seccomp (default ~/.config/podbox/seccomp),
//     the user's counterpart of the kubelet's <root-dir>/seccomp; absolute
//     paths and ".." are refused, as the API server does. A Localhost
//     profile is Docker's JSON format (or the OCI spec's linux.seccomp),
//     read with the same loader, conditions on capabilities and
//     architectures included. runc's ToRootless leaves seccomp alone, and
//     runc 1.1 and crun 1.8 apply these filters in a rootless user
//     namespace (the runtime probe runs with RuntimeDefault).
//   - The hostPort bypass (Options.SeccompListener, slirp/relay) adds one
//     rule, accept and accept4 → SCMP_ACT_NOTIFY, with the pod's agent
//     socket as linux.seccomp.listenerPath (runc ≥ 1.1, crun), taking the
//     two names out of the profile's allow rule; a profile that denies
//     them or allows them only on conditions is left alone.
package ocispec

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
)

// Options describe one container to run.
type Options struct {
	Args           []string // required
	Env            []string
	Cwd            string // "": /
	UID, GID       uint32
	AdditionalGids []uint32
	Rootfs         string        // required: the mounted rootfs, absolute
	Mounts         []specs.Mount // from mounts.ForContainer
	Terminal       bool
	Container      *corev1.Container // nil: no securityContext
	Pod            *corev1.Pod       // nil: no annotations
	// SeccompListener, when set, is the socket of the pod's seccomp agent
	// (slirp/relay's bypass): the filter sends accept and accept4 to it.
	SeccompListener string
	// SeccompNotify are the syscalls sent there (relay.SeccompAcceptSyscalls).
	SeccompNotify []string
}

// Version is the spec version written: 1.0.2, the newest that crun 1.8 and
// runc 1.1 accept ("unknown version specified" otherwise); the fields used
// here all exist in it.
const Version = "1.0.2"

// DefaultCapabilities is the set a Kubernetes container gets from
// containerd (and Docker) when its securityContext does not change it.
var DefaultCapabilities = []string{
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_FSETID",
	"CAP_FOWNER",
	"CAP_MKNOD",
	"CAP_NET_RAW",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETFCAP",
	"CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT",
	"CAP_KILL",
	"CAP_AUDIT_WRITE",
}

// allCapabilities are the capabilities "ALL" adds (Linux 6.x).
var allCapabilities = []string{
	"CAP_AUDIT_CONTROL", "CAP_AUDIT_READ", "CAP_AUDIT_WRITE", "CAP_BLOCK_SUSPEND", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_KILL", "CAP_LEASE", "CAP_LINUX_IMMUTABLE",
	"CAP_MAC_ADMIN", "CAP_MAC_OVERRIDE", "CAP_MKNOD", "CAP_NET_ADMIN", "CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST", "CAP_NET_RAW", "CAP_PERFMON", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP",
	"CAP_SETUID", "CAP_SYSLOG", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_CHROOT", "CAP_SYS_MODULE",
	"CAP_SYS_NICE", "CAP_SYS_PACCT", "CAP_SYS_PTRACE", "CAP_SYS_RAWIO", "CAP_SYS_RESOURCE",
	"CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_WAKE_ALARM",
}

// MaskedPaths are hidden from the container: runc spec's list plus Podman's
// additions.
var MaskedPaths = []string{
	"/proc/acpi",
	"/proc/asound",
	"/proc/interrupts",
	"/proc/kcore",
	"/proc/keys",
	"/proc/latency_stats",
	"/proc/sched_debug",
	"/proc/scsi",
	"/proc/timer_list",
	"/proc/timer_stats",
	"/sys/dev/block",
	"/sys/firmware",
	"/sys/fs/selinux",
}

// ReadonlyPaths are mounted read-only in the container, as runc spec does.
var ReadonlyPaths = []string{
	"/proc/bus",
	"/proc/fs",
	"/proc/irq",
	"/proc/sys",
	"/proc/sysrq-trigger",
}

// gidMapped reports whether gid is mapped in this process's user namespace;
// a variable for tests.
var gidMapped = func(gid uint32) bool {
	f, err := os.Open("/proc/self/gid_map")
	if err != nil {
		return true
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var inside, outside, count uint64
		if _, err := fmt.Sscan(sc.Text(), &inside, &outside, &count); err == nil &&
			uint64(gid) >= inside && uint64(gid) < inside+count {
			return true
		}
	}
	return false
}

// namespaces lists the namespaces a container gets of its own: a mount
// namespace always, a PID namespace unless the pod shares its own.
func namespaces(pod *corev1.Pod) []specs.LinuxNamespace {
	if pod != nil && pod.Spec.ShareProcessNamespace != nil && *pod.Spec.ShareProcessNamespace {
		return []specs.LinuxNamespace{{Type: specs.MountNamespace}}
	}
	return []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}}
}

// Generate builds the runtime spec of one container.
func Generate(o Options) (*specs.Spec, error) {
	if len(o.Args) == 0 {
		return nil, errors.New("generating runtime spec: no command to run")
	}
	if !filepath.IsAbs(o.Rootfs) {
		return nil, fmt.Errorf("generating runtime spec: rootfs %q is not an absolute path", o.Rootfs)
	}
	cwd := o.Cwd
	if cwd == "" {
		cwd = "/"
	}
	var sc *corev1.SecurityContext
	if o.Container != nil {
		sc = o.Container.SecurityContext
	}
	caps, err := capabilities(sc)
	if err != nil {
		return nil, err
	}
	// The kubelet's AddNoNewPrivileges: only an explicit false sets it.
	noNewPrivs := sc != nil && sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation
	masked, readonlyPaths := MaskedPaths, ReadonlyPaths
	if sc != nil && sc.ProcMount != nil && *sc.ProcMount == corev1.UnmaskedProcMount {
		masked, readonlyPaths = nil, nil
	}
	readonly := sc != nil && sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem

	s := &specs.Spec{
		Version: Version,
		Process: &specs.Process{
			Terminal: o.Terminal,
			User: specs.User{
				UID:            o.UID,
				GID:            o.GID,
				AdditionalGids: o.AdditionalGids,
			},
			Args: o.Args,
			Env:  o.Env,
			Cwd:  cwd,
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  caps,
				Effective: caps,
				Permitted: caps,
			},
			NoNewPrivileges: noNewPrivs,
		},
		Root:        &specs.Root{Path: o.Rootfs, Readonly: readonly},
		Mounts:      append(defaultMounts(), o.Mounts...),
		Annotations: annotations(o.Pod, o.Container),
		Linux: &specs.Linux{
			Namespaces:    namespaces(o.Pod),
			MaskedPaths:   masked,
			ReadonlyPaths: readonlyPaths,
		},
	}
	// After the capabilities: the default profile allows some syscalls
	// only to a container that has the capability they need.
	if s.Linux.Seccomp, err = seccompFor(s, o.Pod, o.Container); err != nil {
		return nil, err
	}
	if o.SeccompListener != "" && len(o.SeccompNotify) > 0 {
		s.Linux.Seccomp = notifyAccept(s.Linux.Seccomp, o.SeccompListener, o.SeccompNotify)
	}
	for _, m := range o.Mounts {
		for _, opt := range m.Options {
			if opt == "rshared" || opt == "shared" {
				// A Bidirectional volume propagates only below a shared root.
				s.Linux.RootfsPropagation = "rshared"
			}
		}
	}
	return s, nil
}

func defaultMounts() []specs.Mount {
	pts := []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}
	if gidMapped(5) {
		pts = append(pts, "gid=5")
	}
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: pts},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
	}
}

// capabilities applies securityContext.capabilities to the default set.
func capabilities(sc *corev1.SecurityContext) ([]string, error) {
	set := map[string]bool{}
	for _, c := range DefaultCapabilities {
		set[c] = true
	}
	if sc != nil && sc.Capabilities != nil {
		for _, c := range sc.Capabilities.Drop {
			name := capName(string(c))
			if name == "CAP_ALL" {
				clear(set)
				continue
			}
			delete(set, name)
		}
		for _, c := range sc.Capabilities.Add {
			name := capName(string(c))
			if name == "CAP_ALL" {
				for _, a := range allCapabilities {
					set[a] = true
				}
				continue
			}
			if !known(name) {
				return nil, fmt.Errorf("securityContext.capabilities.add: unknown capability %q", c)
			}
			set[name] = true
		}
	}
	caps := make([]string, 0, len(set))
	for c := range set {
		caps = append(caps, c)
	}
	sort.Strings(caps)
	return caps, nil
}

func capName(c string) string {
	c = strings.ToUpper(c)
	if !strings.HasPrefix(c, "CAP_") {
		c = "CAP_" + c
	}
	return c
}

func known(c string) bool {
	for _, a := range allCapabilities {
		if a == c {
			return true
		}
	}
	return false
}

func annotations(pod *corev1.Pod, c *corev1.Container) map[string]string {
	a := map[string]string{}
	if pod != nil {
		a["io.kubernetes.pod.name"] = pod.Name
		a["io.kubernetes.pod.namespace"] = pod.Namespace
	}
	if c != nil {
		a["io.kubernetes.container.name"] = c.Name
	}
	if len(a) == 0 {
		return nil
	}
	return a
}

// WriteBundle writes spec as dir/config.json, creating dir.
func WriteBundle(dir string, spec *specs.Spec) error {
	data, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("encoding runtime spec: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("writing runtime bundle: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600); err != nil {
		return fmt.Errorf("writing runtime bundle: %w", err)
	}
	return nil
}

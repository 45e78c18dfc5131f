// Package ocispec builds the OCI runtime spec (config.json) of one container
// of a pod, for runc or crun running inside the pod's user namespace as its
// uid 0.
//
// Decisions:
//
//   - Namespaces: the container gets its own mount and PID namespaces only.
//     Network, IPC, UTS and user are left out of the list, so the runtime
//     keeps the ones it runs in: the pod's. That is why the spec has no
//     uid/gid mappings (the pod's user namespace already maps the user's
//     subordinate ids) and an empty Hostname (runc refuses a hostname
//     without a UTS namespace of its own; the pod's UTS namespace already
//     carries the pod's name).
//   - What the runtime does for safety stays on, as `runc spec` sets it:
//     masked and read-only /proc paths, read-only /sys (a fresh sysfs: the
//     pod owns its network namespace), no_new_privs unless the container's
//     securityContext.allowPrivilegeEscalation is true, and a seccomp
//     profile that allows everything but a deny list of syscalls that
//     change the kernel or the host (module loading, kexec, bpf, keyrings,
//     clocks, swap, reboot…), which fail with EPERM.
//   - Capabilities: the default set of containerd and Docker, which is what
//     a Kubernetes container gets, adjusted by securityContext.capabilities
//     (add/drop, names with or without CAP_, "ALL"). Inheritable and ambient
//     stay empty (CVE-2022-24769), so a non-root process has none after
//     execve, as on a cluster.
//   - /dev is left to the runtime: a tmpfs where runc creates null, zero,
//     full, random, urandom and tty itself (binding /dev/tty here breaks
//     it), plus devpts, shm and mqueue. No device list, no cgroupsPath and no
//     resources: without cgroup v2 delegation a rootless runtime can apply no
//     limits, and runc runs fine without them.
//   - devpts asks for gid 5 (tty) only when that gid is mapped in the user
//     namespace: with a single-id mapping the mount would fail.
package ocispec

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
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

// DeniedSyscalls fail with EPERM in every container: they change the
// kernel, the clock or the machine, which no pod of a developer needs.
// ptrace stays allowed (debuggers; the kernel confines it to the pod's
// user namespace).
var DeniedSyscalls = []string{
	"acct",
	"add_key",
	"bpf",
	"clock_adjtime",
	"clock_settime",
	"create_module",
	"delete_module",
	"finit_module",
	"get_kernel_syms",
	"init_module",
	"ioperm",
	"iopl",
	"kexec_file_load",
	"kexec_load",
	"keyctl",
	"lookup_dcookie",
	"nfsservctl",
	"open_by_handle_at",
	"perf_event_open",
	"query_module",
	"quotactl",
	"reboot",
	"request_key",
	"settimeofday",
	"stime",
	"swapoff",
	"swapon",
	"syslog",
	"uselib",
	"userfaultfd",
	"vhangup",
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
	noNewPrivs := true
	if sc != nil && sc.AllowPrivilegeEscalation != nil && *sc.AllowPrivilegeEscalation {
		noNewPrivs = false
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
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace},
				{Type: specs.MountNamespace},
			},
			MaskedPaths:   MaskedPaths,
			ReadonlyPaths: ReadonlyPaths,
			Seccomp:       seccomp(),
		},
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

func seccomp() *specs.LinuxSeccomp {
	eperm := uint(1)
	var arches []specs.Arch
	switch runtime.GOARCH {
	case "amd64", "386":
		arches = []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}
	case "arm64", "arm":
		arches = []specs.Arch{specs.ArchAARCH64, specs.ArchARM}
	}
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: arches,
		Syscalls: []specs.LinuxSyscall{{
			Names:    DeniedSyscalls,
			Action:   specs.ActErrno,
			ErrnoRet: &eperm,
		}},
	}
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

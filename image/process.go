package image

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/sys/user"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/podbox/podbox/sandbox/downward"
	"github.com/podbox/podbox/sandbox/manifest"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Process is what a container runs, from its image config and its
// Kubernetes spec.
type Process struct {
	Args           []string // argv; never empty
	Env            []string // KEY=value
	Cwd            string   // absolute
	UID, GID       uint32
	AdditionalGids []uint32
}

// DefaultPath is the PATH a container gets when neither its image nor its
// spec sets one (containerd's and Podman's default).
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ErrNoCommand reports a container with nothing to run.
var ErrNoCommand = errors.New("no command: the image has no ENTRYPOINT or CMD and the container no command or args")

// ProcessFor applies Kubernetes' rules to build what container c of pod
// runs, from cfg (the image's OCI config) and rootfs (the container's root
// file system, for /etc/passwd and /etc/group; "": numeric users only):
//
//   - command and args versus ENTRYPOINT and CMD, the four cases of
//     https://kubernetes.io/docs/tasks/inject-data-application/define-command-argument-container/#notes:
//     neither: ENTRYPOINT+CMD; command: command+args (image ignored);
//     args only: ENTRYPOINT+args.
//   - env: the image's ENV, then the container's env over it (container
//     wins, replacing in place). The container's env is the kubelet's
//     (containerEnv): envFrom, env with valueFrom (configMap and secret
//     keys from src.Objects, fieldRef and resourceFieldRef by package
//     downward, with pod's status for the IPs), and ServiceEnv. Values of
//     env expand $(VAR) over the container's earlier env entries and the
//     service variables, and command and args over the whole container
//     env, as the kubelet does (the image's ENV is not visible to $(VAR):
//     the kubelet never sees it). $$ escapes; an unknown $(VAR) stays as
//     written.
//   - workingDir over WORKDIR, "/" by default.
//   - USER (name, uid, and :group or :gid) under runAsUser and runAsGroup
//     (the container's securityContext over the pod's), resolved against
//     the rootfs's /etc/passwd and /etc/group. The supplementary groups
//     are containerd's (groups.go): the primary group, the image's
//     /etc/group groups of the user (supplementalGroupsPolicy Merge, the
//     default; not with Strict), the pod's supplementalGroups and fsGroup,
//     so that `id` prints groups=2000,3000 for the docs' runAsGroup 3000 and
//     fsGroup 2000.
//     runAsNonRoot is checked as the kubelet checks it, with its words
//     (ErrRunAsRoot, the reason CreateContainerConfigError): `up` stops
//     there, before the pod starts, where the kubelet would leave the
//     container waiting.
func ProcessFor(cfg *imgspecv1.Image, pod *corev1.Pod, c *corev1.Container, rootfs string, src EnvSources) (Process, error) {
	var ic imgspecv1.ImageConfig
	if cfg != nil {
		ic = cfg.Config
	}
	if pod == nil {
		pod = &corev1.Pod{}
	}
	var p Process

	// Environment.
	cenv, err := containerEnv(pod, c, src)
	if err != nil {
		return p, err
	}
	p.Env = mergeEnv(ic.Env, cenv)
	if envValue(p.Env, "PATH") == "" {
		p.Env = append(p.Env, "PATH="+DefaultPath)
	}
	if envValue(p.Env, "HOSTNAME") == "" {
		host := pod.Spec.Hostname
		if host == "" {
			host = pod.Name
		}
		if host != "" {
			p.Env = append(p.Env, "HOSTNAME="+host)
		}
	}

	// Command line.
	mapping := mappingFor(cenv)
	command := expandAll(c.Command, mapping)
	args := expandAll(c.Args, mapping)
	switch {
	case len(c.Command) > 0:
		p.Args = append(command, args...)
	case len(c.Args) > 0:
		p.Args = append(append([]string{}, ic.Entrypoint...), args...)
	default:
		p.Args = append(append([]string{}, ic.Entrypoint...), ic.Cmd...)
	}
	if len(p.Args) == 0 {
		return p, fmt.Errorf("container %q: %w", c.Name, ErrNoCommand)
	}

	// Working directory.
	p.Cwd = c.WorkingDir
	if p.Cwd == "" {
		p.Cwd = ic.WorkingDir
	}
	if p.Cwd == "" {
		p.Cwd = "/"
	}
	if !filepath.IsAbs(p.Cwd) {
		return p, fmt.Errorf("container %q: workingDir %q must be an absolute path", c.Name, p.Cwd)
	}

	// User and groups.
	u, err := resolveUser(ic.User, pod, c, rootfs)
	if err != nil {
		return p, fmt.Errorf("container %q: %w", c.Name, err)
	}
	p.UID, p.GID = uint32(u.Uid), uint32(u.Gid)
	p.AdditionalGids, err = groupsFor(u, pod, ic.User, c, rootfs)
	if err != nil {
		return p, fmt.Errorf("container %q: %w", c.Name, err)
	}
	if u.Home != "" && envValue(p.Env, "HOME") == "" {
		p.Env = append(p.Env, "HOME="+u.Home)
	}
	return p, nil
}

// ErrRunAsRoot is a container with runAsNonRoot that would run as root, or
// whose user cannot be checked; the message after it is the kubelet's.
var ErrRunAsRoot = errors.New("CreateContainerConfigError")

// resolveUser applies runAsUser and runAsGroup to the image's USER and
// looks the result up in the rootfs, as containerd's CRI plugin does.
func resolveUser(imageUser string, pod *corev1.Pod, c *corev1.Container, rootfs string) (*user.ExecUser, error) {
	var runAsUser, runAsGroup *int64
	var nonRoot *bool
	if psc := pod.Spec.SecurityContext; psc != nil {
		runAsUser, runAsGroup, nonRoot = psc.RunAsUser, psc.RunAsGroup, psc.RunAsNonRoot
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			runAsUser = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			runAsGroup = sc.RunAsGroup
		}
		if sc.RunAsNonRoot != nil {
			nonRoot = sc.RunAsNonRoot
		}
	}
	spec := imageUser
	if runAsUser != nil {
		spec = strconv.FormatInt(*runAsUser, 10)
	}
	if runAsGroup != nil {
		name, _, _ := strings.Cut(spec, ":")
		if name == "" {
			name = "0"
		}
		spec = name + ":" + strconv.FormatInt(*runAsGroup, 10)
	}
	if nonRoot != nil && *nonRoot && runAsUser != nil && *runAsUser == 0 {
		return nil, fmt.Errorf("%w: container's runAsUser breaks non-root policy", ErrRunAsRoot)
	}
	if nonRoot != nil && *nonRoot && runAsUser == nil {
		name, _, _ := strings.Cut(spec, ":")
		if _, err := strconv.Atoi(name); name != "" && err != nil {
			return nil, fmt.Errorf("%w: container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root", ErrRunAsRoot, name)
		}
	}
	passwd, closeP, err := openInRoot(rootfs, "etc/passwd")
	if err != nil {
		return nil, err
	}
	defer closeP()
	group, closeG, err := openInRoot(rootfs, "etc/group")
	if err != nil {
		return nil, err
	}
	defer closeG()
	u, err := user.GetExecUser(spec, &user.ExecUser{Home: "/"}, passwd, group)
	if err != nil {
		return nil, fmt.Errorf("resolving user %q in the image: %w", spec, err)
	}
	if nonRoot != nil && *nonRoot && u.Uid == 0 {
		return nil, fmt.Errorf("%w: container has runAsNonRoot and image will run as root", ErrRunAsRoot)
	}
	return u, nil
}

// openInRoot opens name inside rootfs, resolving symlinks as if rootfs were
// / (openat2 RESOLVE_IN_ROOT), so that an image's /etc/passwd cannot point
// at the host's. A missing file is a nil reader.
func openInRoot(rootfs, name string) (io.Reader, func(), error) {
	nop := func() {}
	if rootfs == "" {
		return nil, nop, nil
	}
	root, err := os.Open(rootfs)
	if err != nil {
		return nil, nop, fmt.Errorf("opening rootfs: %w", err)
	}
	defer root.Close()
	fd, err := unix.Openat2(int(root.Fd()), name, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.ENOENT) {
		return nil, nop, nil
	}
	if err != nil {
		return nil, nop, fmt.Errorf("opening /%s in the rootfs: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), filepath.Join(rootfs, name))
	return f, func() { f.Close() }, nil
}

// EnvSources are what a container's env takes from outside its pod spec.
// The zero value has no ConfigMaps or Secrets and an empty node.
type EnvSources struct {
	Objects Objects       // nil: none (the manifest's validation has checked the references)
	Node    downward.Node // the node's allocatable, for resourceFieldRef limits left unset
}

// Objects are the ConfigMaps and Secrets of the pod's files
// (*manifest.File).
type Objects interface {
	ConfigMap(ns, name string) *corev1.ConfigMap
	Secret(ns, name string) *corev1.Secret
}

// ServiceEnv is what the kubelet gives every container for the cluster's
// API server (the `kubernetes` Service in namespace default, port 443,
// whatever the pod's enableServiceLinks): KUBERNETES_SERVICE_HOST and the
// Docker-link style variables. There is no API server here; the values are
// those of a kubeadm or kind cluster (ServiceHost, the default service
// ClusterIP), so that a program that prints or checks them (the docs'
// commands.yaml runs `printenv HOSTNAME KUBERNETES_PORT`) runs as it does
// on a cluster; nothing answers at that address.
var ServiceEnv = []corev1.EnvVar{
	{Name: "KUBERNETES_SERVICE_HOST", Value: ServiceHost},
	{Name: "KUBERNETES_SERVICE_PORT", Value: "443"},
	{Name: "KUBERNETES_SERVICE_PORT_HTTPS", Value: "443"},
	{Name: "KUBERNETES_PORT", Value: "tcp://" + ServiceHost + ":443"},
	{Name: "KUBERNETES_PORT_443_TCP", Value: "tcp://" + ServiceHost + ":443"},
	{Name: "KUBERNETES_PORT_443_TCP_PROTO", Value: "tcp"},
	{Name: "KUBERNETES_PORT_443_TCP_PORT", Value: "443"},
	{Name: "KUBERNETES_PORT_443_TCP_ADDR", Value: ServiceHost},
}

// ServiceHost is the address ServiceEnv gives the API server.
const ServiceHost = "10.96.0.1"

// containerEnv is the environment the kubelet's makeEnvironmentVariables
// computes for c: envFrom in order (ConfigMap data, Secret data; prefix;
// names that are not valid env names skipped), then env over it, each
// value expanding $(VAR) over what came before and the service variables
// (values from references are not expanded), then the service variables
// the container does not set itself. An optional reference to what is
// missing sets nothing.
func containerEnv(pod *corev1.Pod, c *corev1.Container, src EnvSources) ([]corev1.EnvVar, error) {
	var out []corev1.EnvVar
	idx := map[string]int{}
	set := func(name, value string) {
		if i, ok := idx[name]; ok {
			out[i].Value = value
			return
		}
		idx[name] = len(out)
		out = append(out, corev1.EnvVar{Name: name, Value: value})
	}
	service := map[string]string{}
	for _, e := range ServiceEnv {
		service[e.Name] = e.Value
	}
	for _, ef := range c.EnvFrom {
		data := map[string]string{}
		switch {
		case ef.ConfigMapRef != nil:
			cm := configMap(src, pod, ef.ConfigMapRef.Name)
			if cm == nil {
				continue // optional, or the manifest's validation would have said
			}
			data = cm.Data
		case ef.SecretRef != nil:
			s := secret(src, pod, ef.SecretRef.Name)
			if s == nil {
				continue
			}
			for k, v := range manifest.SecretData(s) {
				data[k] = string(v)
			}
		}
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if name := ef.Prefix + k; len(validation.IsEnvVarName(name)) == 0 {
				set(name, data[k])
			}
		}
	}
	for i, e := range c.Env {
		val := e.Value
		switch vf := e.ValueFrom; {
		case val != "":
			val = expand(val, mappingFor(out, service))
		case vf == nil:
		case vf.FieldRef != nil:
			v, err := downward.FieldValue(pod, vf.FieldRef.FieldPath)
			if err != nil {
				return nil, fmt.Errorf("container %q: env[%d] (%s): %w", c.Name, i, e.Name, err)
			}
			val = v
		case vf.ResourceFieldRef != nil:
			target := c
			if n := vf.ResourceFieldRef.ContainerName; n != "" {
				if target = downward.Container(pod, n); target == nil {
					return nil, fmt.Errorf("container %q: env[%d] (%s): resourceFieldRef: no container %q", c.Name, i, e.Name, n)
				}
			}
			v, err := downward.ResourceValue(target, vf.ResourceFieldRef, src.Node)
			if err != nil {
				return nil, fmt.Errorf("container %q: env[%d] (%s): %w", c.Name, i, e.Name, err)
			}
			val = v
		case vf.ConfigMapKeyRef != nil:
			cm := configMap(src, pod, vf.ConfigMapKeyRef.Name)
			v, ok := "", false
			if cm != nil {
				v, ok = cm.Data[vf.ConfigMapKeyRef.Key]
			}
			if !ok {
				continue // optional
			}
			val = v
		case vf.SecretKeyRef != nil:
			s := secret(src, pod, vf.SecretKeyRef.Name)
			var b []byte
			ok := false
			if s != nil {
				b, ok = manifest.SecretData(s)[vf.SecretKeyRef.Key]
			}
			if !ok {
				continue
			}
			val = string(b)
		default:
			continue // fileKeyRef: warned about at load, ignored
		}
		delete(service, e.Name)
		set(e.Name, val)
	}
	for _, e := range ServiceEnv {
		if _, left := service[e.Name]; left {
			if _, own := idx[e.Name]; !own {
				set(e.Name, e.Value)
			}
		}
	}
	return out, nil
}

func configMap(src EnvSources, pod *corev1.Pod, name string) *corev1.ConfigMap {
	if src.Objects == nil {
		return nil
	}
	return src.Objects.ConfigMap(pod.Namespace, name)
}

func secret(src EnvSources, pod *corev1.Pod, name string) *corev1.Secret {
	if src.Objects == nil {
		return nil
	}
	return src.Objects.Secret(pod.Namespace, name)
}

// mergeEnv puts the container's env over the image's: a name both set is
// replaced in place, new names are appended in order.
func mergeEnv(image []string, ctr []corev1.EnvVar) []string {
	out := append([]string{}, image...)
	idx := map[string]int{}
	for i, kv := range out {
		k, _, _ := strings.Cut(kv, "=")
		idx[k] = i
	}
	for _, e := range ctr {
		kv := e.Name + "=" + e.Value
		if i, ok := idx[e.Name]; ok {
			out[i] = kv
			continue
		}
		idx[e.Name] = len(out)
		out = append(out, kv)
	}
	return out
}

func envValue(env []string, key string) string {
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v
		}
	}
	return ""
}

// mappingFor is the kubelet's expansion.MappingFuncFor over env, then
// more: the first that has the name wins (in env, the later entry); an
// unknown name expands to itself, $(NAME).
func mappingFor(env []corev1.EnvVar, more ...map[string]string) func(string) string {
	m := make(map[string]string, len(env))
	for _, e := range env {
		m[e.Name] = e.Value
	}
	return func(name string) string {
		if v, ok := m[name]; ok {
			return v
		}
		for _, mm := range more {
			if v, ok := mm[name]; ok {
				return v
			}
		}
		return "$(" + name + ")"
	}
}

func expandAll(in []string, mapping func(string) string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = expand(s, mapping)
	}
	return out
}

// expand is Kubernetes' third_party/forked/golang/expansion.Expand: $(VAR)
// is replaced through mapping, $$ is a literal $, and anything else stays.
func expand(input string, mapping func(string) string) string {
	var buf strings.Builder
	checkpoint := 0
	for cursor := 0; cursor < len(input); cursor++ {
		if input[cursor] != '$' || cursor+1 >= len(input) {
			continue
		}
		buf.WriteString(input[checkpoint:cursor])
		read, isVar, advance := readVariableName(input[cursor+1:])
		if isVar {
			buf.WriteString(mapping(read))
		} else {
			buf.WriteString(read)
		}
		cursor += advance
		checkpoint = cursor + 1
	}
	return buf.String() + input[checkpoint:]
}

func readVariableName(input string) (string, bool, int) {
	switch input[0] {
	case '$':
		return "$", false, 1
	case '(':
		for i := 1; i < len(input); i++ {
			if input[i] == ')' {
				return input[1:i], true, i + 1
			}
		}
		return "$(", false, 1
	default:
		return "$" + input[0:1], false, 1
	}
}

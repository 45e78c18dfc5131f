package image

import (
	"strconv"
	"strings"

	"github.com/moby/sys/user"
	corev1 "k8s.io/api/core/v1"
)

// groupsFor returns the supplementary groups of a container running as u,
// as containerd's CRI plugin computes them (oci.WithAdditionalGIDs, then
// WithSupplementalGroups), so that `id` in the container prints what it
// prints on a cluster:
//
//   - the primary group first: the kernel keeps only the supplementary list
//     and `id` prints that as groups=, so the docs' security-context example
//     (runAsUser 1000, runAsGroup 3000, fsGroup 2000) shows
//     groups=2000,3000;
//   - with supplementalGroupsPolicy Merge (the default), the groups of the
//     image's /etc/group that list the user (found by name, the uid looked up
//     in /etc/passwd), whatever runAsGroup says, except a group named as the
//     user (containerd's "we only want supplemental groups"); Strict leaves
//     them out;
//   - the pod's supplementalGroups, then fsGroup (the kubelet adds it there).
func groupsFor(u *user.ExecUser, pod *corev1.Pod, imageUser string, c *corev1.Container, rootfs string) ([]uint32, error) {
	var out []uint32
	seen := map[int64]bool{}
	add := func(g int64) {
		if !seen[g] {
			seen[g] = true
			out = append(out, uint32(g))
		}
	}
	add(int64(u.Gid))
	psc := pod.Spec.SecurityContext
	strict := psc != nil && psc.SupplementalGroupsPolicy != nil && *psc.SupplementalGroupsPolicy == corev1.SupplementalGroupsPolicyStrict
	if !strict {
		gids, err := imageGroups(userName(u, imageUser, pod, c, rootfs), rootfs)
		if err != nil {
			return nil, err
		}
		for _, g := range gids {
			add(int64(g))
		}
	}
	if psc != nil {
		for _, g := range psc.SupplementalGroups {
			add(g)
		}
		if psc.FSGroup != nil {
			add(*psc.FSGroup)
		}
	}
	return out, nil
}

// userName is the name whose /etc/group memberships count: the user of
// runAsUser or of the image's USER, looked up by uid when numeric; "" when
// /etc/passwd does not know it.
func userName(u *user.ExecUser, imageUser string, pod *corev1.Pod, c *corev1.Container, rootfs string) string {
	name, _, _ := strings.Cut(imageUser, ":")
	if runAsUserSet(pod, c) || name == "" {
		name = strconv.Itoa(u.Uid)
	}
	if _, err := strconv.Atoi(name); err != nil {
		return name
	}
	passwd, closeP, err := openInRoot(rootfs, "etc/passwd")
	if err != nil || passwd == nil {
		return ""
	}
	defer closeP()
	users, err := user.ParsePasswdFilter(passwd, func(e user.User) bool { return e.Uid == u.Uid })
	if err != nil || len(users) == 0 {
		return ""
	}
	return users[0].Name
}

func runAsUserSet(pod *corev1.Pod, c *corev1.Container) bool {
	if c.SecurityContext != nil && c.SecurityContext.RunAsUser != nil {
		return true
	}
	return pod.Spec.SecurityContext != nil && pod.Spec.SecurityContext.RunAsUser != nil
}

// imageGroups lists the gids of the groups in the rootfs's /etc/group whose
// member list has name, except the group named name.
func imageGroups(name, rootfs string) ([]int, error) {
	if name == "" {
		return nil, nil
	}
	group, closeG, err := openInRoot(rootfs, "etc/group")
	if err != nil || group == nil {
		return nil, err
	}
	defer closeG()
	groups, err := user.ParseGroupFilter(group, func(g user.Group) bool {
		if g.Name == name {
			return false
		}
		for _, m := range g.List {
			if m == name {
				return true
			}
		}
		return false
	})
	if err != nil {
		return nil, err
	}
	gids := make([]int, len(groups))
	for i, g := range groups {
		gids[i] = g.Gid
	}
	return gids, nil
}

// Package image pulls images into podbox's store and turns an image config
// plus a Kubernetes container into the process a container runs.
//
// It is built on go.podman.io/image/v5 (pull: transports, registries.conf,
// short names, auth files, signature policy) and go.podman.io/storage (the
// store), the libraries Podman, Buildah, Skopeo and CRI-O use, so a user's
// registries.conf, auth.json and policy.json mean what they mean to Podman.
//
// Decisions:
//
//   - The store lives at $XDG_DATA_HOME/podbox/storage, its runroot at
//     RunDir/storage. RunDir is $XDG_RUNTIME_DIR/podbox; without
//     XDG_RUNTIME_DIR, /run/user/UID/podbox if systemd made that directory
//     for the user (owned by the user, mode 0700: a shell from su or cron
//     then sees the pods of the login shell), else /tmp/podbox-UID as
//     Podman does.
//   - Every runtime and data directory podbox uses is the user's own
//     (dirs.go): podbox makes them 0700; an existing one that is a symbolic
//     link, another user's, or writable by group or others is refused with
//     an error naming it and a hint (others may have planted files in it:
//     a fake pod whose pid file names one of the user's processes), as is
//     a top directory whose parent others may write to without the sticky
//     bit. An own directory that others may only read is made 0700
//     silently: nothing can have been planted. Ownership is compared with
//     this process's euid, which holds both outside and inside the user
//     namespace (where the user is 0 and other users show as the overflow
//     uid). It is opened only inside podbox's user
//     namespace (sandbox/userns), with the mapping pods use, so a layer file
//     owned by uid 33 is owned by subuid+32 on disk for every pod alike, and
//     only a process in that namespace can delete it (rmi, Reset).
//   - Driver: the store's own if it exists; else native overlay if a test
//     mount works in the user namespace (kernel ≥ 5.11; storage adds
//     userxattr), else fuse-overlayfs, else vfs. storage itself may fall back
//     from native overlay to fuse-overlayfs and records it; Driver reports
//     what is really used.
//   - With a single-id mapping (no /etc/subuid range) the driver gets
//     ignore_chown_errors, as Podman does: files of other owners become the
//     user's.
//   - Inside the namespace euid is 0, so go.podman.io/image would reach for
//     system paths. The _CONTAINERS_ROOTLESS_UID/GID keys that userns sets
//     make it use the user's (registries.conf, auth.json, short-name
//     aliases); the blob-info cache goes under $XDG_DATA_HOME/podbox/cache.
//   - Signature policy: the user's or the system's policy.json if there is
//     one, else Podman's default, insecureAcceptAnything.
//   - TLS: registries on loopback (127.0.0.0/8, ::1, localhost) may speak
//     plain HTTP, as Docker allows; any other needs insecure = true in
//     registries.conf or --tls-verify=false.
//   - Short names resolve through registries.conf as in Podman, except that
//     an ambiguous name with no terminal to ask is an error listing the
//     candidates, rather than trying each in turn (issue 3).
//   - A pull gives up on a registry that sends nothing for 30 s
//     (DefaultStallTimeout; `--stall-timeout` of pull and up, or
//     PODBOX_PULL_STALL_TIMEOUT; 0 waits forever), with one error naming the
//     registry and the manifest or blob (issue 9: a stalled registry hung
//     pull for good). go.podman.io/image has no such timer and builds its own
//     HTTP transport, so the source reference is wrapped instead (stall.go):
//     each request, and each Read of a blob's body, runs under a context the
//     timer cancels. The timer runs only while podbox waits for the
//     registry, never while the store writes what arrived, so a slow disk is
//     not a stalled registry. Ctrl-C cancels the parent context as before.
//     Cost: the wrapped source is a public types.ImageSource, so a
//     zstd:chunked image is fetched whole rather than in chunks.
//   - An image for another OS or architecture is refused before anything is
//     stored (go.podman.io/image only logs it for a single-image manifest).
//   - An image from oci: or oci-archive: without a name is stored by its ID,
//     as Podman does. An oci-archive: whose index names the image (the
//     org.opencontainers.image.ref.name annotation that `skopeo copy …
//     oci-archive:FILE:NAME:TAG` writes, or containerd's
//     io.containerd.image.name) is stored under that name, normalized as
//     Podman's libimage does: NAME:TAG becomes localhost/NAME:TAG (issue 9).
//   - Removing an image that a container in the store uses is refused without
//     --force: pods create one storage container per container, so that is
//     what "a running pod uses it" means to the store.
//   - go.podman.io/storage locks each call, not a whole pull, so an rmi of
//     the image being pulled can delete a layer the pull reuses, or the image
//     it just stored ("layer not known"). A pull then copies again, at most
//     3 times, and otherwise says in words that the image was removed while
//     it was being pulled; an rmi that loses the race says "image not known"
//     (issue 9).
//   - A full disk must not lock the store: go.podman.io/storage rewrites its
//     JSON metadata with atomic writes (new file, rename) before it deletes
//     a layer's files, so on a full disk no removal could ever free space.
//     OpenStore keeps a 1 MiB reserve file in the store's root (allocated,
//     not sparse); Removing deletes it first when less than that is free,
//     and makes it anew afterwards (reserve.go). Without a reserve the error
//     says the disk is full and that `system reset`, which deletes the store
//     without rewriting it, still works. Retrying a removal after ENOSPC
//     instead would not do: a failed save leaves the store's memory ahead of
//     its files.
//   - A pull from a registry of an image the store already holds under that
//     name first asks the registry for the tag's manifest (one GET, through
//     registries.conf's mirrors as the pull; docker.GetDigest's HEAD would
//     skip them), under the stall timer, and copies nothing when the
//     stored image was pulled by that digest: one line, `busybox:latest: up
//     to date`, no progress. This is Podman's pull policy "newer", and it is
//     what imagePullPolicy Always (the default for :latest) means here
//     (issue 12). The kubelet pulls too, but a pull of an unchanged image
//     copies nothing there either; podbox just says so. If the registry
//     cannot be reached (refused, no route, no such host, or silent for the
//     stall timeout), the stored image is used with one warning line naming
//     the registry and the digest used, and the pod starts: the kubelet
//     would fail the pull (ErrImagePull), but a laptop is often offline and
//     its user wants the image they have. An explicit `podbox pull` fails
//     then, as before: it was asked to fetch, and a script must know it did
//     not. Any other answer (401, an unknown tag) goes on to the pull,
//     which reports it as before; an image that is not stored is pulled,
//     or fails, as before.
//   - imagePullPolicy and the command, env, workingDir and user of a
//     container follow Kubernetes (see DefaultPullPolicy and ProcessFor).
package image

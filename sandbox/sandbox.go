// Package sandbox is the CLI's side of a pod: up, down, ps, get, describe,
// logs, exec and what they share (the pods' directories, garbage
// collection, the control socket's client). The pod's PID 1 is package
// sandbox/pod; the two speak podproto.
//
// How a pod runs (see DESIGN.md, "The pod, as the kernel sees it"):
//
//	podbox up (host)  ── re-execs itself in podbox's user namespace (cmd/podbox inUserNS)
//	 └─ up, inside: loads the manifest, pulls, chooses the runtime, then for each pod
//	     ├─ clones the pod's PID 1 with NEWNS|NEWNET|NEWPID|NEWUTS|NEWIPC  (package pod)
//	     ├─ starts slirp4netns for it (package slirp), in parallel with
//	     ├─ preparing it (prepare.go): volume dirs, /etc files, storage
//	     │   containers mounted and cloned as detached mounts, bundles
//	     └─ hands it the work, the root filesystems, then the network
//	 pod PID 1 (pod.Main): /proc, hostname, tmpfs, rootfs mounts, ctl.sock,
//	     then init containers one by one, app containers in parallel,
//	     through the OCI runtime's create + start.
//
// Decisions:
//
//   - `up` reconciles (apply.go), as `kubectl apply` and `docker compose
//     up` do: per pod of the files, not running → create; running with the
//     same normalised spec → "web: unchanged", untouched and nothing pulled
//     (an `up` of an unchanged `:latest` pod must not copy the image
//     again); running with another → stopped as `down` stops it (its grace
//     period), then started, "web: recreated (containers[0].image
//     changed)"; running but finished (kept for inspection) → removed and
//     created. The normalised spec is the pod after the manifest's
//     defaults, without what podbox or a cluster adds (uid, times,
//     status), with the ConfigMaps it names, a hash of each Secret it
//     names (a ConfigMap edit is a change too; no secret on disk) and the
//     NodePort and LoadBalancer Services that publish its ports (another
//     nodePort recreates the pod, which binds it: "recreated (Service web
//     changed)"). The
//     named fields are a JSON diff of the recorded and the new spec: a
//     defaulted field that follows another shows too (a tag change from
//     :latest changes imagePullPolicy). `up` records, in the pod's data dir
//     (applied.json), the absolute -f paths, the spec's hash and the spec;
//     a pod without one (an older podbox) is compared by its pod.json.
//   - Pods the files no longer have are the pods whose recorded -f paths
//     are all among this up's: listed, and removed only with --prune, as
//     compose's --remove-orphans (a pod of `up -f a.yaml -f b.yaml` is not
//     pruned by `up -f a.yaml`, nor one of standard input). Except the
//     pods of a workload the files still have (the same controller in
//     metadata.ownerReferences): a changed template gives its pods new
//     names (the template's hash is in them, package manifest), so the
//     old ones are removed with or without --prune, as a rollout
//     replaces them ("web-5d…-x: removed (Deployment web changed: its
//     pods are new)"); listing them would leave both running, on the same
//     hostPorts.
//   - Changed pods are stopped before the new ones bind their hostPorts
//     (the same ports, usually), so the new pod's pull comes after the old
//     pod's stop: a pull that fails leaves it stopped, and says so.
//   - Two `up`s of the same pods reconcile one after the other, ups of
//     other pods in parallel: a lock per pod name (a byte of
//     <data>/pods/.up.lock, lockUp) from the decisions until the pods
//     started. lockPods is not it: it is one lock for all pods, and
//     creating a pod and cleaning one up take it themselves.
//   - A foreground `up` of pods that run already (unchanged) follows them
//     as its own (attach.go): their CRI log files as `logs -f` reads them
//     (from their start), their end by polling, and Ctrl-C stops them
//     through the control socket, as `down`. A foreground `up` is then the
//     same whether or not an `up -d` ran before.
//   - `up --watch` (watch.go) applies the files again when one changes:
//     inotify on the files' directories (an editor that saves by rename
//     replaces the file's inode), debounced 200 ms. Its pods start as `up
//     -d` starts them, so that an edit can replace one while the others
//     run on; Ctrl-C (or SIGTERM) stops the pods of the files as `down`. A
//     file that does not load is printed and nothing changes.
//   - The podbox.io/restart-on-change annotation ("web" or "web,worker")
//     restarts those containers when a file under their hostPath mounts
//     changes, for interpreted languages (the source mounted from the
//     host). The pod's PID 1 watches (package pod, filewatch.go), not `up
//     --watch`: so it works with plain `up` and `up -d` too, and no host
//     process has to stay; `up` only passes each container's host paths
//     (restartonchange.go, podproto.Container.WatchPaths). A restart is at
//     once, no crash (no back-off), counted in restartCount. A change to
//     the annotation itself is a spec change: `up` recreates the pod.
//   - The pod's namespaces come from one clone of /proc/self/exe made by the
//     `up` process that already runs in podbox's user namespace (the same one
//     the images were pulled in, so no second user namespace and no second
//     newuidmap): the pod shares it. rootlesskit's parent.Parent/child.Child
//     would re-run the command line through a third process and about ten
//     ip/nsenter execs (~25 ms a pod, DESIGN.md "Measured"); podbox keeps
//     rootlesskit for what it serves without that cost, and runs slirp4netns
//     directly (package slirp).
//   - The two halves talk as rootlesskit's pkg/messages do: JSON values over
//     pipes (podproto: FDWork up → pod, FDEvents pod → up), and the root
//     filesystems as descriptors on a SOCK_SEQPACKET socket (FDMounts).
//     `up` prepares what needs the Kubernetes types, the image store and
//     the runtime probe (prepare.go), so the pod's PID 1 needs none of
//     them; slirp4netns starts meanwhile, and the pod starts containers
//     only once `up` says the network is ready.
//   - The pod's PID 1 is the infra and the supervisor (package pod: the
//     reaper, the lifecycle as the kubelet's, stop signals, the CRI logs,
//     the events, the control socket's server). `down` waits --timeout
//     (default: the grace period + 15 s), then kills the pod's PID 1, which
//     takes its containers with it, and cleans up. If PID 1 dies any other
//     way the kernel kills everything in its PID namespace and slirp4netns
//     exits on its exit-fd; the next `up` or `down` finds the stale pid and
//     removes the leftovers (storage containers, subuid-owned volume files).
//   - A finished pod (Succeeded or Failed) of `up -d` stays listed with its
//     phase and logs: its PID 1 stays alive, holding the status, until down.
//     A foreground `up` removes its pods on Ctrl-C, and the pod stops by
//     itself if the foreground `up` dies (its pipe closes); a pod that
//     finished by itself there keeps its logs and status for ps, logs and
//     describe until down or the next up of it (finished.go).
//   - `up -d` returns as `kubectl apply` does, once the pod exists and its
//     containers are being started: once every container that can start
//     now has been tried once (the first init container, or each app
//     container, started or failed to). An init container that waits for
//     ever or a container that cannot start never holds it; `ps` shows the
//     STATUS kubectl's printPod computes (Init:0/2, Init:CrashLoopBackOff,
//     CrashLoopBackOff, Completed, Terminating …, podstatus.go). `up -d
//     --wait` then polls the control sockets until every pod is Ready or
//     Succeeded, and exits 1 naming what is not ready after --timeout
//     (default 5 min, Helm's --wait default; DefaultWaitTimeout) or as soon
//     as a pod Failed.
//   - A foreground `up` always answers signals (interrupt.go): the first
//     Ctrl-C, SIGTERM or SIGHUP stops the pods and prints what that does
//     (who got SIGTERM and for how long, who was killed at once); a second
//     kills at once (the pods' PID 1 SIGKILLs the containers; if it has not
//     ended 5 s later, `up` kills it and removes what it left), as `docker
//     compose up` does; the exit code is 128 + the first signal. On a
//     terminal one Ctrl-C arrives twice (from the terminal and forwarded
//     by the podbox outside the user namespace): there a repeat within
//     250 ms counts once. While the pods run, the foreground says each
//     container exit and restart back-off and each init container start
//     (podproto.ChildMsg: running, exited, stopping), as compose says "exited
//     with code N". It keeps the log files open, so the last lines a pod
//     writes before removing them are still printed.
//   - A pod whose process dies while starting is reported by the error it
//     sent (the "error" event, panics included); if it died without one,
//     `up` says how (exit code or signal), quotes the crash line of its log
//     and keeps that log beside the pods' runtime dirs (failed-<pod>-….log),
//     as the pod's own runtime dir is removed.
//   - The pod's PID 1 runs in its own session, so a terminal's Ctrl-C reaches
//     only `up`, which stops the pods in order.
//   - Directories: runtime <RunDir>/pods/<pod>/ (ctl.sock, pid, pod.json,
//     podbox.log, bundles, etc files, runtime state; RunDir is
//     image.RunDir); data $XDG_DATA_HOME/podbox/pods/<pod>/ (volumes/,
//     logs/, rundir). The data dir is the registry of pods: rundir records
//     the pod's runtime dir, so a shell with another XDG_RUNTIME_DIR (su,
//     cron) lists, stops and keeps the same pods (paths.go).
//   - PersistentVolumeClaims (claims.go) are directories of their own,
//     $XDG_DATA_HOME/podbox/claims/<namespace>/<claim> (mounts.ClaimDir:
//     both names checked as the API server checks them, never paths), made
//     at `up` for the claims of the files, of StatefulSets'
//     volumeClaimTemplates and those the pods mount, and bound into the
//     containers as a hostPath is. Being under no pod's directory, neither
//     the pod's cleanup role nor `down` removes them, as deleting a pod
//     keeps its claim on a cluster; `down --volumes` does: the claims the
//     removed pods mount, those of the files with -f, every one with
//     --all, but never one that a pod still there mounts (a warning says
//     which pod). A claim a pod names that no file has is made, empty,
//     with a note: a cluster would keep the pod Pending until someone
//     made it, and here that someone is the user running up.
//   - `down -f FILE` removes what `up -f FILE` made: the pods of the file,
//     its workloads' pods by their names (deterministic, package
//     manifest), and every pod whose controller, as recorded in its
//     pod.json, is one of the file's workloads or Jobs (downfile.go): as
//     `kubectl delete -f` takes a Deployment with all its ReplicaSets, so
//     the pods of an earlier template or of more replicas go too, and a
//     Job's pods, named after their attempts. `down NAME` takes pod
//     names, a workload's pods too.
//   - Names are never paths (paths.go): every pod name a command takes is
//     checked as Kubernetes checks metadata.name (a DNS-1123 subdomain, at
//     most 253 characters) before any path is made of it, and every
//     removal of a pod's directory goes through removePodDir, which proves
//     the directory is a direct child of one of podbox's pods directories,
//     with no symbolic link and nothing of another user's from podbox's
//     own directory down: one missed check is never an `rm -rf` elsewhere.
//   - podbox's runtime and data directories must be the user's own and
//     writable by nobody else (image.CheckDir); a directory podbox cannot
//     read is "permission denied" naming it, never an empty list.
//   - A pid file proves nothing: a pod's PID 1 is signalled only through a
//     pidfd after checking its start time (as recorded), its command line
//     (podbox-pod:<name>) and its owner (podProcess.signal), and a process
//     that fails those checks is not the pod's: its pod is dead.
//   - Creating a pod and collecting dead ones are exclusive among podbox
//     processes: an flock on <data>/pods/.lock, held by `up` from the
//     pod's directories until its pid file is written (write-then-rename),
//     and by whoever removes a pod it found dead, after probing it again
//     under the lock. So garbage collection never takes a pod being born
//     for a dead one, and never removes the data of a pod whose process
//     lives: a pod whose pid file is missing or damaged is found by its
//     command line among the user's processes (livePodProcess), and is
//     listed, stopped and kept like any other.
//   - Nothing is invisible: storage containers carry their pod's name in
//     their metadata; `ps` lists a pod of which only they are left as Gone
//     (it reads the store's container list without opening the store, as
//     it runs outside the user namespace); they are removed by `down
//     NAME`, `down --all` and every `up` (which has the store open
//     anyway), and a foreground `up` removes what its pod left if the
//     pod's process is killed.
//   - Runtime and storage names are <pod>-<container> (containerID), cut
//     with a hash when longer than 128 characters (the runtime makes a
//     directory of that name); the runtime's state dir is per pod, so pods
//     never see each other's containers. Every valid pod name works: a
//     unix socket path too long for sun_path (108 bytes: ctl.sock of a
//     long name, exec's console socket, slirp4netns's API socket) is bound
//     and reached through /proc/PID/fd/N/<name>, N an O_PATH descriptor
//     of its directory, as Podman reaches conmon's sockets; the hostname
//     is the name cut to 63 characters, as the kubelet does.
//   - A storage container that cannot be removed (a full disk without the
//     store's reserve, see package image) is an error of `down`, and the
//     pod's runtime directory stays: the pod shows as Gone and the next
//     down tries again, rather than leaving a container no command sees.
//     Volumes and logs go first, as they may be what fills the disk.
//   - The control socket speaks HTTP+JSON (GET /pod, GET /events, POST
//     /stop, POST /exec; served by package pod, ctlClient here); `logs`
//     reads the CRI files directly, so it works on a finished pod too. PID 1
//     saves the pod and its events to status.json beside the socket when
//     they change, so `get` and `describe` of a pod whose process died
//     answer from its last saved status (phase Unknown unless it had
//     finished, reason Gone), else from pod.json as Gone. Its answers have
//     the JSON of a v1.Pod and a v1.EventList: the CLI decodes them into
//     the corev1 types.
//   - `logs` (logs.go) reads only the files of the pod's data dir
//     (logs/<ctr>/<restartCount>.log, the current run's and the previous
//     one's, as the kubelet keeps them), so it is the same while the pod
//     runs and after it finished; the spec, when found, orders the
//     containers (init first) and the status, while the pod runs, ends -f.
//     Its flags are kubectl's (--since, --since-time, --tail applied before
//     --since as the kubelet does, --timestamps, --limit-bytes, --previous,
//     --prefix, --all-containers), with one difference: without -c it
//     prints every container, prefixed [pod/POD/CTR] when there are several
//     and merged in time order, where kubectl picks the default container;
//     that is what a foreground `up` shows, and a developer's pod is often
//     several containers. -f moves to a container's next run's file when it
//     appears: the pod closes a run's file before it opens the next.
//   - exec (exec.go here, the pod's half in package pod): the CLI sends a
//     JSON request on ctl.sock, then, after 101 Switching Protocols, its
//     own stdin (with -i), stdout and stderr by SCM_RIGHTS; PID 1 runs
//     `runc exec --detach` with those fds as the process's stdio (nothing
//     is copied through podbox) and replies with the exit code, which the
//     CLI exits with. With -t, PID 1 passes the pty master on, and the CLI
//     puts its terminal in raw mode, copies both ways, and sets TIOCSWINSZ
//     on SIGWINCH. Without -c: the first app container, as kubectl. An
//     unknown or stopped container is refused before anything runs (exit
//     125); a missing command is 127, other runtime failures 126 (Podman's
//     codes).
//   - port-forward and cp (portforward.go, cp.go; the pod's half in
//     sandbox/pod/tools.go): PID 1 connects to the pod's loopback port, or
//     opens the container's /proc/<pid>/root, and passes the descriptor by
//     SCM_RIGHTS; the CLI splices the bytes, or walks the container's files
//     with openat2(RESOLVE_IN_ROOT) and O_NOFOLLOW, so PID 1 does no work
//     per byte and keeps nothing.
//   - Events: PID 1 records them (package pod); Pulling/Pulled come from
//     `up`, in the work.
//   - Secret and projected volumes are tmpfs the pod's PID 1 mounts (in
//     the work) before it takes the root filesystems; `up` writes their
//     files through /proc/<pid>/root once the pod has closed its end of
//     the mounts socket (so after the mounts), and only into a tmpfs
//     (mounts.FillTmpfs), before the network is ready and so before any
//     container starts. No pod-side code knows about them.
//   - `get pod` prints a v1.Pod: the spec as given with the manifest's
//     defaults, metadata.uid and creationTimestamp made at start,
//     spec.nodeName the host's name; container IDs are <runtime>://<id>,
//     image IDs repo@manifest-digest as containerd's kubelet shows them.
//   - hostPorts (ports.go, decided in package slirp): `up` binds them on
//     the host before anything starts (a port in use fails the up, nothing
//     left) and, with the default builtin driver, hands the sockets to
//     PID 1 (extra files from podproto.FDFirstPort, their fds in
//     Work.Ports), which serves them from inside the pod's network
//     namespace (slirp/relay): no host-side process stays for ports. The slirp4netns driver (annotation podbox.io/port-driver or
//     --port-driver) has slirp4netns forward them instead.
//   - A pod whose slirp4netns dies keeps running without a way out; PID 1
//     learns of it by EOF on a pipe only slirp4netns holds the write end of
//     (package slirp), since `up -d` that started it is gone, and records a
//     Warning event NetworkDown, status.reason NetworkDown (the STATUS of
//     `ps`) with the message, and the condition PodReadyToStartContainers
//     False, reason NetworkDown (the kubelet's condition for a pod sandbox
//     without its network; podbox adds it only then). `up` writes the
//     slirp4netns pid to slirp4netns.pid in the runtime dir.
//   - Host loopback is off unless the pod has the annotation
//     podbox.io/allow-host-loopback: "true" (then 10.0.2.2 is the host's
//     127.0.0.1).
//   - The program of the pod's PID 1 is the small podbox-pod of podbox's
//     own build when there is one beside podbox (or in ../libexec/podbox),
//     else podbox itself (podbinary.go: why, and what "same build" means;
//     `podbox info` says which). At its end PID 1 runs podbox for a moment
//     in the cleanup role, which has the image store that podbox-pod does
//     not link (cleanup.go).
package sandbox

import (
	"os"

	"github.com/podbox/podbox/sandbox/podproto"
)

// IsPodChild reports whether this process was started as a pod's PID 1
// (package pod runs it).
func IsPodChild() bool { return os.Getenv(podproto.EnvPodChild) != "" }

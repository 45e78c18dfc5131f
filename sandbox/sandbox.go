// Package sandbox runs a Pod: namespaces, the in-process infra, the
// supervisor, status, the control socket and the CRI logs.
//
// How a pod runs (see DESIGN.md, "The pod, as the kernel sees it"):
//
//	podbox up (host)  ── re-execs itself in podbox's user namespace (cmd/podbox inUserNS)
//	 └─ up, inside: loads the manifest, pulls, then for each pod
//	     ├─ clones /proc/self/exe with NEWNS|NEWNET|NEWPID|NEWUTS|NEWIPC  → the pod's PID 1
//	     └─ starts slirp4netns for it (package slirp), then hands it its work
//	 pod PID 1 (ChildMain): /proc, hostname, volumes, /etc files, rootfs mounts,
//	     bundles, ctl.sock, then init containers one by one, app containers in
//	     parallel, through the OCI runtime's create + start.
//
// Decisions:
//
//   - The pod's namespaces come from one clone of /proc/self/exe made by the
//     `up` process that already runs in podbox's user namespace (the same one
//     the images were pulled in, so no second user namespace and no second
//     newuidmap): the pod shares it. rootlesskit's parent.Parent/child.Child
//     would re-run the command line through a third process and about ten
//     ip/nsenter execs (~25 ms a pod, DESIGN.md "Measured"); podbox keeps
//     rootlesskit for what it serves without that cost, and runs slirp4netns
//     directly (package slirp).
//   - The two halves talk as rootlesskit's pkg/messages do: JSON values over
//     pipes (fd 3 parent → pod, fd 4 pod → parent). The pod gets its work
//     at once and sets up its mounts while slirp4netns starts, and starts
//     containers only once the parent says the network is ready.
//   - The pod's PID 1 is the infra: it holds the namespaces by being alive,
//     and reaps. One goroutine handles SIGCHLD with wait4(-1); the OCI
//     runtime runs through it (Runtime.Run) under a lock that registers the
//     pid before it can be reaped, and a container's exit status arrives
//     through it by the pid from --pid-file. Library code that runs
//     commands (storage mounts) runs before the reaper starts and after it
//     stops, so nothing steals a status from os/exec.
//   - Containers run with `create` + `start`; PID 1 holds their stdout and
//     stderr pipes and writes each line to the container's CRI log file
//     (`<RFC3339Nano> stdout|stderr F|P <line>`, one file per container,
//     appended across restarts) under the pod's data dir, kept until down.
//     No runtime process stays per container.
//   - Lifecycle as the kubelet: init containers in order, each retried per
//     restartPolicy until it exits 0 (with Never, a failure fails the pod
//     and no app container starts); app containers in parallel; back-off
//     10 s doubling to 300 s, reset after 10 min of running; a restarted
//     container is a fresh runtime container on the same rootfs. Status is a
//     v1.PodStatus; the phase follows the kubelet's getPhase.
//   - Sidecars (init containers with restartPolicy Always, Kubernetes 1.28+)
//     start in their place among the init containers, the next one starting
//     once the sidecar runs; they restart whatever their exit, and are
//     stopped (SIGTERM, then SIGKILL after the grace period) once every app
//     container is done, so that the pod can finish. The pod's phase is
//     the app containers'.
//   - Stopping: SIGTERM through the runtime, SIGKILL after
//     terminationGracePeriodSeconds (or `down --grace-period N`, which
//     only ever shortens it, as a second `kubectl delete` does; 0 kills at
//     once), then the rootfs, volumes and both pod directories are removed
//     by PID 1 itself, from inside the user namespace, before it exits.
//     But a container whose PID 1 cannot get SIGTERM is killed at once
//     (stopsignal.go): the init of a PID namespace only receives the
//     signals it has a handler for (pid_namespaces(7)), so for a shell or
//     `sleep` as PID 1 — most manifests — the kernel discards SIGTERM and
//     the grace period would be 30 s of waiting for nothing. The pod's PID 1
//     reads SigCgt/SigIgn/SigBlk and NSpid in its own /proc; the event is
//     the kubelet's Killing, "Stopping container web: it does not handle
//     SIGTERM; killed at once". A container sharing the pod's PID
//     namespace is no init: SIGTERM's default action applies and it gets
//     SIGTERM. (preStop hooks, when they come, run before this.) `down`
//     waits --timeout (default: the grace period + 15 s), then kills the
//     pod's PID 1, which takes its containers with it, and cleans up. If PID 1 dies any other way the kernel
//     kills everything in its PID namespace and slirp4netns exits on its
//     exit-fd; the next `up` or `down` finds the stale pid and removes the
//     leftovers (storage containers, subuid-owned volume files).
//   - A finished pod (Succeeded or Failed) of `up -d` stays listed with its
//     phase and logs: its PID 1 stays alive, holding the status, until down.
//     A foreground `up` removes its pods when they finish or on Ctrl-C, and
//     the pod stops by itself if the foreground `up` dies (its pipe closes).
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
//     (messages.go: running, exited, stopping), as compose says "exited
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
//     /stop, POST /exec; ctl.go); `logs` reads the CRI files directly, so it
//     works on a finished pod too. PID 1 saves the pod and its events to
//     status.json beside the socket when they change, so `get` and
//     `describe` of a pod whose process died answer from its last saved
//     status (phase Unknown unless it had finished, reason Gone), else from
//     pod.json as Gone.
//   - exec (exec.go): the CLI sends a JSON request on ctl.sock, then, after
//     101 Switching Protocols, its own stdin (with -i), stdout and stderr by
//     SCM_RIGHTS; PID 1 runs `runc exec --detach --process P --pid-file F`
//     with those fds as the process's stdio (nothing is copied through
//     podbox) and reaps the process like a container's (runc takes a
//     console socket only when it detaches, and once it exits the kernel
//     gives the orphan to PID 1, the init of its PID namespace), then
//     replies with the exit code (128+signal if killed), which the CLI
//     exits with. The process is the container's own from its config.json
//     (user, env, cwd, capabilities), args replaced. With -t, P asks for a
//     terminal with the CLI's window size and runc sends the pty master to
//     a console socket; PID 1 passes it to the CLI, which puts its terminal
//     in raw mode, copies both ways, and sets TIOCSWINSZ on SIGWINCH.
//     Without -c: the first app container, as kubectl. An unknown or
//     stopped container is refused before anything runs (exit 125); a
//     missing command is 127, other runtime failures 126 (Podman's codes).
//     If the CLI hangs up, the process gets SIGHUP, then SIGKILL after 2 s.
//   - Events (events.go): PID 1 records v1.Events as they happen, the
//     kubelet's reasons and words: Scheduled, Pulling/Pulled (from `up`, in
//     the work), Created, Started, Completed, Failed (could not start),
//     BackOff ("Back-off restarting failed container X in pod …"),
//     Killing. Repeats of an event count on it ("x4 over 2m"), as the
//     kubelet's aggregation; at most 200 are kept, in memory.
//   - `get pod` prints a v1.Pod: the spec as given with the manifest's
//     defaults, metadata.uid and creationTimestamp made at start,
//     spec.nodeName the host's name; container IDs are <runtime>://<id>,
//     image IDs repo@manifest-digest as containerd's kubelet shows them.
//   - hostPorts (ports.go, decided in package slirp): `up` binds them on
//     the host before anything starts (a port in use fails the up, nothing
//     left) and, with the default builtin driver, hands the sockets to
//     PID 1 (extra files after the pipes, their fds in work.Ports), which
//     serves them from inside the pod's network namespace: no host-side
//     process stays for ports. The slirp4netns driver (annotation podbox.io/port-driver or
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
package sandbox

import (
	"os"

	"github.com/podbox/podbox/sandbox/podproto"
)

// IsPodChild reports whether this process was started as a pod's PID 1
// (package pod runs it).
func IsPodChild() bool { return os.Getenv(podproto.EnvPodChild) != "" }

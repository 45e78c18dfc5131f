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
//     terminationGracePeriodSeconds, then the rootfs, volumes and both pod
//     directories are removed by PID 1 itself, from inside the user
//     namespace, before it exits. If PID 1 dies any other way the kernel
//     kills everything in its PID namespace and slirp4netns exits on its
//     exit-fd; the next `up` or `down` finds the stale pid and removes the
//     leftovers (storage containers, subuid-owned volume files).
//   - A finished pod (Succeeded or Failed) of `up -d` stays listed with its
//     phase and logs: its PID 1 stays alive, holding the status, until down.
//     A foreground `up` removes its pods when they finish or on Ctrl-C, and
//     the pod stops by itself if the foreground `up` dies (its pipe closes).
//   - The pod's PID 1 runs in its own session, so a terminal's Ctrl-C reaches
//     only `up`, which stops the pods in order.
//   - Directories: runtime $XDG_RUNTIME_DIR/podbox/pods/<pod>/ (ctl.sock,
//     pid, pod.json, podbox.log, bundles, etc files, runtime state); data
//     $XDG_DATA_HOME/podbox/pods/<pod>/ (volumes/, logs/).
//   - Runtime and storage names are <pod>-<container>; the runtime's state
//     dir is per pod, so pods never see each other's containers.
//   - The control socket speaks HTTP+JSON (GET /pod, POST /stop); `logs`
//     reads the CRI files directly, so it works on a finished pod too.
//   - Host loopback is off unless the pod has the annotation
//     podbox.io/allow-host-loopback: "true" (then 10.0.2.2 is the host's
//     127.0.0.1).
package sandbox

import "os"

const envPodChild = "_PODBOX_POD_CHILD"

// IsPodChild reports whether this process is a pod's inner half.
func IsPodChild() bool { return os.Getenv(envPodChild) != "" }

// Command podbox-pod is a pod's PID 1 (package sandbox/pod), as its own
// small binary: `podbox up` runs it, in the pod's new namespaces, when it
// finds one of its own build beside it (sandbox.PodBinary), with the
// descriptors of podproto; nobody runs it by hand.
//
// Why a second binary (issue 10): the pod's PID 1 lives as long as the pod,
// so every page of program it maps is memory each pod keeps. podbox itself
// links the Kubernetes API types, go.podman.io/image and storage, logrus and
// the CLI; the pod's side needs none of them, and its package imports none
// (sandbox/pod/depcheck_test.go keeps it so). Run from podbox itself, the
// same code would map and fault in the pages of a binary several times
// larger, and the Go runtime would initialise the packages of all of it.
// Measured (Debian 12, a one-container pod, /proc/PID/smaps_rollup of its
// PID 1): 4.8 MB resident, 1.7 MB of it anonymous, as podbox-pod; 24.2 MB
// resident, 4.3 MB anonymous, as podbox itself. The binary is 3.3 MB against
// podbox's 46 MB. podbox still runs pods without it (podbox itself with
// podproto.EnvPodChild), with more memory per pod: `podbox info` says which
// is used.
//
// go install github.com/podbox/podbox/cmd/...@latest installs it beside
// podbox; `make build` puts it in bin/.
package main

import (
	"os"

	"github.com/podbox/podbox/sandbox/pod"
)

func main() { os.Exit(pod.Main()) }

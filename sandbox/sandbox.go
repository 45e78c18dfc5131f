// Package sandbox runs a Pod: namespaces, the in-process infra, the
// supervisor, the OCI runtime spec, status and the control socket.
package sandbox

import "os"

const envPodChild = "_PODBOX_POD_CHILD"

// IsPodChild reports whether this process is a pod's inner half.
func IsPodChild() bool { return os.Getenv(envPodChild) != "" }

// ChildMain runs the pod's inner half and returns its exit code.
func ChildMain() int { return 125 }

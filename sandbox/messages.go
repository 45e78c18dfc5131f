package sandbox

import (
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/podbox/podbox/image"
	corev1 "k8s.io/api/core/v1"
)

// The pod's two halves talk over two pipes, as rootlesskit's pkg/messages
// does: JSON values, one after another.
//
// Parent → child, on fd 3: a work value, then a parentMsg when slirp4netns
// has configured the network, then (foreground only) a parentMsg asking
// the pod to stop, and another to kill it now (a second Ctrl-C). EOF in
// the foreground means the parent died: the pod stops too.
//
// Child → parent, on fd 4: childMsg values: started (every container that
// can start now was tried once, or the pod already finished), finished
// (the pod's phase is final), or an error that ended the pod before it
// started. A foreground pod also says what happens for its user: running
// (an init container started), exited (a container ended, and when it
// restarts), stopping (who got the stop signal, who was killed at once).
//
//	up (parent)                         pod PID 1 (child)
//	   work ───────────────────────────▶ setup: mounts, rootfs, bundles, ctl.sock
//	   {networkReady} ─────────────────▶ containers start
//	   ◀──────────────────────────────── {started} (or {error})
//	   ◀──────────────────────────────── {running} {exited} …   (foreground)
//	   {stop} (Ctrl-C) ────────────────▶ SIGTERM / SIGKILL at once
//	   ◀──────────────────────────────── {stopping}
//	   {kill} (Ctrl-C again) ──────────▶ SIGKILL now
//	   ◀──────────────────────────────── {finished} (the pod ended by itself)
const (
	fdWork   = 3
	fdEvents = 4
	fdExit   = 5 // slirp4netns's --exit-fd write end: held, never written
	// fdNetDown is the read end of a pipe whose only write end slirp4netns
	// holds (slirp.Options.HoldFD): EOF there means slirp4netns is gone.
	fdNetDown = 6
	// The builtin port driver's host sockets follow, their fds in
	// work.Ports.
)

// work is everything the pod's PID 1 needs to run the pod.
type work struct {
	Pod        *corev1.Pod          `json:"pod"`
	Images     map[string]imageInfo `json:"images"` // by container name
	Dirs       Dirs                 `json:"dirs"`
	Runtime    string               `json:"runtime"` // --runtime: "" picks one
	Store      image.StoreOptions   `json:"store"`
	Foreground bool                 `json:"foreground"`
	LogLevel   string               `json:"logLevel"`
	Ports      []portFD             `json:"ports,omitempty"`      // builtin driver: the host sockets (ports.go)
	PortBypass bool                 `json:"portBypass,omitempty"` // bypass driver: serve the seccomp agent
}

type imageInfo struct {
	ID     string           `json:"id"`
	Config *imgspecv1.Image `json:"config"`
	Ref    string           `json:"ref"`            // the status's imageID: repo@digest
	Pull   *pullRecord      `json:"pull,omitempty"` // nil: it was present (events.go)
}

type parentMsg struct {
	NetworkReady bool   `json:"networkReady,omitempty"`
	Error        string `json:"error,omitempty"` // the network could not be made: give up
	Stop         bool   `json:"stop,omitempty"`
	Kill         bool   `json:"kill,omitempty"` // stopping: SIGKILL now, do not wait out the grace period
	// SlirpPID comes with NetworkReady, for the pod's events.
	SlirpPID int `json:"slirpPID,omitempty"`
}

// childMsg events.
const (
	eventStartedMsg  = "started"
	eventFinishedMsg = "finished"
	eventErrorMsg    = "error"
	eventRunning     = "running"
	eventExited      = "exited"
	eventStopping    = "stopping"
)

type childMsg struct {
	Event string          `json:"event"` // started, finished, error
	Phase corev1.PodPhase `json:"phase,omitempty"`
	Error string          `json:"error,omitempty"`
	// Errors are containers that could not start, for the user.
	Errors []string `json:"errors,omitempty"`

	// running, exited: which container, and how it ended.
	Container string `json:"container,omitempty"`
	Init      bool   `json:"init,omitempty"`
	Code      int    `json:"code,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Message   string `json:"message,omitempty"`
	RestartIn string `json:"restartIn,omitempty"` // exited: restarts after this back-off; "": it does not

	// stopping: the containers sent the stop signal, the grace period they
	// have, and those killed at once because the signal could not reach them.
	Waiting []string `json:"waiting,omitempty"`
	Grace   string   `json:"grace,omitempty"`
	Killed  []string `json:"killed,omitempty"`
}

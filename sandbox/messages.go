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
// the pod to stop. EOF in the foreground means the parent died: the pod
// stops too.
//
// Child → parent, on fd 4: childMsg values: started (the app containers
// run, or the pod already finished), finished (the pod's phase is final),
// or an error that ended the pod before it started.
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
	Ports      []portFD             `json:"ports,omitempty"` // builtin driver: the host sockets (ports.go)
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
	// SlirpPID comes with NetworkReady, for the pod's events.
	SlirpPID int `json:"slirpPID,omitempty"`
}

type childMsg struct {
	Event string          `json:"event"` // started, finished, error
	Phase corev1.PodPhase `json:"phase,omitempty"`
	Error string          `json:"error,omitempty"`
	// Errors are containers that could not start, for the user.
	Errors []string `json:"errors,omitempty"`
}

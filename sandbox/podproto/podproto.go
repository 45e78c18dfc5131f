// Package podproto is what the two sides of a pod say to each other: the
// CLI side (package sandbox: `podbox up`, `down`, `ps`, `get`, …) and the
// pod's PID 1 (package sandbox/pod, run as the small podbox-pod binary).
//
// It imports the standard library and golang.org/x/sys/unix only (the
// mount-fd passing of mountfd.go needs open_tree and move_mount), as does
// everything on the pod side (sandbox/pod/depcheck_test.go checks it): the
// pod's PID 1 lives as long as the pod, and what it links is the memory
// every pod keeps (issue 10). The CLI computes everything that needs
// the Kubernetes API types, the image store or the OCI spec generator, and
// hands the pod a small explicit description of what to run (Work): the
// bundles are written, the root filesystems are mounted and passed as
// mount fds, the runtime is chosen, the restart policy and grace period are
// plain values.
//
// The pod's answers (GET /pod, GET /events, status.json) have the JSON shape
// of a v1.Pod and a v1.EventList: the pod side fills the few fields it owns
// with the types below, whose JSON names are the Kubernetes API's, and
// passes the manifest's metadata and spec through as raw JSON. The CLI
// decodes them straight into corev1.Pod and corev1.Event: that decoding is
// the conversion into v1.PodStatus (tested on the CLI side).
package podproto

import (
	"encoding/json"
	"path/filepath"
	"time"
)

// EnvPodChild marks a process started as a pod's PID 1 (by podbox-pod or by
// the podbox binary itself, as a fallback).
const EnvPodChild = "_PODBOX_POD_CHILD"

// The pod's PID 1 inherits these descriptors.
const (
	// FDWork: a pipe, CLI → pod: a Work value, then ParentMsg values.
	FDWork = 3
	// FDEvents: a pipe, pod → CLI: ChildMsg values.
	FDEvents = 4
	// FDExit is slirp4netns's --exit-fd write end: held, never written.
	FDExit = 5
	// FDNetDown is the read end of a pipe whose only write end slirp4netns
	// holds: EOF there means slirp4netns is gone.
	FDNetDown = 6
	// FDMounts: a SOCK_SEQPACKET socket, CLI → pod: one packet per
	// container whose payload is the container's name and which carries one
	// descriptor by SCM_RIGHTS, a detached mount (open_tree with
	// OPEN_TREE_CLONE) of its root filesystem, which the pod moves onto
	// Container.Rootfs (move_mount). An empty packet ends them; a packet
	// whose payload starts with "!" is an error message instead and ends
	// them too.
	FDMounts = 7
	// FDFirstPort: the builtin port driver's host sockets follow, their fds
	// in Work.Ports.
	FDFirstPort = 8
)

// Work is everything the pod's PID 1 needs to run the pod.
type Work struct {
	Name      string    `json:"name"`
	Namespace string    `json:"namespace"`
	UID       string    `json:"uid"`
	Created   time.Time `json:"created"`
	NodeName  string    `json:"nodeName"`
	Hostname  string    `json:"hostname"` // the pod's UTS hostname (at most 63 characters)

	// Metadata and Spec are the manifest's, with the defaults the CLI
	// made (uid, creationTimestamp, nodeName), served back as they are in
	// GET /pod; the pod adds deletionTimestamp and
	// deletionGracePeriodSeconds to Metadata when it is stopping.
	Metadata map[string]json.RawMessage `json:"metadata"`
	Spec     json.RawMessage            `json:"spec"`

	RestartPolicy string `json:"restartPolicy"` // Always, OnFailure or Never
	// GraceSeconds is terminationGracePeriodSeconds (30 when unset).
	GraceSeconds int64 `json:"graceSeconds"`
	// ActiveDeadlineSeconds is the pod's activeDeadlineSeconds; 0: none.
	ActiveDeadlineSeconds int64 `json:"activeDeadlineSeconds,omitempty"`

	// Containers: the init containers in order, then the app containers.
	Containers []Container `json:"containers"`

	Dirs    Dirs    `json:"dirs"`
	Runtime Runtime `json:"runtime"`
	// Sysctls are the pod's securityContext.sysctls (the safe ones, each in
	// a namespace of the pod's own), written by the pod before any
	// container runs, as a CRI runtime sets them on the sandbox.
	Sysctls []Sysctl `json:"sysctls,omitempty"`
	// VolumeLimits are the on-disk emptyDirs with a sizeLimit: the pod
	// measures them and is evicted past one, as by the kubelet.
	VolumeLimits []VolumeLimit `json:"volumeLimits,omitempty"`
	// Tmpfs are the pod's medium: Memory emptyDirs, mounted by the pod in
	// its own mount namespace (so they go with it, even if it is killed).
	Tmpfs []Tmpfs `json:"tmpfs,omitempty"`
	// Cleanup runs last, after the containers are gone and the root
	// filesystems unmounted: a short-lived helper (the podbox binary) that
	// removes the storage containers, the volumes and both pod
	// directories, from inside the pod's namespaces. Its exit code 0 means
	// all went; else the pod's log has why.
	Cleanup    []string `json:"cleanup,omitempty"`
	CleanupEnv []string `json:"cleanupEnv,omitempty"`

	// ProbeHelper makes the HTTPS and gRPC probes and hooks, which the
	// pod's process cannot (no crypto/tls, no HTTP/2 in it): a short-lived
	// podbox in the probe role, started in the pod's namespaces with
	// ProbeHelperEnv plus EnvProbeJob; nil when no container needs it.
	ProbeHelper    []string `json:"probeHelper,omitempty"`
	ProbeHelperEnv []string `json:"probeHelperEnv,omitempty"`

	Foreground bool   `json:"foreground"`
	LogLevel   string `json:"logLevel"` // debug, info (default), warn, error
	Ports      []Port `json:"ports,omitempty"`
	// SeccompAgent, for the bypass port driver, is the socket on which
	// the pod serves slirp/relay's seccomp agent (relay.ServeSeccompAgent)
	// before it creates a container: every container's filter names it as
	// linux.seccomp.listenerPath, and the runtime fails to create one when
	// nothing listens there. "": none.
	SeccompAgent string `json:"seccompAgent,omitempty"`
}

// Container is one container as the pod's PID 1 runs it.
type Container struct {
	Name    string `json:"name"`
	Image   string `json:"image"` // as the manifest names it, for the status and events
	Init    bool   `json:"init,omitempty"`
	Sidecar bool   `json:"sidecar,omitempty"` // an init container with restartPolicy Always
	ID      string `json:"id"`                // the runtime's container name
	Bundle  string `json:"bundle"`            // config.json written by the CLI
	Rootfs  string `json:"rootfs"`            // where the pod mounts the root filesystem (config.json's root.path)
	// LogDir holds the container's CRI log files, one per run:
	// <LogDir>/<restartCount>.log, the current run's and the previous
	// one's. LogPath is a symbolic link to the current one.
	LogDir  string `json:"logDir"`
	LogPath string `json:"logPath"`
	ImageID string `json:"imageID"` // the status's imageID: repo@digest, or sha256:<id>
	// Pull says how `up` got the image, for the Pulling and Pulled
	// events; nil: it was present.
	Pull *Pull `json:"pull,omitempty"`

	// Probes, with the API server's defaults filled and named ports
	// resolved by the CLI; nil: none.
	Liveness  *Probe `json:"liveness,omitempty"`
	Readiness *Probe `json:"readiness,omitempty"`
	Startup   *Probe `json:"startup,omitempty"`
	// Lifecycle hooks; nil: none.
	PostStart *Action `json:"postStart,omitempty"`
	PreStop   *Action `json:"preStop,omitempty"`
	// StopSignal is the signal that stops the container (lifecycle.stopSignal,
	// else the image's STOPSIGNAL); 0: SIGTERM.
	StopSignal int `json:"stopSignal,omitempty"`
	// WatchPaths are the host paths of its hostPath volumeMounts when the
	// pod's podbox.io/restart-on-change annotation names it: a change under
	// one restarts it at once, without back-off. nil: none.
	WatchPaths []string `json:"watchPaths,omitempty"`
}

// Action is what a probe or a lifecycle hook does: exactly one of its
// fields is set.
type Action struct {
	Exec      []string   `json:"exec,omitempty"` // run in the container through the runtime
	HTTPGet   *HTTPGet   `json:"httpGet,omitempty"`
	TCPSocket *TCPSocket `json:"tcpSocket,omitempty"`
	GRPC      *GRPC      `json:"grpc,omitempty"`
	// Sleep: a hook that waits this long (lifecycle.sleep).
	Sleep time.Duration `json:"sleep,omitempty"`
}

// HTTPGet is a GET the pod's PID 1 makes from inside the pod's network
// namespace. Host "" is the pod's IP.
type HTTPGet struct {
	Scheme  string   `json:"scheme"` // HTTP or HTTPS
	Host    string   `json:"host,omitempty"`
	Port    int      `json:"port"`
	Path    string   `json:"path"`
	Headers []Header `json:"headers,omitempty"`
}

// Header is an HTTP header of an HTTPGet.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// TCPSocket is a connection the pod's PID 1 opens; Host "" is the pod's IP.
type TCPSocket struct {
	Host string `json:"host,omitempty"`
	Port int    `json:"port"`
}

// GRPC is a grpc.health.v1.Health/Check call to the pod's IP.
type GRPC struct {
	Port    int    `json:"port"`
	Service string `json:"service,omitempty"`
}

// EnvProbeJob carries a ProbeJob (JSON) to the probe helper.
const EnvProbeJob = "_PODBOX_PROBE_JOB"

// ProbeJob is one request of the probe helper: exactly one of HTTPGet
// (HTTPS, its certificate not verified, as the kubelet) and GRPC. The
// helper exits ProbeOK with the HTTP status code or the gRPC health status
// on stdout, ProbeUnhealthy when a gRPC service is not SERVING (the status
// on stdout), ProbeError when the request could not be made (why on
// stdout).
type ProbeJob struct {
	HTTPGet *HTTPGet      `json:"httpGet,omitempty"`
	GRPC    *GRPC         `json:"grpc,omitempty"`
	Host    string        `json:"host"` // the pod's IP, for a Host of ""
	Timeout time.Duration `json:"timeout"`
}

// The probe helper's exit codes.
const (
	ProbeOK        = 0
	ProbeUnhealthy = 1
	ProbeError     = 2
)

// Probe is a container's probe, as the kubelet runs it; its numbers have
// the API's defaults (period 10 s, timeout 1 s, success 1, failure 3).
type Probe struct {
	Action
	InitialDelay     time.Duration `json:"initialDelay,omitempty"`
	Period           time.Duration `json:"period"`
	Timeout          time.Duration `json:"timeout"`
	SuccessThreshold int           `json:"successThreshold"`
	FailureThreshold int           `json:"failureThreshold"`
	// Grace replaces the pod's terminationGracePeriodSeconds when this
	// (liveness or startup) probe's failure kills the container.
	Grace *time.Duration `json:"grace,omitempty"`
}

// Pull is when the image of a container was pulled.
type Pull struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Runtime is the OCI runtime the CLI chose (it probes; the pod does not).
type Runtime struct {
	Name string `json:"name"` // runc or crun
	Path string `json:"path"`
	Root string `json:"root"` // --root: the pod's own state dir
	// CgroupTmpfs: mount an empty tmpfs over /sys/fs/cgroup in the pod's
	// mount namespace first (crun refuses a hybrid cgroup layout it cannot
	// use rootless anyway).
	CgroupTmpfs bool `json:"cgroupTmpfs,omitempty"`
}

// Tmpfs is a tmpfs the pod mounts at Path with Options (mount(2) data).
type Tmpfs struct {
	Path    string `json:"path"`
	Options string `json:"options"`
}

// Sysctl is one kernel parameter, by its dotted name (net.ipv4.tcp_syncookies).
type Sysctl struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// VolumeLimit is an on-disk emptyDir volume and its sizeLimit.
type VolumeLimit struct {
	Name  string `json:"name"`  // the volume's
	Path  string `json:"path"`  // its directory
	Bytes int64  `json:"bytes"` // the limit
	Limit string `json:"limit"` // as the manifest wrote it, for the message ("1Mi")
}

// Port is a hostPort's host-side socket (builtin port driver), handed to
// the pod's PID 1 as descriptor FD, which it serves from inside the pod's
// network namespace to ChildPort.
type Port struct {
	Proto      string `json:"proto"` // tcp or udp
	ParentIP   string `json:"parentIP"`
	ParentPort int    `json:"parentPort"`
	ChildPort  int    `json:"childPort"`
	FD         int    `json:"fd"`
}

// Dirs are the pod's directories, as the CLI made them.
type Dirs struct {
	Run  string `json:"run"`  // <RunDir>/pods/<pod>
	Data string `json:"data"` // $XDG_DATA_HOME/podbox/pods/<pod>
}

// The pod's PID 1 needs only these two: the bundles, logs and volumes
// come to it as paths in Work.
func (d Dirs) CtlSock() string    { return filepath.Join(d.Run, "ctl.sock") }
func (d Dirs) StatusFile() string { return filepath.Join(d.Run, "status.json") }

// ParentMsg: CLI → pod on FDWork, after the Work.
type ParentMsg struct {
	NetworkReady bool   `json:"networkReady,omitempty"`
	Error        string `json:"error,omitempty"` // the network or the rootfs could not be made: give up
	Stop         bool   `json:"stop,omitempty"`
	Kill         bool   `json:"kill,omitempty"` // stopping: SIGKILL now, do not wait out the grace period
	// SlirpPID comes with NetworkReady, for the pod's events.
	SlirpPID int `json:"slirpPID,omitempty"`
}

// ChildMsg events.
const (
	EventStarted  = "started"
	EventFinished = "finished"
	EventError    = "error"
	EventRunning  = "running"
	EventExited   = "exited"
	EventStopping = "stopping"
)

// ChildMsg: pod → CLI on FDEvents.
type ChildMsg struct {
	Event string `json:"event"`
	Phase string `json:"phase,omitempty"`
	Error string `json:"error,omitempty"`
	// Errors are containers that could not start, for the user.
	Errors []string `json:"errors,omitempty"`

	// running, exited: which container, and how it ended.
	Container string `json:"container,omitempty"`
	Init      bool   `json:"init,omitempty"`
	Code      int    `json:"code,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Message   string `json:"message,omitempty"`
	RestartIn string `json:"restartIn,omitempty"` // exited: restarts after this back-off; "": it does not
	// Changed, exited: it was stopped because this file changed (WatchPaths)
	// and restarts at once (RestartIn "0 s").
	Changed string `json:"changed,omitempty"`

	// stopping: the containers sent the stop signal, the grace period they
	// have, and those killed at once because the signal could not reach them.
	Waiting []string `json:"waiting,omitempty"`
	Grace   string   `json:"grace,omitempty"`
	Killed  []string `json:"killed,omitempty"`
}

// Phases, conditions and reasons: the Kubernetes API's and the kubelet's words.
const (
	PodPending   = "Pending"
	PodRunning   = "Running"
	PodSucceeded = "Succeeded"
	PodFailed    = "Failed"
	PodUnknown   = "Unknown"

	ConditionTrue  = "True"
	ConditionFalse = "False"

	PodScheduled              = "PodScheduled"
	PodInitialized            = "Initialized"
	ContainersReady           = "ContainersReady"
	PodReady                  = "Ready"
	PodReadyToStartContainers = "PodReadyToStartContainers"

	RestartAlways    = "Always"
	RestartOnFailure = "OnFailure"
	RestartNever     = "Never"

	EventTypeNormal  = "Normal"
	EventTypeWarning = "Warning"

	ReasonPodInitializing   = "PodInitializing"
	ReasonContainerCreating = "ContainerCreating"
	ReasonCrashLoopBackOff  = "CrashLoopBackOff"
	ReasonCompleted         = "Completed"
	ReasonGone              = "Gone" // podbox's own: the pod's process died
	ReasonError             = "Error"
	ReasonStartError        = "StartError"
	ReasonNetworkDown       = "NetworkDown"
	ReasonDeadlineExceeded  = "DeadlineExceeded"
	// MessageDeadlineExceeded is the kubelet's, for a pod past its
	// activeDeadlineSeconds.
	MessageDeadlineExceeded = "Pod was active on the node longer than the specified deadline"

	// ReasonEvicted is the kubelet's eviction: the pod's reason and the
	// event's. MessageEmptyDirLimit is its message for an emptyDir past its
	// sizeLimit (the volume's name, the limit).
	ReasonEvicted        = "Evicted"
	MessageEmptyDirLimit = "Usage of EmptyDir volume %q exceeds the limit %q. "

	EventScheduled   = "Scheduled"
	EventPulling     = "Pulling"
	EventPulled      = "Pulled"
	EventCreated     = "Created"
	EventStartedCtr  = "Started"
	EventKilling     = "Killing"
	EventBackOff     = "BackOff"
	EventFailed      = "Failed"
	EventCompleted   = "Completed"
	EventNetworkDown = "NetworkDown"
	EventUnhealthy   = "Unhealthy"

	EventFailedPostStartHook = "FailedPostStartHook"
	EventFailedPreStopHook   = "FailedPreStopHook"

	// EventSource is the From column of describe.
	EventSource = "podbox"
)

// Pod is GET /pod's answer: a v1.Pod in JSON.
type Pod struct {
	APIVersion string                     `json:"apiVersion"`
	Kind       string                     `json:"kind"`
	Metadata   map[string]json.RawMessage `json:"metadata"`
	Spec       json.RawMessage            `json:"spec"`
	Status     PodStatus                  `json:"status"`
}

// PodStatus is v1.PodStatus's JSON, the fields podbox fills.
type PodStatus struct {
	Phase                 string            `json:"phase,omitempty"`
	Conditions            []PodCondition    `json:"conditions,omitempty"`
	Message               string            `json:"message,omitempty"`
	Reason                string            `json:"reason,omitempty"`
	HostIP                string            `json:"hostIP,omitempty"`
	PodIP                 string            `json:"podIP,omitempty"`
	PodIPs                []PodIP           `json:"podIPs,omitempty"`
	StartTime             *time.Time        `json:"startTime,omitempty"`
	InitContainerStatuses []ContainerStatus `json:"initContainerStatuses,omitempty"`
	ContainerStatuses     []ContainerStatus `json:"containerStatuses,omitempty"`
	QOSClass              string            `json:"qosClass,omitempty"`
}

type PodIP struct {
	IP string `json:"ip"`
}

type PodCondition struct {
	Type               string    `json:"type"`
	Status             string    `json:"status"`
	LastTransitionTime time.Time `json:"lastTransitionTime,omitzero"`
	Reason             string    `json:"reason,omitempty"`
	Message            string    `json:"message,omitempty"`
}

// ContainerStatus is v1.ContainerStatus's JSON.
type ContainerStatus struct {
	Name                 string         `json:"name"`
	State                ContainerState `json:"state,omitzero"`
	LastTerminationState ContainerState `json:"lastState,omitzero"`
	Ready                bool           `json:"ready"`
	RestartCount         int32          `json:"restartCount"`
	Image                string         `json:"image"`
	ImageID              string         `json:"imageID"`
	ContainerID          string         `json:"containerID,omitempty"`
	Started              *bool          `json:"started,omitempty"`
}

type ContainerState struct {
	Waiting    *StateWaiting    `json:"waiting,omitempty"`
	Running    *StateRunning    `json:"running,omitempty"`
	Terminated *StateTerminated `json:"terminated,omitempty"`
}

type StateWaiting struct {
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

type StateRunning struct {
	StartedAt time.Time `json:"startedAt,omitzero"`
}

type StateTerminated struct {
	ExitCode    int32     `json:"exitCode"`
	Signal      int32     `json:"signal,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	Message     string    `json:"message,omitempty"`
	StartedAt   time.Time `json:"startedAt,omitzero"`
	FinishedAt  time.Time `json:"finishedAt,omitzero"`
	ContainerID string    `json:"containerID,omitempty"`
}

// Event is v1.Event's JSON.
type Event struct {
	APIVersion          string          `json:"apiVersion"`
	Kind                string          `json:"kind"`
	Metadata            EventMeta       `json:"metadata"`
	InvolvedObject      ObjectReference `json:"involvedObject"`
	Reason              string          `json:"reason,omitempty"`
	Message             string          `json:"message,omitempty"`
	Source              EventSourceRef  `json:"source,omitzero"`
	FirstTimestamp      time.Time       `json:"firstTimestamp,omitzero"`
	LastTimestamp       time.Time       `json:"lastTimestamp,omitzero"`
	Count               int32           `json:"count,omitempty"`
	Type                string          `json:"type,omitempty"`
	ReportingController string          `json:"reportingComponent"`
}

type EventMeta struct {
	Name              string    `json:"name"`
	Namespace         string    `json:"namespace,omitempty"`
	CreationTimestamp time.Time `json:"creationTimestamp,omitzero"`
}

type ObjectReference struct {
	Kind       string `json:"kind,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name,omitempty"`
	UID        string `json:"uid,omitempty"`
	APIVersion string `json:"apiVersion,omitempty"`
	FieldPath  string `json:"fieldPath,omitempty"`
}

type EventSourceRef struct {
	Component string `json:"component,omitempty"`
}

// EventList is GET /events's answer: a v1.EventList in JSON.
type EventList struct {
	APIVersion string  `json:"apiVersion"`
	Kind       string  `json:"kind"`
	Items      []Event `json:"items"`
}

// Saved is status.json: the pod and its events as last served, so that a
// pod whose process died still answers `get` and `describe`.
type Saved struct {
	Pod    *Pod    `json:"pod"`
	Events []Event `json:"events"`
}

// ExecRequest is POST /exec's body.
type ExecRequest struct {
	Container string   `json:"container,omitempty"`
	Command   []string `json:"command"`
	Stdin     bool     `json:"stdin,omitempty"`
	TTY       bool     `json:"tty,omitempty"`
	Rows      uint     `json:"rows,omitempty"` // the terminal's size, with TTY
	Cols      uint     `json:"cols,omitempty"`
	Term      string   `json:"term,omitempty"` // $TERM, with TTY
}

// ExecReply ends an exec.
type ExecReply struct {
	ExitCode int    `json:"exitCode"`
	Error    string `json:"error,omitempty"` // the runtime could not run the command
	// Shown: the runtime wrote Error to the client's own stderr already
	// (without a terminal, its stderr is the process's).
	Shown bool `json:"shown,omitempty"`
}

package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The control socket: HTTP+JSON on a unix socket in the pod's runtime dir.
//
//	GET  /pod     the v1.Pod with its status
//	GET  /events  the pod's events, a v1.EventList
//	POST /stop    stop the pod (202); it removes itself, then its process exits.
//	              ?gracePeriodSeconds=N shortens its grace period (0: SIGKILL now)
//	POST /exec    run a process in a container (exec.go): an execRequest,
//	              then 101 Switching Protocols and the stdio by SCM_RIGHTS
//
// The server also saves the pod and its events beside the socket
// (status.json) whenever they change, so that a pod whose process died
// still answers `get` and `describe` with its last known status.
type ctlServer struct {
	srv       *http.Server
	ln        net.Listener
	stopSaver chan struct{}
	saverDone chan struct{}
}

// podStatus is what the control socket serves; the pod's PID 1 is one.
type podStatus interface {
	snapshotPod() *corev1.Pod
	podEvents() []corev1.Event
	revision() int                    // changes whenever the pod or its events change
	requestStop(grace *time.Duration) // nil: the pod's own grace period
	execHandler() http.HandlerFunc
}

// savedPod is status.json: the pod and its events as last served.
type savedPod struct {
	Pod    *corev1.Pod    `json:"pod"`
	Events []corev1.Event `json:"events"`
}

func statusFile(sock string) string { return filepath.Join(filepath.Dir(sock), "status.json") }

func serveCtl(sock string, pod podStatus) (*ctlServer, error) {
	_ = os.Remove(sock)
	short, done, err := sockPath(sock)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", short)
	done()
	if err != nil {
		return nil, err
	}
	if short != sock {
		// The name it was bound by is gone with the descriptor; the
		// socket goes with the pod's directory.
		ln.(*net.UnixListener).SetUnlinkOnClose(false)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /pod", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(pod.snapshotPod())
	})
	mux.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		list := corev1.EventList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "List"}, Items: pod.podEvents()}
		_ = json.NewEncoder(w).Encode(list)
	})
	mux.HandleFunc("POST /stop", func(w http.ResponseWriter, r *http.Request) {
		var grace *time.Duration
		if v := r.URL.Query().Get("gracePeriodSeconds"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				http.Error(w, "gracePeriodSeconds: not a number of seconds: "+v, http.StatusBadRequest)
				return
			}
			grace = ptr(time.Duration(n) * time.Second)
		}
		pod.requestStop(grace)
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("POST /exec", pod.execHandler())
	s := &ctlServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln: ln,
		stopSaver: make(chan struct{}), saverDone: make(chan struct{})}
	go func() { _ = s.srv.Serve(ln) }()
	go s.save(statusFile(sock), pod)
	return s, nil
}

// save writes status.json when the pod changes, checking a few times a
// second, until close.
func (s *ctlServer) save(path string, pod podStatus) {
	defer close(s.saverDone)
	last := -1
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		if rev := pod.revision(); rev != last {
			last = rev
			b, err := json.Marshal(savedPod{Pod: pod.snapshotPod(), Events: pod.podEvents()})
			if err == nil {
				tmp := path + ".tmp"
				if os.WriteFile(tmp, b, 0o600) == nil {
					_ = os.Rename(tmp, path)
				}
			}
		}
		select {
		case <-tick.C:
		case <-s.stopSaver:
			return
		}
	}
}

// close stops serving and saving; what is saved stays until the pod's
// directory is removed.
func (s *ctlServer) close() {
	close(s.stopSaver)
	<-s.saverDone
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
}

// ctlClient talks to one pod's control socket.
type ctlClient struct {
	c *http.Client
}

func newCtlClient(sock string) *ctlClient {
	return &ctlClient{c: &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			short, done, err := sockPath(sock)
			if err != nil {
				return nil, err
			}
			defer done()
			var d net.Dialer
			return d.DialContext(ctx, "unix", short)
		}},
	}}
}

// errCtlDead reports a control socket nobody answers on.
var errCtlDead = errors.New("control socket not answering")

// getJSON GETs path from the pod's control socket and decodes its answer
// into v; what names the value in errors.
func (c *ctlClient) getJSON(ctx context.Context, path, what string, v any) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://pod"+path, nil)
	resp, err := c.c.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", errCtlDead, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("control socket: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("reading the pod's %s: %w", what, err)
	}
	return nil
}

func (c *ctlClient) pod(ctx context.Context) (*corev1.Pod, error) {
	var p corev1.Pod
	if err := c.getJSON(ctx, "/pod", "status", &p); err != nil {
		return nil, err
	}
	return &p, nil
}

func (c *ctlClient) events(ctx context.Context) ([]corev1.Event, error) {
	var l corev1.EventList
	if err := c.getJSON(ctx, "/events", "events", &l); err != nil {
		return nil, err
	}
	return l.Items, nil
}

// stop asks the pod to stop; grace, if not negative, is the grace period
// in seconds instead of the pod's.
func (c *ctlClient) stop(ctx context.Context, grace int) error {
	u := "http://pod/stop"
	if grace >= 0 {
		u += "?gracePeriodSeconds=" + strconv.Itoa(grace)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	resp, err := c.c.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", errCtlDead, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("control socket: %s", resp.Status)
	}
	return nil
}

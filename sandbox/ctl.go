package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// The control socket: HTTP+JSON on a unix socket in the pod's runtime dir.
//
//	GET  /pod   the v1.Pod with its status
//	POST /stop  stop the pod (202); it removes itself, then its process exits
type ctlServer struct {
	srv *http.Server
	ln  net.Listener
}

// podStatus is what the control socket serves; the pod's PID 1 is one.
type podStatus interface {
	snapshotPod() *corev1.Pod
	requestStop()
}

func serveCtl(sock string, pod podStatus) (*ctlServer, error) {
	_ = os.Remove(sock)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /pod", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(pod.snapshotPod())
	})
	mux.HandleFunc("POST /stop", func(w http.ResponseWriter, r *http.Request) {
		pod.requestStop()
		w.WriteHeader(http.StatusAccepted)
	})
	s := &ctlServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln: ln}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *ctlServer) close() {
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
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}},
	}}
}

// errCtlDead reports a control socket nobody answers on.
var errCtlDead = errors.New("control socket not answering")

func (c *ctlClient) pod(ctx context.Context) (*corev1.Pod, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://pod/pod", nil)
	resp, err := c.c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errCtlDead, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("control socket: %s", resp.Status)
	}
	var p corev1.Pod
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		return nil, fmt.Errorf("reading the pod's status: %w", err)
	}
	return &p, nil
}

func (c *ctlClient) stop(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://pod/stop", nil)
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

package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// The control socket (served by the pod's PID 1, sandbox/pod ctl.go):
// HTTP+JSON on a unix socket in the pod's runtime dir, GET /pod, GET
// /events, POST /stop, POST /exec. The pod answers in the JSON of a v1.Pod
// and a v1.EventList, which the client decodes into the corev1 types.

// savedPod is status.json, which the pod's PID 1 writes beside its socket
// (podproto.Saved): the pod and its events as last served.
type savedPod struct {
	Pod    *corev1.Pod    `json:"pod"`
	Events []corev1.Event `json:"events"`
}

func statusFile(sock string) string { return filepath.Join(filepath.Dir(sock), "status.json") }

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

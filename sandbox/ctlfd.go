package sandbox

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/podbox/podbox/sandbox/podproto"
	"golang.org/x/sys/unix"
)

// ctlError is a refusal of the pod's control socket: its HTTP status and
// its message.
type ctlError struct {
	status int
	msg    string
}

func (e *ctlError) Error() string { return e.msg }

// ctlFD POSTs path on the control socket sock and returns the descriptor
// the pod passes after 101 Switching Protocols, with the bytes sent with
// it (port-forward and cp: sandbox/pod/tools.go). A refusal is a
// *ctlError; a socket nobody answers on wraps errCtlDead.
func ctlFD(ctx context.Context, sock, path string) (*os.File, []byte, error) {
	short, done, err := sockPath(sock)
	if err != nil {
		return nil, nil, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", short)
	done()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errCtlDead, err)
	}
	conn := c.(*net.UnixConn)
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://pod"+path, nil)
	if err := req.Write(conn); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errCtlDead, err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errCtlDead, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer resp.Body.Close()
		var e struct {
			Error string `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		if e.Error == "" {
			e.Error = resp.Status
		}
		return nil, nil, &ctlError{resp.StatusCode, e.Error}
	}
	if br.Buffered() != 0 {
		return nil, nil, errors.New("unexpected data after the upgrade")
	}
	// The descriptor comes once the answer is read: a read of the
	// answer's head must not take its byte, or the descriptor is lost.
	if _, err := conn.Write([]byte{0}); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errCtlDead, err)
	}
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, nil, fmt.Errorf("receiving the descriptor: %w", err)
	}
	fds, err := podproto.ParseRights(oob[:oobn])
	if err == nil && len(fds) != 1 {
		err = fmt.Errorf("got %d descriptors, want 1", len(fds))
	}
	if err != nil {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, nil, fmt.Errorf("receiving the descriptor: %w", err)
	}
	unix.CloseOnExec(fds[0])
	return os.NewFile(uintptr(fds[0]), "pod-fd"), buf[:n], nil
}

package pod

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/podbox/podbox/sandbox/podproto"
	"golang.org/x/sys/unix"
)

// postFD is the CLI's side of POST /portforward (sandbox/ctlfd.go), short.
func postFD(t *testing.T, sock, path string) (int, []byte, int) {
	t.Helper()
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	req, _ := http.NewRequest(http.MethodPost, "http://pod"+path, nil)
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b, -1
	}
	if _, err := conn.Write([]byte{0}); err != nil {
		t.Fatal(err)
	}
	buf, oob := make([]byte, 64), make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		t.Fatal(err)
	}
	fds, err := podproto.ParseRights(oob[:oobn])
	if err != nil || len(fds) != 1 {
		t.Fatalf("got descriptors %v, %v; want one", fds, err)
	}
	return resp.StatusCode, buf[:n], fds[0]
}

func TestPortForwardPassesAConnectedSocket(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_, _ = c.Write([]byte("hello"))
			c.Close()
		}
	}()
	p := &podProc{}
	_, sock := serveTest(t, p.serveCtlRequest)
	port := ln.Addr().(*net.TCPAddr).Port

	status, payload, fd := postFD(t, sock, "/portforward?port="+strconv.Itoa(port))
	if status != 101 || string(payload) != "f" {
		t.Fatalf("got %d %q; want 101 and the socket", status, payload)
	}
	defer unix.Close(fd)
	buf := make([]byte, 16)
	n, _ := unix.Read(fd, buf)
	if string(buf[:n]) != "hello" {
		t.Errorf("read %q through the passed socket; want hello", buf[:n])
	}

	// Nothing listens: 502 with the dial's error, and no descriptor.
	ln.Close()
	status, payload, _ = postFD(t, sock, "/portforward?port="+strconv.Itoa(port))
	if status != 502 {
		t.Errorf("refused port: got %d %s; want 502", status, payload)
	}
	for _, bad := range []string{"0", "65536", "x", ""} {
		if status, _, _ := postFD(t, sock, "/portforward?port="+bad); status != 400 {
			t.Errorf("port %q: got %d; want 400", bad, status)
		}
	}
}

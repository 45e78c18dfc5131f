package relay

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"testing"
	"time"
)

// hostSocket binds a socket as the CLI does for a hostPort, on a port the
// kernel picks, and returns its spec and file.
func hostSocket(t *testing.T, proto string, childPort int) (Spec, *os.File) {
	t.Helper()
	var (
		f    *os.File
		port int
		err  error
	)
	switch proto {
	case "tcp":
		l, lerr := net.Listen("tcp", "127.0.0.1:0")
		if lerr != nil {
			t.Fatal(lerr)
		}
		defer l.Close()
		port = l.Addr().(*net.TCPAddr).Port
		f, err = l.(*net.TCPListener).File()
	case "udp":
		c, lerr := net.ListenPacket("udp", "127.0.0.1:0")
		if lerr != nil {
			t.Fatal(lerr)
		}
		defer c.Close()
		port = c.LocalAddr().(*net.UDPAddr).Port
		f, err = c.(*net.UDPConn).File()
	}
	if err != nil {
		t.Fatal(err)
	}
	return Spec{Proto: proto, ParentIP: "127.0.0.1", ParentPort: port, ChildPort: childPort}, f
}

// TestForward runs the relay in this process's network namespace: host
// socket and server both on 127.0.0.1.
func TestForward(t *testing.T) {
	// The pod's TCP server: reads what the client sends until its
	// half-close, then answers with its length, what it read and a payload
	// of its own, and closes.
	down := make([]byte, 4<<20)
	_, _ = rand.Read(down)
	srv, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	go func() {
		for {
			c, err := srv.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				got, _ := io.ReadAll(c)
				_, _ = c.Write([]byte(strconv.Itoa(len(got)) + "\n"))
				_, _ = c.Write(got)
				_, _ = c.Write(down)
			}()
		}
	}()
	usrv, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer usrv.Close()
	go func() {
		b := make([]byte, 100)
		for {
			n, a, err := usrv.ReadFrom(b)
			if err != nil {
				return
			}
			_, _ = usrv.WriteTo(append([]byte("echo:"), b[:n]...), a)
		}
	}()
	ts, tf := hostSocket(t, "tcp", srv.Addr().(*net.TCPAddr).Port)
	us, uf := hostSocket(t, "udp", usrv.LocalAddr().(*net.UDPAddr).Port)
	fw, err := Forward([]Spec{ts, us}, []*os.File{tf, uf})
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
	taddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ts.ParentPort))

	t.Run("tcp both ways with half-close", func(t *testing.T) {
		up := make([]byte, 3<<20)
		_, _ = rand.Read(up)
		c, err := net.Dial("tcp", taddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		go func() {
			_, _ = c.Write(up)
			_ = c.(*net.TCPConn).CloseWrite()
		}()
		got, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		want := append([]byte(strconv.Itoa(len(up))+"\n"), up...)
		want = append(want, down...)
		if !bytes.Equal(got, want) {
			t.Fatalf("got %d bytes, want %d: the upload echoed, then the server's own", len(got), len(want))
		}
	})
	t.Run("tcp: several clients at once", func(t *testing.T) {
		errs := make(chan error, 4)
		for range 4 {
			go func() {
				c, err := net.Dial("tcp", taddr)
				if err != nil {
					errs <- err
					return
				}
				defer c.Close()
				_ = c.(*net.TCPConn).CloseWrite()
				got, err := io.ReadAll(c)
				if err == nil && !bytes.Equal(got, append([]byte("0\n"), down...)) {
					err = io.ErrUnexpectedEOF
				}
				errs <- err
			}()
		}
		for range 4 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("udp", func(t *testing.T) {
		c, err := net.Dial("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(us.ParentPort)))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		for _, w := range []string{"one", "two"} {
			if _, err := c.Write([]byte(w)); err != nil {
				t.Fatal(err)
			}
			b := make([]byte, 100)
			n, err := c.Read(b)
			if err != nil || string(b[:n]) != "echo:"+w {
				t.Fatalf("got %q, %v", b[:n], err)
			}
		}
	})

	t.Run("Close frees the ports and ends live connections", func(t *testing.T) {
		// A client whose connection is open (the server waits for
		// its half-close) when the relay closes.
		c, err := net.Dial("tcp", taddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := fw.Close(); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		// EOF or a reset (the relay had unread bytes), not a timeout.
		if _, err := io.ReadAll(c); errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal("the client's connection stayed open after Close")
		}
		l, err := net.Listen("tcp", taddr)
		if err != nil {
			t.Fatalf("binding the TCP port after Close: %v", err)
		}
		l.Close()
		u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(us.ParentPort)))
		if err != nil {
			t.Fatalf("binding the UDP port after Close: %v", err)
		}
		u.Close()
		if err := fw.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	})
}

func TestForwardErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		specs []Spec
		want  string
	}{
		{"count mismatch", nil, "forwarding ports: 0 specs for 1 sockets"},
		{"sctp", []Spec{{Proto: "sctp", ParentPort: 9}}, `hostPort 9: using the host socket: protocol "sctp" is not forwarded`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, f := hostSocket(t, "tcp", 1)
			_, err := Forward(tc.specs, []*os.File{f})
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if f.Fd() != ^uintptr(0) {
				t.Fatal("the file was not closed")
			}
		})
	}
}

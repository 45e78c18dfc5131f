package slirp

import (
	"bytes"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rootless-containers/rootlesskit/v3/pkg/port"
)

func TestNewSpec(t *testing.T) {
	for _, tc := range []struct {
		name          string
		proto, hostIP string
		host, ctr     int
		want          port.Spec
		err           string
	}{
		{"default: tcp on 127.0.0.1", "", "", 8001, 8080, port.Spec{Proto: "tcp", ParentIP: "127.0.0.1", ParentPort: 8001, ChildPort: 8080}, ""},
		{"UDP on a given hostIP", "UDP", "0.0.0.0", 53, 5353, port.Spec{Proto: "udp", ParentIP: "0.0.0.0", ParentPort: 53, ChildPort: 5353}, ""},
		{"SCTP", "SCTP", "", 9, 9, port.Spec{}, "hostPort 9: protocol \"SCTP\" is not forwarded"},
		{"bad port", "TCP", "", 70000, 80, port.Spec{}, "hostPort 70000: invalid ParentPort: 70000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NewSpec(tc.proto, tc.hostIP, tc.host, tc.ctr)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// bindFree binds a spec on a port the kernel picks.
func bindFree(t *testing.T, proto string, child int) (*HostSockets, int) {
	t.Helper()
	for range 20 {
		p := 20000 + int(time.Now().UnixNano()%20000)
		s, err := NewSpec(proto, "", p, child)
		if err != nil {
			t.Fatal(err)
		}
		hs, err := Bind([]port.Spec{s})
		if err == nil {
			return hs, p
		}
	}
	t.Fatal("no free port")
	return nil, 0
}

func TestBindInUse(t *testing.T) {
	hs, p := bindFree(t, "tcp", 1)
	defer hs.Close()
	s, _ := NewSpec("TCP", "", p, 1)
	err := CheckFree([]port.Spec{s})
	want := "hostPort " + strconv.Itoa(p) + ": 127.0.0.1:" + strconv.Itoa(p) + " is in use by another process"
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
}

// TestForward runs the builtin forwarder in this process's network
// namespace: host socket and server both on 127.0.0.1.
func TestForward(t *testing.T) {
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
			go func() { // echo until the client half-closes, then a trailer
				_, _ = io.Copy(c, c)
				_, _ = c.Write([]byte("bye"))
				_ = c.Close()
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
	ths, tp := bindFree(t, "tcp", srv.Addr().(*net.TCPAddr).Port)
	uhs, up := bindFree(t, "udp", usrv.LocalAddr().(*net.UDPAddr).Port)
	fw, err := Forward(append(ths.Specs, uhs.Specs...), append(ths.Files, uhs.Files...))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("tcp with half-close", func(t *testing.T) {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(tp))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		payload := bytes.Repeat([]byte("0123456789"), 100000)
		go func() {
			_, _ = c.Write(payload)
			_ = c.(*net.TCPConn).CloseWrite()
		}()
		got, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, append(payload, "bye"...)) {
			t.Fatalf("got %d bytes, want %d and the trailer", len(got), len(payload)+3)
		}
	})
	t.Run("udp", func(t *testing.T) {
		c, err := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(up))
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

	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	s, _ := NewSpec("TCP", "", tp, 1)
	if err := CheckFree([]port.Spec{s}); err != nil {
		t.Fatalf("after Close: %v", err)
	}
}

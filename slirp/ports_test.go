package slirp

import (
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podbox/podbox/slirp/relay"
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

// TestBindForward checks that what Bind makes is what relay.Forward serves
// (the relay's own tests cover the forwarding).
func TestBindForward(t *testing.T) {
	srv, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	go func() {
		c, err := srv.Accept()
		if err != nil {
			return
		}
		_, _ = c.Write([]byte("hello"))
		_ = c.Close()
	}()
	hs, p := bindFree(t, "tcp", srv.Addr().(*net.TCPAddr).Port)
	// The pod's PID 1 turns the specs into relay's (sandbox/pod ports.go,
	// from podproto.Port).
	sp := hs.Specs[0]
	fw, err := relay.Forward([]relay.Spec{{Proto: sp.Proto, ParentIP: sp.ParentIP, ParentPort: sp.ParentPort, ChildPort: sp.ChildPort}}, hs.Files)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "hello" {
		t.Fatalf("got %q, %v", got, err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	s, _ := NewSpec("TCP", "", p, 1)
	if err := CheckFree([]port.Spec{s}); err != nil {
		t.Fatalf("after Close: %v", err)
	}
}

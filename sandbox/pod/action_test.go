package pod

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/podbox/podbox/sandbox/podproto"
)

// serveOnce answers one request on a local listener with status and
// returns the port and the request's header lines.
func serveOnce(t *testing.T, status string) (int, <-chan []string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got := make(chan []string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		var lines []string
		for {
			l, err := br.ReadString('\n')
			if err != nil || l == "\r\n" {
				break
			}
			lines = append(lines, strings.TrimRight(l, "\r\n"))
		}
		got <- lines
		_, _ = c.Write([]byte("HTTP/1.1 " + status + "\r\nContent-Length: 0\r\n\r\n"))
	}()
	return ln.Addr().(*net.TCPAddr).Port, got
}

func TestHTTPGet(t *testing.T) {
	port, req := serveOnce(t, "404 Not Found")
	h := &podproto.HTTPGet{Scheme: "HTTP", Host: "127.0.0.1", Port: port, Path: "/healthz",
		Headers: []podproto.Header{{Name: "Host", Value: "example.test"}, {Name: "X-Probe", Value: "1"}}}
	code, err := httpGet(context.Background(), h, 2*time.Second)
	if err != nil || code != 404 {
		t.Fatalf("got %d, %v; want 404", code, err)
	}
	lines := <-req
	want := []string{"GET /healthz HTTP/1.1", "Host: example.test", "User-Agent: kube-probe/1.33", "Accept: */*", "X-Probe: 1", "Connection: close"}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("request %q, want %q", lines, want)
	}
}

func TestHTTPGetRefusedAndSilent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	// Accepts, never answers: the timeout says so.
	go func() {
		c, err := ln.Accept()
		if err == nil {
			time.Sleep(2 * time.Second)
			c.Close()
		}
	}()
	start := time.Now()
	_, err = httpGet(context.Background(), &podproto.HTTPGet{Scheme: "HTTP", Host: "127.0.0.1", Port: port, Path: "/"}, 200*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "no answer within 200ms") || time.Since(start) > time.Second {
		t.Errorf("a silent server: %v after %s", err, time.Since(start))
	}
	ln.Close()
	_, err = httpGet(context.Background(), &podproto.HTTPGet{Scheme: "HTTP", Host: "127.0.0.1", Port: port, Path: "/"}, time.Second)
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("a closed port: %v", err)
	}
}

package pod

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serveTest serves handle on a unix socket and returns a net/http client
// for it, as the CLI's ctlClient makes one.
func serveTest(t *testing.T, handle func(w *responder, r *request)) (*http.Client, string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "ctl.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go serveHTTP(ln, handle)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}}}
	return c, sock
}

func TestHTTPWithNetHTTPClient(t *testing.T) {
	type seen struct {
		method, path, grace string
		body                string
	}
	got := make(chan seen, 10)
	c, _ := serveTest(t, func(w *responder, r *request) {
		got <- seen{r.method, r.path, r.query.Get("gracePeriodSeconds"), string(r.body)}
		switch r.path {
		case "/pod":
			w.reply(200, map[string]string{"kind": "Pod"})
		case "/stop":
			w.reply(202, nil)
		default:
			w.fail(404, "not found: "+r.path)
		}
	})
	for _, tc := range []struct {
		name, method, url, body string
		status                  int
		answer                  string
		want                    seen
	}{
		{"GET", "GET", "http://pod/pod", "", 200, `{"kind":"Pod"}`, seen{"GET", "/pod", "", ""}},
		{"POST with query, no body", "POST", "http://pod/stop?gracePeriodSeconds=3", "", 202, "", seen{"POST", "/stop", "3", ""}},
		{"POST with a body", "POST", "http://pod/nothing", `{"a":1}`, 404, `{"error":"not found: /nothing"}`, seen{"POST", "/nothing", "", `{"a":1}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req, _ := http.NewRequest(tc.method, tc.url, body)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || strings.TrimSpace(string(b)) != tc.answer {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, b, tc.status, tc.answer)
			}
			if s := <-got; s != tc.want {
				t.Errorf("server saw %+v, want %+v", s, tc.want)
			}
		})
	}
}

// POST /exec: the client writes its request with net/http, reads 101 with
// http.ReadResponse, then both sides own the connection.
func TestHTTPUpgrade(t *testing.T) {
	_, sock := serveTest(t, func(w *responder, r *request) {
		uc := w.upgrade("podbox-exec")
		if uc == nil {
			return
		}
		b := make([]byte, 1)
		if _, err := uc.Read(b); err != nil {
			return
		}
		_ = json.NewEncoder(uc).Encode(map[string]string{"got": string(b) + string(r.body)})
	})
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req, _ := http.NewRequest("POST", "http://pod/exec", bytes.NewReader([]byte(`{"command":["x"]}`)))
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || br.Buffered() != 0 {
		t.Fatalf("got %s, %d bytes buffered", resp.Status, br.Buffered())
	}
	if _, err := conn.Write([]byte("!")); err != nil {
		t.Fatal(err)
	}
	var reply map[string]string
	if err := json.NewDecoder(br).Decode(&reply); err != nil {
		t.Fatal(err)
	}
	if reply["got"] != `!{"command":["x"]}` {
		t.Errorf("got %q", reply["got"])
	}
}

func TestHTTPLimits(t *testing.T) {
	_, sock := serveTest(t, func(w *responder, r *request) { w.reply(200, nil) })
	for _, tc := range []struct {
		name, req string
		want      string // the status line's start; "": the connection just closes
	}{
		{"headers too large", "GET /pod HTTP/1.1\r\nX: " + strings.Repeat("a", maxHeader) + "\r\n\r\n", "HTTP/1.1 413 "},
		{"body too large", "POST /exec HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n", "HTTP/1.1 413 "},
		{"chunked", "POST /exec HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "HTTP/1.1 400 "},
		{"not HTTP", "hello\r\n\r\n", "HTTP/1.1 400 "},
		{"well formed", "GET /pod HTTP/1.1\r\nHost: pod\r\n\r\n", "HTTP/1.1 200 OK"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			go func() { _, _ = conn.Write([]byte(tc.req)) }()
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			line, _ := bufio.NewReader(conn).ReadString('\n')
			if !strings.HasPrefix(line, tc.want) {
				t.Errorf("got %q, want %q…", line, tc.want)
			}
		})
	}
}

// A client that sends nothing is dropped after readTimeout.
func TestHTTPReadDeadline(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the read deadline")
	}
	_, sock := serveTest(t, func(w *responder, r *request) { w.reply(200, nil) })
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(readTimeout + 5*time.Second))
	start := time.Now()
	n, err := conn.Read(make([]byte, 1))
	if err == nil || n != 0 || time.Since(start) > readTimeout+4*time.Second {
		t.Errorf("after %s: %v; want the server to hang up after %s", time.Since(start), err, readTimeout)
	}
}

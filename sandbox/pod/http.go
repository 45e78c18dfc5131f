package pod

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// The control socket's HTTP: just what net/http's client sends and reads
// (the CLI's ctlClient and Exec), without net/http in the pod's process.
// One request per connection (every answer says Connection: close), its
// request line and headers within maxHeader bytes, its body within maxBody
// bytes and given by Content-Length, all of it within readTimeout.
const (
	maxHeader   = 16 << 10
	maxBody     = 1 << 20
	readTimeout = 5 * time.Second
)

// request is one request to the control socket.
type request struct {
	method string
	path   string
	query  url.Values
	header map[string]string // lower-case names
	body   []byte
}

// errTooLarge is a request whose headers or body are over the limits.
var errTooLarge = errors.New("request too large")

// readRequest reads one request from br.
func readRequest(br *bufio.Reader) (*request, error) {
	n := 0
	line := func() (string, error) {
		var b []byte
		for {
			frag, err := br.ReadSlice('\n')
			n += len(frag)
			if n > maxHeader {
				return "", errTooLarge
			}
			b = append(b, frag...)
			if err == bufio.ErrBufferFull {
				continue
			}
			if err != nil {
				return "", err
			}
			return strings.TrimRight(string(b), "\r\n"), nil
		}
	}
	first, err := line()
	if err != nil {
		return nil, err
	}
	method, rest, ok1 := strings.Cut(first, " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || !strings.HasPrefix(proto, "HTTP/1.") || method == "" {
		return nil, fmt.Errorf("malformed request line %.64q", first)
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, fmt.Errorf("malformed request target %.64q", target)
	}
	r := &request{method: method, path: u.Path, header: map[string]string{}}
	if r.query, err = url.ParseQuery(u.RawQuery); err != nil {
		return nil, fmt.Errorf("malformed query %.64q", u.RawQuery)
	}
	for {
		l, err := line()
		if err != nil {
			return nil, err
		}
		if l == "" {
			break
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			return nil, fmt.Errorf("malformed header line %.64q", l)
		}
		r.header[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	if te := r.header["transfer-encoding"]; te != "" && !strings.EqualFold(te, "identity") {
		return nil, fmt.Errorf("transfer-encoding %q: only Content-Length bodies", te)
	}
	if cl := r.header["content-length"]; cl != "" {
		size, err := strconv.Atoi(cl)
		if err != nil || size < 0 {
			return nil, fmt.Errorf("malformed content-length %.32q", cl)
		}
		if size > maxBody {
			return nil, errTooLarge
		}
		r.body = make([]byte, size)
		if _, err := io.ReadFull(br, r.body); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// responder answers one request, once.
type responder struct {
	conn    *net.UnixConn
	br      *bufio.Reader
	replied bool
}

var statusText = map[int]string{
	101: "Switching Protocols",
	200: "OK",
	202: "Accepted",
	400: "Bad Request",
	404: "Not Found",
	405: "Method Not Allowed",
	409: "Conflict",
	413: "Request Entity Too Large",
	500: "Internal Server Error",
	502: "Bad Gateway",
}

// reply answers with status and v as JSON (no body if v is nil).
func (w *responder) reply(status int, v any) {
	if w.replied {
		return
	}
	w.replied = true
	var body []byte
	hdr := ""
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			status, b = 500, []byte(`{"error":"encoding the answer"}`)
		}
		body = append(b, '\n')
		hdr = "Content-Type: application/json\r\n"
	}
	head := fmt.Sprintf("HTTP/1.1 %d %s\r\n%sContent-Length: %d\r\nConnection: close\r\n\r\n", status, statusText[status], hdr, len(body))
	_ = w.conn.SetWriteDeadline(time.Now().Add(readTimeout))
	_, _ = w.conn.Write(append([]byte(head), body...))
}

// fail answers with status and {"error": msg}.
func (w *responder) fail(status int, msg string) {
	w.reply(status, map[string]string{"error": msg})
}

// upgrade answers 101 Switching Protocols and hands over the connection,
// with no deadline; nil if the client sent more than its request (its
// next bytes must come by themselves, with SCM_RIGHTS).
func (w *responder) upgrade(proto string) *net.UnixConn {
	if w.replied || w.br.Buffered() != 0 {
		return nil
	}
	w.replied = true
	_ = w.conn.SetDeadline(time.Time{})
	if _, err := w.conn.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: " + proto + "\r\nConnection: Upgrade\r\n\r\n")); err != nil {
		return nil
	}
	return w.conn
}

// serveHTTP accepts connections on ln until it is closed and answers one
// request on each with handle.
func serveHTTP(ln *net.UnixListener, handle func(w *responder, r *request)) {
	for {
		conn, err := ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // EMFILE and the like: do not spin
			continue
		}
		go serveConn(conn, handle)
	}
}

func serveConn(conn *net.UnixConn, handle func(w *responder, r *request)) {
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(readTimeout))
	br := bufio.NewReaderSize(conn, 4096)
	w := &responder{conn: conn, br: br}
	r, err := readRequest(br)
	switch {
	case errors.Is(err, errTooLarge):
		w.fail(413, err.Error())
		return
	case err != nil:
		// A client that hung up or went silent gets nothing more.
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, os.ErrDeadlineExceeded) {
			w.fail(400, err.Error())
		}
		return
	}
	handle(w, r)
	if !w.replied {
		w.reply(500, nil)
	}
}

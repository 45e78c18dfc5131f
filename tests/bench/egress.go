package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// egress is the host's server on 127.0.0.1 that pods reach at 10.0.2.2
// (slirp4netns with host loopback allowed):
//
//	GET /ready/POD/CTR   a container says it runs (the scale metric)
//	GET /big/KEY         waits until the bench opens the gate, then sends the
//	                     flow's bytes (the egress throughput metric)
//	GET /done/KEY        the client read them all: the flow's end
type egress struct {
	port  int
	mu    sync.Mutex
	flows map[string]*flow
	want  map[string]bool
	ready chan struct{}
}

type flow struct {
	size    int64
	arrived chan struct{} // the /big request is here
	gate    chan struct{} // closed: send
	start   time.Time
	done    chan time.Time
}

func newEgress() (*egress, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e := &egress{port: l.Addr().(*net.TCPAddr).Port, flows: map[string]*flow{}}
	go func() { _ = http.Serve(l, e) }()
	return e, nil
}

func (e *egress) expect(key string) *flow {
	f := &flow{arrived: make(chan struct{}), gate: make(chan struct{}), done: make(chan time.Time, 1)}
	e.mu.Lock()
	e.flows[key] = f
	e.mu.Unlock()
	return f
}

func (e *egress) forget(key string) {
	e.mu.Lock()
	delete(e.flows, key)
	e.mu.Unlock()
}

// watchReady returns a channel closed once every key of want (POD/CTR) has
// signalled.
func (e *egress) watchReady(want map[string]bool) <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.want = want
	e.ready = make(chan struct{})
	return e.ready
}

func (e *egress) unwatch() {
	e.mu.Lock()
	e.want, e.ready = nil, nil
	e.mu.Unlock()
}

var zeros = make([]byte, 1<<20)

func (e *egress) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)
	if len(parts) != 2 {
		http.NotFound(w, r)
		return
	}
	switch parts[0] {
	case "ready":
		e.mu.Lock()
		if e.want != nil && e.want[parts[1]] {
			delete(e.want, parts[1])
			if len(e.want) == 0 {
				close(e.ready)
				e.want = nil
			}
		}
		e.mu.Unlock()
		fmt.Fprintln(w, "ok")
	case "big":
		e.mu.Lock()
		f := e.flows[parts[1]]
		e.mu.Unlock()
		if f == nil {
			http.NotFound(w, r)
			return
		}
		select {
		case <-f.arrived:
		default:
			close(f.arrived)
		}
		select {
		case <-f.gate:
		case <-time.After(flowDeadline):
			http.Error(w, "gate never opened", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(f.size))
		for left := f.size; left > 0; {
			n := min(int64(len(zeros)), left)
			if _, err := w.Write(zeros[:n]); err != nil {
				return
			}
			left -= n
		}
	case "done":
		e.mu.Lock()
		f := e.flows[parts[1]]
		e.mu.Unlock()
		if f != nil {
			select {
			case f.done <- time.Now():
			default:
			}
		}
		fmt.Fprintln(w, "ok")
	default:
		http.NotFound(w, r)
	}
}

// run waits for the client's request, opens the gate and returns MB/s from
// then until the client's /done.
func (f *flow) run(size int64) (float64, error) {
	f.size = size
	select {
	case <-f.arrived:
	case <-time.After(upDeadline):
		return 0, errors.New("the pod's wget never reached the host (10.0.2.2): host loopback not allowed?")
	}
	f.start = time.Now()
	close(f.gate)
	select {
	case end := <-f.done:
		return mbPerSec(size, end.Sub(f.start)), nil
	case <-time.After(flowDeadline):
		return 0, fmt.Errorf("the pod did not finish %d bytes within %s", size, flowDeadline)
	}
}

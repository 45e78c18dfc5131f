package sandbox

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/podbox/podbox/sandbox/podproto"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func TestProbeHelperHTTPS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Probe") != "podbox" || r.UserAgent() != "kube-probe/1.33" {
			w.WriteHeader(400)
			return
		}
		if r.URL.Path == "/healthz" {
			w.WriteHeader(204)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().(*net.TCPAddr)
	for path, want := range map[string]int{"/healthz": 204, "/missing": 404} {
		job := podproto.ProbeJob{Host: "127.0.0.1", Timeout: 5 * time.Second, HTTPGet: &podproto.HTTPGet{
			Scheme: "HTTPS", Port: addr.Port, Path: path, Headers: []podproto.Header{{Name: "X-Probe", Value: "podbox"}}}}
		code, err := httpsGet(context.Background(), job)
		if err != nil || code != want {
			t.Errorf("%s: got %d, %v; want %d (self-signed: not verified)", path, code, err, want)
		}
	}
}

func TestProbeHelperGRPC(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("db", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(s, hs)
	go func() { _ = s.Serve(ln) }()
	defer s.Stop()
	port := ln.Addr().(*net.TCPAddr).Port
	check := func(service string) (string, int) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return grpcHealth(ctx, podproto.ProbeJob{Host: "127.0.0.1", Timeout: 5 * time.Second, GRPC: &podproto.GRPC{Port: port, Service: service}})
	}
	if msg, code := check(""); code != podproto.ProbeOK {
		t.Errorf("serving: %d %s", code, msg)
	}
	if msg, code := check("db"); code != podproto.ProbeUnhealthy || msg != `service unhealthy (responded with "NOT_SERVING")` {
		t.Errorf("not serving: %d %s", code, msg)
	}
	if msg, code := check("nope"); code != podproto.ProbeError {
		t.Errorf("unknown service: %d %s", code, msg)
	}
}

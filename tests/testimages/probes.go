package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// probesServe is `testimages -serve-probes GRPC_ADDR HTTPS_ADDR`, run in a
// container (tests/490-probes.bats): a grpc.health.v1 server on GRPC_ADDR
// and an HTTPS server (a self-signed certificate) on HTTPS_ADDR whose
// /healthz answers 200. Both turn unhealthy (NOT_SERVING, 500) while the
// file /tmp/unhealthy exists.
func probesServe(grpcAddr, httpsAddr string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "testimages:", err)
		os.Exit(1)
	}
	unhealthy := func() bool { _, err := os.Stat("/tmp/unhealthy"); return err == nil }
	gl, err := net.Listen("tcp", grpcAddr)
	if err != nil {
		fail(err)
	}
	hs := health.NewServer()
	go func() {
		for {
			st := healthpb.HealthCheckResponse_SERVING
			if unhealthy() {
				st = healthpb.HealthCheckResponse_NOT_SERVING
			}
			hs.SetServingStatus("", st)
			time.Sleep(100 * time.Millisecond)
		}
	}()
	s := grpc.NewServer()
	healthpb.RegisterHealthServer(s, hs)
	go func() { fail(s.Serve(gl)) }()
	cert, err := selfSigned()
	if err != nil {
		fail(err)
	}
	srv := &http.Server{Addr: httpsAddr, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/healthz" || unhealthy() {
				http.Error(w, "unhealthy", 500)
				return
			}
			fmt.Fprintln(w, "ok")
		})}
	fmt.Println("serving")
	fail(srv.ListenAndServeTLS("", ""))
}

func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "probes"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

package sandbox

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/podbox/podbox/sandbox/podproto"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// The probe role: HTTPS and gRPC probes and hooks need crypto/tls and
// HTTP/2, which the pod's process does not link (issue 10: its pages are
// paid per pod for its whole life). For those, the pod's PID 1 starts
// podbox itself in this role, from inside the pod's namespaces, for one
// request (podproto.ProbeJob): a short-lived process per probe, paid only
// by the pods that use them. podbox links TLS and gRPC already (image
// pulls).

// probeHelperCommand is Work.ProbeHelper and ProbeHelperEnv, when one of
// the containers needs them.
func probeHelperCommand(ctrs []podproto.Container) (argv, env []string) {
	needed := false
	for _, c := range ctrs {
		for _, a := range []*podproto.Action{probeAction(c.Liveness), probeAction(c.Readiness), probeAction(c.Startup), c.PostStart, c.PreStop} {
			if a != nil && (a.GRPC != nil || (a.HTTPGet != nil && a.HTTPGet.Scheme == "HTTPS")) {
				needed = true
			}
		}
	}
	if !needed {
		return nil, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, nil // the probes say it failed
	}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k != podproto.EnvPodChild && k != envCleanup && k != podproto.EnvProbeJob {
			env = append(env, kv)
		}
	}
	return []string{exe}, env
}

func probeAction(p *podproto.Probe) *podproto.Action {
	if p == nil {
		return nil
	}
	return &p.Action
}

// IsProbeHelper reports whether this process was started in the probe role.
func IsProbeHelper() bool { return os.Getenv(podproto.EnvProbeJob) != "" }

// ProbeHelperMain runs the probe role and returns its exit code
// (podproto.ProbeOK, ProbeUnhealthy, ProbeError), its answer on stdout.
func ProbeHelperMain() int {
	var job podproto.ProbeJob
	if err := json.Unmarshal([]byte(os.Getenv(podproto.EnvProbeJob)), &job); err != nil {
		fmt.Printf("podbox probe helper: bad job: %v", err)
		return podproto.ProbeError
	}
	os.Unsetenv(podproto.EnvProbeJob)
	ctx, cancel := context.WithTimeout(context.Background(), job.Timeout)
	defer cancel()
	switch {
	case job.HTTPGet != nil:
		code, err := httpsGet(ctx, job)
		if err != nil {
			fmt.Print(err)
			return podproto.ProbeError
		}
		fmt.Print(code)
		return podproto.ProbeOK
	case job.GRPC != nil:
		msg, code := grpcHealth(ctx, job)
		fmt.Print(msg)
		return code
	}
	fmt.Print("podbox probe helper: empty job")
	return podproto.ProbeError
}

// httpsGet is the kubelet's HTTP prober with HTTPS: the certificate is not
// verified, redirects are followed, the body is discarded.
func httpsGet(ctx context.Context, job podproto.ProbeJob) (int, error) {
	h := job.HTTPGet
	host := h.Host
	if host == "" {
		host = job.Host
	}
	url := "https://" + net.JoinHostPort(host, strconv.Itoa(h.Port)) + h.Path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("User-Agent", "kube-probe/1.33")
	req.Header.Set("Accept", "*/*")
	for _, hd := range h.Headers {
		if strings.EqualFold(hd.Name, "Host") {
			req.Host = hd.Value
			continue
		}
		req.Header.Set(hd.Name, hd.Value)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true} //nolint:gosec // as the kubelet: probes do not verify
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.CopyN(io.Discard, resp.Body, 10<<10)
	return resp.StatusCode, nil
}

// grpcHealth calls grpc.health.v1.Health/Check as the kubelet's gRPC
// prober, with its messages.
func grpcHealth(ctx context.Context, job podproto.ProbeJob) (string, int) {
	addr := net.JoinHostPort(job.Host, strconv.Itoa(job.GRPC.Port))
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithUserAgent("kube-probe/1.33"))
	if err != nil {
		return fmt.Sprintf("failed to connect service %q: %v", addr, err), podproto.ProbeError
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: job.GRPC.Service})
	if err != nil {
		st, ok := status.FromError(err)
		switch {
		case ok && st.Code() == codes.Unimplemented:
			return fmt.Sprintf("error: this server does not implement the grpc health protocol (grpc.health.v1.Health): %s", st.Message()), podproto.ProbeError
		case ok && st.Code() == codes.DeadlineExceeded, errors.Is(err, context.DeadlineExceeded):
			return fmt.Sprintf("timeout: health rpc did not complete within %v", job.Timeout), podproto.ProbeError
		}
		return fmt.Sprintf("error: health rpc probe failed: %v", err), podproto.ProbeError
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Sprintf("service unhealthy (responded with %q)", resp.GetStatus().String()), podproto.ProbeUnhealthy
	}
	return resp.GetStatus().String(), podproto.ProbeOK
}

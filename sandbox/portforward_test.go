package sandbox

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestResolvePorts(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Ports: []corev1.ContainerPort{
		{Name: "http", ContainerPort: 8080},
		{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP},
	}}}}}
	pod.Name = "web"
	for _, tc := range []struct {
		spec string
		want forward
		err  string
	}{
		{"8080:80", forward{8080, 80}, ""},
		{"80", forward{80, 80}, ""},
		{":80", forward{0, 80}, ""},
		{"0:80", forward{0, 80}, ""},
		{"http", forward{8080, 8080}, ""},
		{"9000:http", forward{9000, 8080}, ""},
		{":http", forward{0, 8080}, ""},
		{"dns", forward{}, `pod "web" does not have a named port "dns"`},
		{"nope", forward{}, `pod "web" does not have a named port "nope"`},
		{"80:", forward{}, `port "80:": no remote port`},
		{"1:2:3", forward{}, `port "1:2:3": want [LOCAL:]REMOTE`},
		{"70000", forward{}, `port "70000": remote port must be 1-65535`},
		{"x:80", forward{}, `port "x:80": local port must be 0-65535`},
		{"0", forward{}, `port "0": remote port must be 1-65535`},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			got, err := resolvePorts(pod, []string{tc.spec})
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("got %v, %v; want error %q", got, err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, []forward{tc.want}) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestListenAddrs(t *testing.T) {
	got, err := listenAddrs(nil)
	if want := []listenAddr{{"127.0.0.1", true}, {"::1", true}}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("default: got %v, %v; want %v", got, err, want)
	}
	got, err = listenAddrs([]string{"127.0.0.1", "::1"})
	if want := []listenAddr{{"127.0.0.1", false}, {"::1", false}}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("IPs: got %v, %v; want %v", got, err, want)
	}
	if _, err := listenAddrs([]string{"example.com"}); err == nil {
		t.Error("a host name: no error")
	}
}

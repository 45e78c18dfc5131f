package sandbox

import (
	"fmt"
	"net"
	"testing"

	"github.com/rootless-containers/rootlesskit/v3/pkg/port"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPortDriver(t *testing.T) {
	pod := func(ann string) *corev1.Pod {
		p := &corev1.Pod{}
		if ann != "" {
			p.Annotations = map[string]string{"podbox.io/port-driver": ann}
		}
		return p
	}
	for _, tc := range []struct {
		name, ann, flag, want string
		err                   bool
	}{
		{"default", "", "", "builtin", false},
		{"annotation", "slirp4netns", "", "slirp4netns", false},
		{"the flag wins", "slirp4netns", "builtin", "builtin", false},
		{"unknown annotation", "pasta", "", "", true},
		{"unknown flag", "", "pasta", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := portDriver(pod(tc.ann), tc.flag)
			if (err != nil) != tc.err || (!tc.err && got != tc.want) {
				t.Fatalf("got %q, %v; want %q (error: %v)", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestPodPortSpecs(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "side", Ports: []corev1.ContainerPort{
				{ContainerPort: 9000, HostPort: 9001, Protocol: corev1.ProtocolTCP}}}},
			Containers: []corev1.Container{{Name: "web", Ports: []corev1.ContainerPort{
				{ContainerPort: 8080, HostPort: 8001, Protocol: corev1.ProtocolTCP},
				{ContainerPort: 8081, Protocol: corev1.ProtocolTCP}, // not published
				{ContainerPort: 53, HostPort: 5353, HostIP: "0.0.0.0", Protocol: corev1.ProtocolUDP},
			}}},
		},
	}
	got, err := podPortSpecs(pod)
	if err != nil {
		t.Fatal(err)
	}
	want := []port.Spec{
		{Proto: "tcp", ParentIP: "127.0.0.1", ParentPort: 9001, ChildPort: 9000},
		{Proto: "tcp", ParentIP: "127.0.0.1", ParentPort: 8001, ChildPort: 8080},
		{Proto: "udp", ParentIP: "0.0.0.0", ParentPort: 5353, ChildPort: 53},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("spec %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestBindPortsTwice(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := int32(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	pod := func(name string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "web", Ports: []corev1.ContainerPort{
				{ContainerPort: 80, HostPort: free, Protocol: corev1.ProtocolTCP}}}}}}
	}
	_, err = bindPorts([]*corev1.Pod{pod("a"), pod("b")}, "")
	want := fmt.Sprintf(`pod "b": hostPort %d: pod "a" of the same file asks for tcp/127.0.0.1:%d too`, free, free)
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
	// Nothing stays bound.
	m, err := bindPorts([]*corev1.Pod{pod("a")}, "")
	if err != nil {
		t.Fatalf("after the failure: %v", err)
	}
	closePorts(m)
}

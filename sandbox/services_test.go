package sandbox

import (
	"bytes"
	"strings"
	"testing"

	"github.com/podbox/podbox/sandbox/manifest"
)

func TestServicePorts(t *testing.T) {
	const pods = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: a, image: b, ports: [{name: http, containerPort: 8080}]}
---
`
	tests := []struct {
		name    string
		svc     string
		host    int32 // 0: nothing published
		target  int32
		note    string
		wantErr string
	}{
		{"ClusterIP is silent", "type: ClusterIP\n  selector: {app: web}\n  ports: [{port: 80, targetPort: 8080}]", 0, 0, "", ""},
		{"NodePort on nodePort, named target", "type: NodePort\n  selector: {app: web}\n  ports: [{port: 80, targetPort: http, nodePort: 30080}]", 30080, 8080, "2 pods match", ""},
		{"NodePort without nodePort: its port", "type: NodePort\n  selector: {app: web}\n  ports: [{port: 8081, targetPort: 8080}]", 8081, 8080, "publishes 127.0.0.1:8081", ""},
		{"LoadBalancer on its port, targetPort defaulted", "type: LoadBalancer\n  selector: {app: web}\n  ports: [{port: 8080}]", 8080, 8080, "(LoadBalancer) publishes", ""},
		{"no pod matches", "type: NodePort\n  selector: {app: other}\n  ports: [{port: 80}]", 0, 0, "nothing published", ""},
		{"unknown port name", "type: NodePort\n  selector: {app: web}\n  ports: [{port: 80, targetPort: https}]", 0, 0, "", `"https" names no containerPort`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := manifest.Parse("s.yaml", []byte(pods+"apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  "+tc.svc+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			saidOnce.Clear()
			var notes bytes.Buffer
			got, err := servicePorts(f, &notes)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(notes.String(), tc.note) {
				t.Errorf("notes %q, want %q", notes.String(), tc.note)
			}
			for i, p := range f.Pods {
				if len(p.Spec.Containers[0].Ports) != 1 {
					t.Errorf("the file's pod %s was changed", p.Name)
				}
				ports := got[i].Spec.Containers[0].Ports
				first := p.Name < f.Pods[1-i].Name
				if tc.host == 0 || !first {
					if len(ports) != 1 {
						t.Errorf("pod %s: ports %+v, want none added", p.Name, ports)
					}
					continue
				}
				if len(ports) != 2 || ports[1].HostPort != tc.host || ports[1].ContainerPort != tc.target || ports[1].HostIP != "127.0.0.1" {
					t.Errorf("pod %s: ports %+v, want 127.0.0.1:%d → %d added", p.Name, ports, tc.host, tc.target)
				}
			}
		})
	}
}

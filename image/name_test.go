package image

import "testing"

func TestNormalizeLocalName(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"name and tag", "myname:1.0", "localhost/myname:1.0"},
		{"name only", "myname", "localhost/myname:latest"},
		{"path without registry", "team/app:2", "localhost/team/app:2"},
		{"registry with a dot", "quay.io/team/app:2", "quay.io/team/app:2"},
		{"registry with a port", "127.0.0.1:5000/app", "127.0.0.1:5000/app:latest"},
		{"localhost", "localhost/app:3", "localhost/app:3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := normalizeLocalName(tc.in)
			if err != nil {
				t.Fatalf("normalizeLocalName(%q): %v", tc.in, err)
			}
			if got := n.String(); got != tc.want {
				t.Errorf("normalizeLocalName(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	if _, err := normalizeLocalName("Bad Name"); err == nil {
		t.Error("normalizeLocalName accepted \"Bad Name\"")
	}
}

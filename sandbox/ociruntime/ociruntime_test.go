package ociruntime

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/podbox/podbox/tests/nstest"
)

// TestMain plays the roles podbox's main does: a child waiting for its user
// namespace map.
func TestMain(m *testing.M) { nstest.Main(m) }

func TestLogError(t *testing.T) {
	tests := []struct {
		name, log, want string
	}{
		{"json", `{"level":"info","msg":"hi","time":"x"}` + "\n" + `{"level":"error","msg":"container_linux.go:380: starting container process caused: exec: \"/nope\": no such file","time":"x"}` + "\n",
			`container_linux.go:380: starting container process caused: exec: "/nope": no such file`},
		{"plain", "something\nfailed badly\n", "failed badly"},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "log")
			if err := os.WriteFile(p, []byte(tc.log), 0o600); err != nil {
				t.Fatal(err)
			}
			if got := logError(p); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCompleteWords(t *testing.T) {
	run := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", run)
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	dir := filepath.Join(run, "podbox", "pods", "web")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	manifest := `{"metadata":{"name":"web"},"spec":{"initContainers":[{"name":"setup"}],"containers":[{"name":"server"},{"name":"sidecar"}]}}`
	if err := os.WriteFile(filepath.Join(dir, "pod.json"), []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(run, "podbox", "pods", ".lock"), 0o700); err != nil {
		t.Fatal(err)
	}
	app := newApp(io.Discard, io.Discard)
	for _, tc := range []struct {
		words string // "|" ends with an empty word
		want  string
	}{
		{"|", "up down ps logs exec port-forward cp get describe explain pull images rmi image system info version completion"},
		{"logs |", "web"},
		{"logs web |", ""},
		{"logs web -c |", "setup server sidecar"},
		{"logs -c |", ""},
		{"exec -i web -c |", "setup server sidecar"},
		{"exec web -- |", ""},
		{"down web |", "web"},
		{"get |", "pod pods web"},
		{"get pod |", "web"},
		{"get pod web -o |", "wide json yaml name"},
		{"describe web |", ""},
		{"ps -", "--all -a --output -o --format --watch -w"},
		{"image |", "inspect pull ls rm"},
		{"--log-level |", "debug info warn error"},
		{"--root /x logs |", "web"},
		{"up -f |", ""},
		{"completion |", "bash zsh fish"},
	} {
		t.Run(tc.words, func(t *testing.T) {
			words := strings.Fields(strings.ReplaceAll(tc.words, "|", ""))
			if strings.HasSuffix(tc.words, "|") {
				words = append(words, "")
			}
			got := completeWords(app, words)
			if strings.Join(got, " ") != tc.want {
				t.Errorf("got %q, want %q", strings.Join(got, " "), tc.want)
			}
		})
	}
}

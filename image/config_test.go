package image

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, yaml string
		want       StoreOptions // after withDefaults, for root and runroot
		wantErr    string
	}{
		{name: "missing file", yaml: "", want: StoreOptions{Root: filepath.Join(dir, "data", "podbox", "storage"), RunRoot: filepath.Join(dir, "run", "podbox", "storage")}},
		{name: "storage set", yaml: "storage:\n  root: /big/podbox\n  runroot: /run/x\n  driver: vfs\n", want: StoreOptions{Root: "/big/podbox", RunRoot: "/run/x"}},
		{name: "unknown field", yaml: "storage:\n  rooot: /x\n", wantErr: "rooot"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, "config.yaml")
			os.Remove(p)
			if tc.yaml != "" {
				if err := os.WriteFile(p, []byte(tc.yaml), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			t.Setenv("PODBOX_CONFIG", p)
			t.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
			t.Setenv("XDG_RUNTIME_DIR", filepath.Join(dir, "run"))
			_, err := LoadConfig()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := StoreOptions{}.withDefaults()
			if got.Root != tc.want.Root || got.RunRoot != tc.want.RunRoot {
				t.Errorf("withDefaults = %+v, want %+v", got, tc.want)
			}
			// Flags win over the file.
			if got := (StoreOptions{Root: "/flag"}).withDefaults(); got.Root != "/flag" {
				t.Errorf("flag root = %q", got.Root)
			}
		})
	}
}

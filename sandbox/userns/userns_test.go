package userns

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestLookupRange(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "subuid")
	if err := os.WriteFile(file, []byte("alice:100000:65536\n# comment\n1001:200000:1000\nbad:line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		user    string
		uid     int
		want    *Range
		wantErr bool
	}{
		{"by name", "alice", 1000, &Range{100000, 65536}, false},
		{"by uid", "bob", 1001, &Range{200000, 1000}, false},
		{"absent", "carol", 1002, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := lookupRange(file, tc.user, tc.uid)
			if tc.wantErr {
				if !errors.Is(err, ErrNoSubIDs) {
					t.Fatalf("err = %v, want ErrNoSubIDs", err)
				}
				return
			}
			if err != nil || *got != *tc.want {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestMappingHostUID(t *testing.T) {
	m := Mapping{UID: 1000, GID: 1000, SubUID: &Range{100000, 65536}, SubGID: &Range{100000, 65536}}
	for id, want := range map[int]int{0: 1000, 1: 100000, 33: 100032, 65536: 165535, 65537: -1} {
		if got := m.HostUID(id); got != want {
			t.Errorf("HostUID(%d) = %d, want %d", id, got, want)
		}
	}
	if m.Single() || m.Size() != 65537 {
		t.Errorf("Single=%v Size=%d", m.Single(), m.Size())
	}
}

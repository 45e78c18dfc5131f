package sandbox

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/podbox/podbox/image"
	"github.com/podbox/podbox/sandbox/podproto"
)

func TestCleanupCommand(t *testing.T) {
	t.Setenv(podproto.EnvPodChild, "1")
	t.Setenv(envCleanup, "stale")
	t.Setenv("PODBOX_TEST_KEPT", "yes")
	dirs := Dirs{Run: "/run/user/1000/podbox/pods/web", Data: "/home/u/.local/share/podbox/pods/web"}
	so := image.StoreOptions{Root: "/r", RunRoot: "/rr", Driver: "vfs"}
	argv, env := CleanupCommand(dirs, "web", so, []string{"web-a", "web-b"})
	exe, _ := os.Executable()
	if len(argv) != 1 || argv[0] != exe {
		t.Errorf("argv %q, want [%s]: podbox's own executable, whichever program runs the pod", argv, exe)
	}
	var jobs []string
	kept := false
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case podproto.EnvPodChild:
			t.Errorf("the environment keeps %s: the helper would run as a pod", k)
		case envCleanup:
			jobs = append(jobs, v)
		case "PODBOX_TEST_KEPT":
			kept = true
		}
	}
	if !kept {
		t.Errorf("the environment lost the caller's variables (XDG_*, the user namespace's keys need to stay)")
	}
	if len(jobs) != 1 {
		t.Fatalf("%d %s values, want 1", len(jobs), envCleanup)
	}
	var j cleanupJob
	if err := json.Unmarshal([]byte(jobs[0]), &j); err != nil {
		t.Fatal(err)
	}
	want := cleanupJob{Pod: "web", Run: dirs.Run, Data: dirs.Data, Store: so, IDs: []string{"web-a", "web-b"}}
	if !reflect.DeepEqual(j, want) {
		t.Errorf("job %+v, want %+v", j, want)
	}
	if err := j.check(); err != nil {
		t.Errorf("check: %v", err)
	}
}

func TestCleanupJobCheck(t *testing.T) {
	for _, j := range []cleanupJob{
		{Pod: "", Run: "/r/pods/x", Data: "/d/pods/x"},
		{Pod: "../x", Run: "/r/pods/../x", Data: "/d/pods/../x"},
		{Pod: "web", Run: "/r/pods/db", Data: "/d/pods/web"},
		{Pod: "web", Run: "/r/pods/web", Data: ""},
	} {
		if err := j.check(); err == nil {
			t.Errorf("check of %+v succeeded", j)
		}
	}
}

func TestCleanupRun(t *testing.T) {
	storeErr := errors.New("deleting rootfs \"web-a\": device or resource busy")
	for _, tc := range []struct {
		name     string
		storeErr error
		code     int
		runGone  bool
	}{
		{"all goes", nil, 0, true},
		{"a rootfs stays: so does the runtime dir", storeErr, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scratchDirs(t)
			dirs := newPodDirs("web")
			for _, f := range []string{filepath.Join(dirs.Data, "volumes", "cache", "f"), dirs.LogPath("app"), dirs.ctlSock()} {
				if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(f, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			j := cleanupJob{Pod: "web", Run: dirs.Run, Data: dirs.Data}
			code := j.run(func(func(*image.Store) error) error { return tc.storeErr })
			if code != tc.code {
				t.Errorf("exit code %d, want %d", code, tc.code)
			}
			if _, err := os.Stat(dirs.Data); !os.IsNotExist(err) {
				t.Errorf("the data dir (volumes, logs) is still there: %v", err)
			}
			if _, err := os.Stat(dirs.Run); os.IsNotExist(err) != tc.runGone {
				t.Errorf("runtime dir: %v; want gone %v", err, tc.runGone)
			}
		})
	}

	t.Run("a directory not podbox's is refused", func(t *testing.T) {
		dir := scratchDirs(t)
		other := filepath.Join(dir, "elsewhere", "web")
		if err := os.MkdirAll(other, 0o700); err != nil {
			t.Fatal(err)
		}
		j := cleanupJob{Pod: "web", Run: other, Data: newPodDirs("web").Data}
		if code := j.run(func(func(*image.Store) error) error { return nil }); code != 1 {
			t.Errorf("exit code %d, want 1", code)
		}
		if _, err := os.Stat(other); err != nil {
			t.Errorf("%s was removed: %v", other, err)
		}
	})
}

// TestCleanupMainRefuses: a job it cannot read, or whose directories are
// not the pod's, removes nothing and exits 1.
func TestCleanupMainRefuses(t *testing.T) {
	dir := scratchDirs(t)
	victim := filepath.Join(dir, "victim")
	if err := os.Mkdir(victim, 0o700); err != nil {
		t.Fatal(err)
	}
	bad, _ := json.Marshal(cleanupJob{Pod: "victim", Run: victim, Data: victim})
	for _, job := range []string{"{", `{"pod":"../x","run":"/x","data":"/x"}`, string(bad)} {
		t.Setenv(envCleanup, job)
		if code := CleanupMain(); code != 1 {
			t.Errorf("CleanupMain with %s: exit code %d, want 1", job, code)
		}
		if IsCleanup() {
			t.Errorf("%s still set after CleanupMain", envCleanup)
		}
	}
	if _, err := os.Stat(victim); err != nil {
		t.Errorf("%s: %v", victim, err)
	}
}

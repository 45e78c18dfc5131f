package sandbox

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podbox/podbox/image"
	"golang.org/x/sys/unix"
)

func TestValidatePodName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"web", true},
		{"web.example-1", true},
		{strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61), true},
		{"", false},
		{".", false},
		{"..", false},
		{"../../..", false},
		{"a/b", false},
		{"Web", false},
		{"-web", false},
		{strings.Repeat("a", 254), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidatePodName(tc.name)
			if (err == nil) != tc.ok {
				t.Fatalf("ValidatePodName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
			}
			var ine *InvalidNameError
			if err != nil && !errors.As(err, &ine) {
				t.Fatalf("error %v is not an InvalidNameError", err)
			}
		})
	}
}

// scratchDirs points podbox's directories into a temporary directory.
func scratchDirs(t *testing.T) string {
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
	t.Setenv("XDG_RUNTIME_DIR", filepath.Join(dir, "run"))
	for _, d := range []string{podsDataDir(), podsRunDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRemovePodDir(t *testing.T) {
	dir := scratchDirs(t)
	keep := filepath.Join(dir, "keep")
	if err := os.WriteFile(keep, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		filepath.Join(podsDataDir(), ".."),
		podsDataDir(),
		podsDataDir() + "/../..",
		filepath.Join(podsDataDir(), "web", "volumes"),
		filepath.Join(dir, "pods", "web"), // not podbox's pods dir
		"relative/pods/web",
		"/",
	} {
		if err := removePodDir(bad); err == nil {
			t.Errorf("removePodDir(%q) succeeded", bad)
		}
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("a file outside was removed: %v", err)
	}
	// A pod dir that is a link is refused; its target stays.
	link := filepath.Join(podsDataDir(), "web")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	if err := removePodDir(link); err == nil {
		t.Errorf("removePodDir of a link succeeded")
	}
	os.Remove(link)
	// A pods dir that is a link is refused.
	runPods := podsRunDir()
	if err := os.Rename(runPods, runPods+".real"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(runPods+".real", runPods); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(runPods, "web"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := removePodDir(filepath.Join(runPods, "web")); err == nil {
		t.Errorf("removePodDir under a linked pods dir succeeded")
	}
	// A real pod dir goes.
	pod := filepath.Join(podsDataDir(), "web")
	if err := os.MkdirAll(filepath.Join(pod, "logs"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := removePodDir(pod); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pod); !os.IsNotExist(err) {
		t.Fatalf("%s is still there", pod)
	}
}

func TestPodDirsRecord(t *testing.T) {
	dir := scratchDirs(t)
	d := newPodDirs("web")
	if err := os.MkdirAll(d.Data, 0o700); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other", "podbox", "pods", "web")
	for _, tc := range []struct {
		record, want string
	}{
		{other, other},
		{"/etc", d.Run}, // not a pod's run dir
		{filepath.Join(dir, "other", "podbox", "pods", "db"), d.Run}, // another pod's
		{other + "/../../../../..", d.Run},
	} {
		if err := os.WriteFile(d.runRecord(), []byte(tc.record+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := PodDirs("web").Run; got != tc.want {
			t.Errorf("record %q: Run = %q, want %q", tc.record, got, tc.want)
		}
	}
}

func TestContainerID(t *testing.T) {
	long := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61)
	ctr := strings.Repeat("x", 63)
	if got := containerID("web", "app"); got != "web-app" {
		t.Errorf("containerID = %q", got)
	}
	a, b := containerID(long, ctr), containerID(long[:252]+"e", ctr)
	if len(a) > maxContainerID || !strings.HasSuffix(a, "-"+ctr) || !strings.HasPrefix(a, "aaaa") {
		t.Errorf("containerID of a long name = %q (%d)", a, len(a))
	}
	if a == b {
		t.Errorf("two long names share the id %q", a)
	}
}

func TestCheckPodsDirs(t *testing.T) {
	dir := scratchDirs(t)
	if err := checkPodsDirs(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(podsDataDir(), 0o777); err != nil {
		t.Fatal(err)
	}
	var de *image.DirError
	if err := checkPodsDirs(); !errors.As(err, &de) || de.Path != podsDataDir() {
		t.Fatalf("checkPodsDirs = %v, want a DirError for %s", err, podsDataDir())
	}
	_ = dir
}

func TestSignalOnlyThePod(t *testing.T) {
	start := func(argv0 string) (*exec.Cmd, podProcess) {
		cmd := exec.Command("cat")
		cmd.Args = []string{argv0}
		if _, err := cmd.StdinPipe(); err != nil { // cat waits on it
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		// Until the child has exec'd, its cmdline is still this test's.
		cmdline := "/proc/" + strconv.Itoa(cmd.Process.Pid) + "/cmdline"
		for deadline := time.Now().Add(5 * time.Second); ; {
			if b, _ := os.ReadFile(cmdline); string(b) == argv0+"\x00" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never exec'd", argv0)
			}
			time.Sleep(time.Millisecond)
		}
		return cmd, podProcess{PID: cmd.Process.Pid, Start: procStart(cmd.Process.Pid)}
	}
	// Another process of the user, named in a pod's pid file.
	_, other := start("cat")
	other.name = "web"
	if other.alive() || other.signal(unix.SIGKILL) {
		t.Fatal("a process that is not the pod's was taken for it")
	}
	// The pod's PID 1, but a stale start time: a reused pid.
	pod, pp := start(podArgv0("web"))
	pp.name = "web"
	stale := pp
	stale.Start = "1"
	if stale.alive() || stale.signal(unix.SIGKILL) {
		t.Fatal("a pid file with another start time was taken for the pod")
	}
	if !pp.alive() {
		t.Fatal("the pod's process is not alive")
	}
	if !pp.signal(unix.SIGKILL) {
		t.Fatal("the pod's process was not signalled")
	}
	if err := pod.Wait(); err == nil {
		t.Fatal("the pod's process was not killed")
	}
}

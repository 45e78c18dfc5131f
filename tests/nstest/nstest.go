// Package nstest runs parts of Go tests inside podbox's user namespace, as
// the rootless user the tests run as: a test re-executes its own binary with
// -test.run naming the inner test, in a user and mount namespace with the
// user's subordinate ids mapped, exactly as podbox itself does.
//
// As root, or without subordinate ids, the outer test skips with the reason
// and the fix; `make unit-userns` runs these binaries as the test user.
package nstest

import (
	"debug/elf"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/podbox/podbox/sandbox/userns"
	"go.podman.io/storage/pkg/reexec"
	"golang.org/x/sys/unix"
)

// Main plays the roles podbox's main plays before flags: storage's re-exec
// helpers, a child waiting for its id map. Call it from TestMain.
func Main(m *testing.M) {
	if reexec.Init() {
		return
	}
	if userns.IsChild() {
		userns.WaitMapped()
	}
	os.Exit(m.Run())
}

// RunInside runs the test named inner of this binary in a new user and
// mount namespace, and fails t if it fails. Inside the namespace it skips.
func RunInside(t *testing.T, inner string) {
	t.Helper()
	if userns.Inside() {
		t.Skip("runs from outside")
	}
	if os.Geteuid() == 0 {
		t.Skip("runs as an ordinary user: make unit-userns runs it as the test user")
	}
	m, err := userns.Lookup()
	if err != nil {
		t.Skipf("no subordinate ids for this user (%v): add a line to /etc/subuid and /etc/subgid", err)
	}
	cmd := exec.Command("/proc/self/exe", "-test.run=^"+inner+"$", "-test.v")
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	c, err := userns.Start(cmd, m, unix.CLONE_NEWNS)
	if err != nil {
		t.Skipf("user namespaces unavailable: %v", err)
	}
	if err := c.Release(); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	t.Logf("inside:\n%s", out)
	if err != nil {
		t.Fatalf("%s inside the user namespace: %v", inner, err)
	}
	if !strings.Contains(out.String(), "--- PASS: "+inner) {
		t.Fatalf("%s did not pass inside the user namespace", inner)
	}
}

// Inside skips t unless it runs inside RunInside's namespace.
func Inside(t *testing.T) {
	t.Helper()
	if !userns.Inside() {
		t.Skip("runs inside the user namespace, from its outer test")
	}
}

// RequireStatic skips t when this test binary is dynamically linked: it
// cannot run in a container's empty rootfs. Build with CGO_ENABLED=0.
func RequireStatic(t *testing.T) {
	t.Helper()
	f, err := elf.Open("/proc/self/exe")
	if err != nil {
		return
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Skip("the test binary is dynamically linked and cannot run in an empty rootfs: run with CGO_ENABLED=0")
		}
	}
}

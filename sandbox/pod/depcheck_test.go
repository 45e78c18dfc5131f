package pod

import (
	"os/exec"
	"strings"
	"testing"
)

// What the pod's PID 1 must never link: every page of it would be paid per
// pod, for the pod's whole life (issue 10). Prefixes of import paths; a
// path ending in "/" forbids the packages under it, one without forbids it
// and the packages under it.
var forbidden = []string{
	"go.podman.io/",
	"k8s.io/",
	"sigs.k8s.io/",
	"github.com/sirupsen/logrus",
	"github.com/rootless-containers/",
	"github.com/urfave/cli",
	"net/http",
	"crypto/tls",
	"github.com/podbox/podbox/image",
	"github.com/podbox/podbox/mounts",
	"github.com/podbox/podbox/sandbox/ocispec",
	"github.com/podbox/podbox/slirp",
}

// allowedNonStd are the only packages outside the standard library that the
// pod's side may import (sandbox/pod's package doc); slirp/relay is allowed
// although slirp is not.
var allowedNonStd = []string{
	"github.com/podbox/podbox/cmd/podbox-pod",
	"github.com/podbox/podbox/sandbox/pod",
	"github.com/podbox/podbox/sandbox/podproto",
	"github.com/podbox/podbox/sandbox/ociruntime",
	"github.com/podbox/podbox/slirp/relay",
	"github.com/opencontainers/runtime-spec/specs-go",
	"golang.org/x/sys/unix",
}

// goListDeps returns the packages pkgs depend on (themselves included),
// each with whether it is in the standard library.
func goListDeps(t *testing.T, pkgs ...string) map[string]bool {
	t.Helper()
	args := append([]string{"list", "-deps", "-tags", "containers_image_openpgp exclude_graphdriver_btrfs exclude_graphdriver_devicemapper",
		"-f", `{{.ImportPath}} {{.Standard}}`}, pkgs...)
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	deps := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, std, _ := strings.Cut(line, " ")
		deps[path] = std == "true"
	}
	return deps
}

// violations lists what of deps the pod's side must not import, and why.
func violations(deps map[string]bool) []string {
	var bad []string
	for path, std := range deps {
		if path == "github.com/podbox/podbox/slirp/relay" {
			continue
		}
		for _, f := range forbidden {
			if strings.HasSuffix(f, "/") && strings.HasPrefix(path, f) || path == f || strings.HasPrefix(path, f+"/") {
				bad = append(bad, path+" (forbidden: "+f+")")
			}
		}
		if std || strings.HasPrefix(path, "vendor/") {
			continue
		}
		ok := false
		for _, a := range allowedNonStd {
			ok = ok || path == a
		}
		if !ok {
			bad = append(bad, path+" (not among the packages the pod's side may import)")
		}
	}
	return bad
}

// TestPodImports keeps the pod's PID 1 lean: cmd/podbox-pod and
// sandbox/pod import the standard library, x/sys/unix, the runtime-spec
// types, podproto, ociruntime and slirp/relay, and nothing else, as
// go-containerregistry's internal/depcheck keeps its packages.
func TestPodImports(t *testing.T) {
	deps := goListDeps(t, "github.com/podbox/podbox/cmd/podbox-pod", "github.com/podbox/podbox/sandbox/pod")
	for _, v := range violations(deps) {
		t.Errorf("the pod's PID 1 links %s: see sandbox/pod's package doc", v)
	}
}

// TestPodprotoImports: the protocol both sides import is the standard
// library and x/sys/unix only.
func TestPodprotoImports(t *testing.T) {
	for path, std := range goListDeps(t, "github.com/podbox/podbox/sandbox/podproto") {
		if !std && path != "github.com/podbox/podbox/sandbox/podproto" && path != "golang.org/x/sys/unix" && !strings.HasPrefix(path, "vendor/") {
			t.Errorf("sandbox/podproto imports %s: only the standard library and golang.org/x/sys/unix", path)
		}
	}
}

// TestDepcheckCatches: the check above would see the CLI's imports.
func TestDepcheckCatches(t *testing.T) {
	bad := violations(goListDeps(t, "github.com/podbox/podbox/sandbox"))
	want := []string{"go.podman.io/storage", "k8s.io/api/core/v1", "github.com/sirupsen/logrus", "github.com/podbox/podbox/image", "github.com/podbox/podbox/mounts"}
	all := strings.Join(bad, "\n")
	for _, w := range want {
		if !strings.Contains(all, w+" (") {
			t.Errorf("violations of sandbox's imports do not list %s:\n%s", w, all)
		}
	}
}

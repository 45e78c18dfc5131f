package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestOnlyCmdImportsCLI keeps flag parsing out of the library packages.
func TestOnlyCmdImportsCLI(t *testing.T) {
	out, err := exec.Command("go", "list", "-tags", "containers_image_openpgp exclude_graphdriver_btrfs exclude_graphdriver_devicemapper",
		"-f", `{{.ImportPath}} {{join .Imports " "}}`, "github.com/podbox/podbox/...").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, " ")
		if strings.HasSuffix(pkg, "/cmd/podbox") {
			continue
		}
		if strings.Contains(" "+imports+" ", " github.com/urfave/cli/v2 ") {
			t.Errorf("%s imports github.com/urfave/cli/v2: only cmd/podbox may", pkg)
		}
	}
}

package image

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"
)

// Config is podbox's configuration file, $XDG_CONFIG_HOME/podbox/config.yaml
// (PODBOX_CONFIG overrides the path). Flags override it.
//
//	storage:
//	  root: /big/disk/podbox        # default $XDG_DATA_HOME/podbox/storage
//	  runroot: /run/user/1000/pbx   # default $XDG_RUNTIME_DIR/podbox/storage
//	  driver: overlay               # overlay, fuse-overlayfs or vfs
type Config struct {
	Storage StoreOptions `json:"storage"`
}

// ConfigPath is where podbox reads its configuration file.
func ConfigPath() string {
	if p := os.Getenv("PODBOX_CONFIG"); p != "" {
		return p
	}
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "podbox", "config.yaml")
}

// LoadConfig reads the configuration file; a missing file is an empty
// configuration.
func LoadConfig() (Config, error) {
	var c Config
	p := ConfigPath()
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("reading %s: %w", p, err)
	}
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		return c, fmt.Errorf("reading %s: %w", p, err)
	}
	return c, nil
}

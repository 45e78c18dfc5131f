package image

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/podbox/podbox/sandbox/userns"
	"github.com/sirupsen/logrus"
	istorage "go.podman.io/image/v5/storage"
	"go.podman.io/storage"
	stypes "go.podman.io/storage/types"
)

// Storage drivers podbox chooses between, best first.
const (
	DriverOverlay = "overlay"        // native overlayfs in the user namespace (kernel ≥ 5.11)
	DriverFuse    = "fuse-overlayfs" // storage's overlay driver with fuse-overlayfs as mount_program
	DriverVFS     = "vfs"            // full copies: slow and big, but works everywhere
)

// ErrNotInUserNS reports a store opened outside podbox's user namespace.
var ErrNotInUserNS = errors.New("the image store must be opened inside podbox's user namespace")

// StoreOptions say where the store lives and how it stores layers.
type StoreOptions struct {
	Root    string `json:"root,omitempty"`    // "": the config file's, else $XDG_DATA_HOME/podbox/storage
	RunRoot string `json:"runroot,omitempty"` // "": the config file's, else $XDG_RUNTIME_DIR/podbox/storage
	Driver  string `json:"driver,omitempty"`  // "": the config file's, else the existing store's, else overlay, fuse-overlayfs or vfs, the first that works
}

// Store is podbox's image store: a go.podman.io/storage store in the user's
// own directories, opened inside the user namespace.
type Store struct {
	store   storage.Store
	driver  string
	dataDir string // $XDG_DATA_HOME/podbox: caches next to the store
	root    string // the store's root, where its reserve file lives (reserve.go)
}

// DataDir is podbox's data directory, $XDG_DATA_HOME/podbox.
func DataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "podbox")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".local", "share", "podbox")
}

// RunDir is podbox's runtime directory: $XDG_RUNTIME_DIR/podbox; without
// XDG_RUNTIME_DIR, /run/user/UID/podbox when systemd made /run/user/UID for
// the user (owned by the user, mode 0700), so that a shell started by su or
// cron sees the pods of the login shell; else /tmp/podbox-UID, as Podman
// does. Whichever it is, CheckRoot must accept it before use.
func RunDir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "podbox")
	}
	m, _ := userns.Lookup()
	sys := fmt.Sprintf("/run/user/%d", m.UID)
	if fi, err := os.Lstat(sys); err == nil && fi.IsDir() && fi.Mode().Perm() == 0o700 {
		// Inside podbox's user namespace the user is uid 0: compare with
		// this process's own euid.
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) == os.Geteuid() {
			return filepath.Join(sys, "podbox")
		}
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("podbox-%d", m.UID))
}

// withDefaults fills the empty locations of o from the config file, then
// with the defaults.
func (o StoreOptions) withDefaults() StoreOptions {
	if o.Root == "" || o.RunRoot == "" {
		if cfg, err := LoadConfig(); err == nil {
			if o.Root == "" {
				o.Root = cfg.Storage.Root
			}
			if o.RunRoot == "" {
				o.RunRoot = cfg.Storage.RunRoot
			}
		}
	}
	if o.Root == "" {
		o.Root = filepath.Join(DataDir(), "storage")
	}
	if o.RunRoot == "" {
		o.RunRoot = filepath.Join(RunDir(), "storage")
	}
	return o
}

// OpenStore opens (creating if needed) the image store. It must run inside
// podbox's user namespace (userns.Inside), where layers are unpacked with the
// pods' id mapping.
func OpenStore(opts StoreOptions) (*Store, error) {
	if !userns.Inside() {
		return nil, ErrNotInUserNS
	}
	if err := EnsureDirs(); err != nil {
		return nil, err
	}
	cfg, err := LoadConfig()
	if err != nil {
		return nil, err
	}
	if opts.Driver == "" {
		opts.Driver = cfg.Storage.Driver
	}
	opts = opts.withDefaults()
	prior := hasPriorDriver(opts.Root)
	driver, reason := opts.Driver, "set by --storage-driver or the config file"
	if driver == "" {
		driver, reason = DetectDriver(opts.Root)
	}
	switch driver {
	case DriverOverlay, DriverFuse, DriverVFS:
	default:
		return nil, fmt.Errorf("storage driver %q: %w", driver, ErrUnknownDriver)
	}
	if prior && opts.Driver != "" {
		// overlay and fuse-overlayfs share a layout; vfs does not.
		have, _ := DetectDriver(opts.Root)
		if (have == DriverVFS) != (driver == DriverVFS) {
			return nil, &DriverMismatchError{Root: opts.Root, Have: have, Want: driver}
		}
	}
	if !prior && opts.Driver == "" && driver != DriverOverlay {
		// A new store on a slower driver: say so once, when it is made.
		logrus.Warnf("storage driver %s: %s", driver, reason)
	} else {
		logrus.Infof("storage driver %s: %s", driver, reason)
	}
	st, err := getStore(opts, driver)
	if err != nil && opts.Driver == "" && driver != DriverVFS && !prior {
		logrus.Warnf("storage driver %s failed (%v): using vfs, which copies every layer; install fuse-overlayfs or use a kernel ≥ 5.11", driver, err)
		driver = DriverVFS
		st, err = getStore(opts, driver)
	}
	if err != nil {
		return nil, fmt.Errorf("opening image store %s: %w", opts.Root, err)
	}
	if driver == DriverOverlay && usesMountProgram(opts.Root) {
		driver = DriverFuse // storage fell back on its own and remembers it
	}
	s := &Store{store: st, driver: driver, dataDir: filepath.Dir(opts.Root), root: opts.Root}
	if filepath.Base(opts.Root) != "storage" {
		s.dataDir = DataDir()
	}
	s.ensureReserve()
	istorage.Transport.SetStore(st)
	return s, nil
}

// DriverMismatchError is a store opened with a driver other than the one
// that made it.
type DriverMismatchError struct{ Root, Have, Want string }

func (e *DriverMismatchError) Error() string {
	return fmt.Sprintf("the store at %s uses the %s driver, not %s", e.Root, e.Have, e.Want)
}

// Hint says how to change drivers.
func (e *DriverMismatchError) Hint() string {
	return "drop --storage-driver to keep " + e.Have + ", or run `podbox system reset` to start over with " + e.Want
}

// ErrUnknownDriver reports a storage driver podbox does not know.
var ErrUnknownDriver = errors.New("unknown storage driver: use overlay, fuse-overlayfs or vfs")

func getStore(opts StoreOptions, driver string) (storage.Store, error) {
	name := driver
	var dopts []string
	if driver == DriverFuse {
		name = DriverOverlay
		p, err := lookFuseOverlayfs()
		if err != nil {
			return nil, err
		}
		dopts = append(dopts, "overlay.mount_program="+p)
	}
	if userns.SingleMapped() {
		// Only the user's own id is mapped: files of other owners become the
		// user's, as Podman does (see the package doc).
		dopts = append(dopts, name+".ignore_chown_errors=true")
	}
	return storage.GetStore(stypes.StoreOptions{
		RunRoot:            opts.RunRoot,
		GraphRoot:          opts.Root,
		GraphDriverName:    name,
		GraphDriverOptions: dopts,
	})
}

// Storage returns the go.podman.io/storage store, for creating and mounting
// containers.
func (s *Store) Storage() storage.Store { return s.store }

// Driver returns the storage driver in use: overlay, fuse-overlayfs or vfs.
func (s *Store) Driver() string { return s.driver }

// Shutdown releases the store. Layers still mounted by running pods stay
// mounted (their mounts live in the pods' mount namespaces).
func (s *Store) Shutdown() {
	if _, err := s.store.Shutdown(false); err != nil && !errors.Is(err, storage.ErrLayerUsedByContainer) {
		logrus.Debugf("shutting down the image store: %v", err)
	}
}

func hasPriorDriver(root string) bool {
	for _, d := range []string{"overlay", "vfs"} {
		if fi, err := os.Stat(filepath.Join(root, d)); err == nil && fi.IsDir() {
			return true
		}
	}
	return false
}

func usesMountProgram(root string) bool {
	b, err := os.ReadFile(filepath.Join(root, "overlay", ".has-mount-program"))
	return err == nil && strings.TrimSpace(string(b)) == "true"
}

package image

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// StoredContainer is what ContainerList reads of a storage container.
type StoredContainer struct {
	ID       string   `json:"id"`
	Names    []string `json:"names"`
	Metadata string   `json:"metadata"`
}

// ContainerList lists the store's containers without opening the store, so
// that it works outside podbox's user namespace (for `ps`): it reads the
// containers.json that go.podman.io/storage keeps for the store's driver.
// A store that does not exist has none.
func ContainerList(o StoreOptions) ([]StoredContainer, error) {
	root := o.withDefaults().Root
	var out []StoredContainer
	for _, d := range []string{"overlay", "vfs"} {
		b, err := os.ReadFile(filepath.Join(root, d+"-containers", "containers.json"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var cs []StoredContainer
		if err := json.Unmarshal(b, &cs); err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	return out, nil
}

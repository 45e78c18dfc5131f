package image

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/image"
	"go.podman.io/image/v5/pkg/shortnames"
	istorage "go.podman.io/image/v5/storage"
	"go.podman.io/image/v5/types"
	"go.podman.io/storage"
)

type digestT = digest.Digest

// Image is an image in the store.
type Image struct {
	ID       string           `json:"id"`      // the storage ID: the config digest's hex
	Names    []string         `json:"names"`   // fully qualified, e.g. docker.io/library/busybox:latest
	Digest   string           `json:"digest"`  // the manifest digest, sha256:…
	Digests  []string         `json:"digests"` // every manifest digest it was pulled by (a list's and the instance's)
	Config   *imgspecv1.Image `json:"config"`  // the OCI image config
	Size     int64            `json:"size"`    // bytes on disk, layers and metadata
	Created  time.Time        `json:"created"` // from the config, else when it was stored
	TopLayer string           `json:"topLayer"`
}

func imageFromSource(ctx context.Context, sys *types.SystemContext, src types.ImageSource, instance *digest.Digest) (types.Image, error) {
	return image.FromUnparsedImage(ctx, sys, image.UnparsedInstance(src, instance))
}

// imageFor reads the stored image that ref names.
func (s *Store) imageFor(ref types.ImageReference) (*Image, error) {
	simg, err := istorage.Transport.GetStoreImage(s.store, ref)
	if err != nil {
		return nil, fmt.Errorf("reading stored image %s: %w", ref.StringWithinTransport(), err)
	}
	return s.describe(simg)
}

// describe reads an image's config and size.
func (s *Store) describe(simg *storage.Image) (*Image, error) {
	img := &Image{ID: simg.ID, Names: simg.Names, Digest: simg.Digest.String(), Created: simg.Created, TopLayer: simg.TopLayer}
	if img.Names == nil {
		img.Names = []string{}
	}
	for _, d := range simg.Digests {
		img.Digests = append(img.Digests, d.String())
	}
	ref, err := istorage.Transport.NewStoreReference(s.store, nil, simg.ID)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	src, err := ref.NewImage(ctx, s.systemContext(PullOptions{}, ""))
	if err != nil {
		return nil, fmt.Errorf("reading image %.12s: %w", simg.ID, err)
	}
	defer src.Close()
	cfg, err := src.OCIConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading config of image %.12s: %w", simg.ID, err)
	}
	img.Config = cfg
	if cfg.Created != nil && !cfg.Created.IsZero() {
		img.Created = *cfg.Created
	}
	if size, err := s.store.ImageSize(simg.ID); err == nil {
		img.Size = size
	}
	return img, nil
}

// Lookup finds an image in the store, without pulling: by full or
// abbreviated ID, by name (a short name as registries.conf resolves it
// locally: alias, localhost/, unqualified-search registries) or by
// name@digest. It returns an error wrapping ErrImageNotFound if none.
func (s *Store) Lookup(ref string) (*Image, error) {
	simg, err := s.find(ref)
	if err != nil {
		return nil, err
	}
	return s.describe(simg)
}

func (s *Store) find(ref string) (*storage.Image, error) {
	if id := strings.TrimPrefix(ref, "sha256:"); isHexPrefix(id) {
		if simg, err := s.findByID(id); err == nil || !errors.Is(err, ErrImageNotFound) {
			return simg, err
		}
	}
	src, err := parseSource(ref)
	if err != nil {
		return nil, err
	}
	var cands []reference.Named
	if src.ref != nil {
		if n := src.ref.DockerReference(); n != nil {
			cands = []reference.Named{n}
		}
	} else {
		cands, err = shortnames.ResolveLocally(s.systemContext(PullOptions{}, ""), src.docker)
		if err != nil {
			return nil, fmt.Errorf("%w %q: %w", ErrBadReference, ref, err)
		}
	}
	for _, named := range cands {
		sref, err := istorage.Transport.NewStoreReference(s.store, withTag(named), "")
		if err != nil {
			continue
		}
		if simg, err := istorage.Transport.GetStoreImage(s.store, sref); err == nil {
			return simg, nil
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrImageNotFound, ref)
}

func isHexPrefix(s string) bool {
	if len(s) < 3 || len(s) > 64 {
		return false
	}
	_, err := hex.DecodeString(s + strings.Repeat("0", len(s)%2))
	return err == nil && strings.ToLower(s) == s
}

func (s *Store) findByID(prefix string) (*storage.Image, error) {
	if simg, err := s.store.Image(prefix); err == nil && strings.HasPrefix(simg.ID, prefix) {
		return simg, nil
	}
	imgs, err := s.store.Images()
	if err != nil {
		return nil, err
	}
	var found *storage.Image
	for i := range imgs {
		if strings.HasPrefix(imgs[i].ID, prefix) {
			if found != nil {
				return nil, fmt.Errorf("image ID %s is ambiguous: give more of it", prefix)
			}
			found = &imgs[i]
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%w: %s", ErrImageNotFound, prefix)
	}
	return found, nil
}

// List returns the stored images, newest first.
func (s *Store) List() ([]*Image, error) {
	simgs, err := s.store.Images()
	if err != nil {
		return nil, fmt.Errorf("listing images: %w", err)
	}
	out := make([]*Image, 0, len(simgs))
	for i := range simgs {
		img, err := s.describe(&simgs[i])
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// Inspect is what `podbox image inspect` shows of an image.
type Inspect struct {
	ID           string           `json:"Id"`
	Digest       string           `json:"Digest"`
	RepoDigests  []string         `json:"RepoDigests"`
	Names        []string         `json:"Names"`
	Created      time.Time        `json:"Created"`
	Size         int64            `json:"Size"`
	Architecture string           `json:"Architecture"`
	Os           string           `json:"Os"`
	Config       *imgspecv1.Image `json:"Config"`
	Layers       []string         `json:"Layers"`    // the diff IDs, bottom first
	TopLayer     string           `json:"TopLayer"`  // the storage layer ID
	ManifestType string           `json:"MediaType"` // of the stored manifest
}

// Inspect describes the image ref (as Lookup finds it), with its layers.
func (s *Store) Inspect(ref string) (*Inspect, error) {
	img, err := s.Lookup(ref)
	if err != nil {
		return nil, err
	}
	in := &Inspect{ID: img.ID, Digest: img.Digest, Names: img.Names, Created: img.Created, Size: img.Size,
		Config: img.Config, TopLayer: img.TopLayer, Layers: []string{}, RepoDigests: []string{}}
	if img.Config != nil {
		in.Architecture, in.Os = img.Config.Architecture, img.Config.OS
		for _, d := range img.Config.RootFS.DiffIDs {
			in.Layers = append(in.Layers, d.String())
		}
	}
	seen := map[string]bool{}
	for _, n := range img.Names {
		named, err := reference.ParseNormalizedNamed(n)
		if err != nil {
			continue
		}
		for _, d := range img.Digests {
			rd := named.Name() + "@" + d
			if !seen[rd] {
				seen[rd] = true
				in.RepoDigests = append(in.RepoDigests, rd)
			}
		}
	}
	ref2, err := istorage.Transport.NewStoreReference(s.store, nil, img.ID)
	if err == nil {
		if src, err := ref2.NewImageSource(context.Background(), s.systemContext(PullOptions{}, "")); err == nil {
			if _, mt, err := src.GetManifest(context.Background(), nil); err == nil {
				in.ManifestType = mt
			}
			src.Close()
		}
	}
	return in, nil
}

// MountImage mounts the image ref read-only and returns the directory of
// its root file system; call the returned function to unmount it. The
// mount lives in the calling process's mount namespace.
func (s *Store) MountImage(ref string) (string, func(), error) {
	simg, err := s.find(ref)
	if err != nil {
		return "", nil, err
	}
	dir, err := s.store.MountImage(simg.ID, nil, "") // read-only: storage mounts images so
	if err != nil {
		return "", nil, fmt.Errorf("mounting image %.12s: %w", simg.ID, err)
	}
	return dir, func() { _, _ = s.store.UnmountImage(simg.ID, true) }, nil
}

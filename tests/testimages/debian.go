package main

// The images built from Debian packages. scripts/debian-image.sh makes two
// whole root trees with mmdebstrap (minbase, and minbase + nginx-light) as
// tarballs that keep Debian's owners; here they become layers as `docker
// build` would make them: the first tree as it is, then only what the second
// changed (new or changed entries with their parent directories, whiteouts
// for what it removed), then a layer of our own (a page and a config line).

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// nginxPage is /var/www/html/index.html of debian-nginx:1; Debian's default
// site serves it at /.
const nginxPage = "podbox: nginx from Debian packages\n"

// nginxConf is our config layer's /etc/nginx/conf.d/podbox.conf (Debian's
// nginx.conf includes conf.d/*.conf in its http block): a header a test can
// see, so it knows the top layer was read.
const nginxConf = "# podbox test image\nadd_header X-Podbox-Layer config always;\nserver_tokens off;\n"

// debianRefs are the images debianImages makes, in push order.
var debianRefs = []string{"debian:12", "debian-nginx:1"}

// debianImages returns, from treeDir/base.tar and treeDir/nginx.tar:
//
//	debian:12       one layer: the minbase tree
//	debian-nginx:1  the minbase layer, the layer of nginx-light, the page layer
//
// Diffing and compressing 170 MB of trees costs seconds on every suite run:
// the images are kept in treeDir/oci-HASH, an OCI layout, HASH naming this
// program (so a change here makes them anew), and read from there next time.
func (b *builder) debianImages(treeDir string) ([]testImage, error) {
	b.files["debian-nginx/index.html"] = sha256hex([]byte(nginxPage))
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		return nil, err
	}
	cache := filepath.Join(treeDir, "oci-"+sha256hex(self)[:12])
	if images, err := readLayout(cache); err == nil {
		return images, nil
	}
	images, err := buildDebianImages(treeDir)
	if err != nil {
		return nil, err
	}
	// A cache that cannot be written (another user's) only costs time.
	if err := writeLayout(cache, images); err != nil {
		fmt.Fprintf(os.Stderr, "testimages: not caching the Debian images: %v\n", err)
	}
	return images, nil
}

// refAnnotation names an image in an OCI layout.
const refAnnotation = "org.opencontainers.image.ref.name"

// readLayout reads the images of debianRefs from the OCI layout dir.
func readLayout(dir string) ([]testImage, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	byRef := map[string]v1.Hash{}
	for _, d := range m.Manifests {
		byRef[d.Annotations[refAnnotation]] = d.Digest
	}
	var images []testImage
	for _, ref := range debianRefs {
		h, ok := byRef[ref]
		if !ok {
			return nil, fmt.Errorf("%s: no %s", dir, ref)
		}
		img, err := idx.Image(h)
		if err != nil {
			return nil, err
		}
		images = append(images, testImage{ref, img})
	}
	return images, nil
}

// writeLayout writes images as the OCI layout dir, whole or not at all,
// and removes the layouts of other versions of this program beside it.
func writeLayout(dir string, images []testImage) error {
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".oci-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return err
	}
	for _, ti := range images {
		if err := p.AppendImage(ti.img, layout.WithAnnotations(map[string]string{refAnnotation: ti.ref})); err != nil {
			return fmt.Errorf("writing %s: %w", ti.ref, err)
		}
	}
	old, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), "oci-*"))
	for _, o := range old {
		if err := os.RemoveAll(o); err != nil {
			return err
		}
	}
	return os.Rename(tmp, dir)
}

// buildDebianImages makes the images of debianRefs from the trees.
func buildDebianImages(treeDir string) ([]testImage, error) {
	basePath, nginxPath := filepath.Join(treeDir, "base.tar"), filepath.Join(treeDir, "nginx.tar")
	baseTree, err := readTree(basePath)
	if err != nil {
		return nil, err
	}
	nginxTree, err := readTree(nginxPath)
	if err != nil {
		return nil, err
	}
	keep, whiteouts := treeDiff(baseTree, nginxTree)
	if len(keep) == 0 {
		return nil, fmt.Errorf("%s and %s hold the same tree: no nginx layer", basePath, nginxPath)
	}
	baseLayer, err := copyTree(basePath, nil, nil)
	if err != nil {
		return nil, err
	}
	nginxLayer, err := copyTree(nginxPath, keep, whiteouts)
	if err != nil {
		return nil, err
	}

	cfg, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{
		Architecture: runtime.GOARCH,
		OS:           "linux",
		Config:       v1.Config{Cmd: []string{"bash"}, Env: []string{defaultPath}},
		RootFS:       v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	debian, err := appendTar(cfg, baseLayer, "mmdebstrap --variant=minbase bookworm")
	if err != nil {
		return nil, fmt.Errorf("building debian: %w", err)
	}
	img, err := appendTar(debian, nginxLayer, "RUN apt-get install nginx-light")
	if err != nil {
		return nil, fmt.Errorf("building debian-nginx: %w", err)
	}
	img, err = appendLayer(img, false, "COPY index.html podbox.conf", []entry{
		dir("etc", 0o755),
		dir("etc/nginx", 0o755),
		dir("etc/nginx/conf.d", 0o755),
		file("etc/nginx/conf.d/podbox.conf", 0o644, []byte(nginxConf)),
		dir("var", 0o755),
		dir("var/www", 0o755),
		dir("var/www/html", 0o755),
		file("var/www/html/index.html", 0o644, []byte(nginxPage)),
	})
	if err != nil {
		return nil, fmt.Errorf("building debian-nginx: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	// As the nginx image of Docker Hub: in the foreground, stopped
	// gracefully by SIGQUIT.
	cf.Config.Cmd = []string{"nginx", "-g", "daemon off;"}
	cf.Config.ExposedPorts = map[string]struct{}{"80/tcp": {}}
	cf.Config.StopSignal = "SIGQUIT"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	return []testImage{{debianRefs[0], debian}, {debianRefs[1], img}}, nil
}

// node is what a tree's entry is made of, for comparing two trees.
type node struct {
	hdr tar.Header
	sum [sha256.Size]byte // of a regular file's content
}

// same reports whether two entries of the same name would unpack alike
// (times aside).
func (n *node) same(o *node) bool {
	a, b := n.hdr, o.hdr
	if a.Typeflag != b.Typeflag || a.Mode != b.Mode || a.Uid != b.Uid || a.Gid != b.Gid ||
		a.Linkname != b.Linkname || a.Size != b.Size || a.Devmajor != b.Devmajor ||
		a.Devminor != b.Devminor || n.sum != o.sum {
		return false
	}
	return xattrs(a) == xattrs(b)
}

func xattrs(h tar.Header) string {
	var kv []string
	for k, v := range h.PAXRecords {
		if strings.HasPrefix(k, "SCHILY.xattr.") {
			kv = append(kv, k+"="+v)
		}
	}
	sort.Strings(kv)
	return strings.Join(kv, "\x00")
}

// cleanName is a tar entry's name as a layer carries it: no "./", no
// trailing slash; "" for the root.
func cleanName(n string) string {
	n = path.Clean("/" + n)
	return strings.TrimPrefix(n, "/")
}

// readTree reads a tarball of a whole root tree: each entry by its clean name.
func readTree(p string) (map[string]*node, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("reading the Debian tree (run scripts/debian-image.sh): %w", err)
	}
	defer f.Close()
	tree := map[string]*node{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		name := cleanName(h.Name)
		if name == "" {
			continue
		}
		n := &node{hdr: *h}
		if h.Typeflag == tar.TypeLink {
			n.hdr.Linkname = cleanName(h.Linkname)
		}
		if h.Typeflag == tar.TypeReg {
			s := sha256.New()
			if _, err := io.Copy(s, tr); err != nil {
				return nil, fmt.Errorf("reading %s: %s: %w", p, name, err)
			}
			copy(n.sum[:], s.Sum(nil))
		}
		tree[name] = n
	}
	if len(tree) == 0 {
		return nil, fmt.Errorf("%s is empty", p)
	}
	return tree, nil
}

// treeDiff returns what a layer over lower must hold to make upper: the
// names of upper to copy (new or changed entries, their parent directories,
// both ends of a hard link either end of which is copied) and the whiteouts
// (the topmost names of lower that upper lacks).
func treeDiff(lower, upper map[string]*node) (keep map[string]bool, whiteouts []string) {
	keep = map[string]bool{}
	for name, n := range upper {
		if l, ok := lower[name]; !ok || !l.same(n) {
			keep[name] = true
		}
	}
	// A hard link and its target are one inode: a layer that replaces
	// one of them must carry both, or the other keeps the old content.
	for name, n := range upper {
		if n.hdr.Typeflag != tar.TypeLink {
			continue
		}
		if keep[name] || keep[n.hdr.Linkname] {
			keep[name], keep[n.hdr.Linkname] = true, true
		}
	}
	for name := range lower {
		if _, ok := upper[name]; ok {
			continue
		}
		if parent := path.Dir(name); parent != "." {
			if _, ok := upper[parent]; !ok {
				continue // a parent's whiteout covers it
			}
		}
		whiteouts = append(whiteouts, name)
	}
	sort.Strings(whiteouts)
	var parents []string
	for name := range keep {
		parents = append(parents, name)
	}
	parents = append(parents, whiteouts...)
	for _, name := range parents {
		for p := path.Dir(name); p != "." && !keep[p]; p = path.Dir(p) {
			keep[p] = true
		}
	}
	return keep, whiteouts
}

// copyTree writes the entries of the tarball src that keep holds (all when
// keep is nil), in src's order and with clean names, then a whiteout for
// each of whiteouts, as one layer tar.
func copyTree(src string, keep map[string]bool, whiteouts []string) ([]byte, error) {
	f, err := os.Open(src)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", src, err)
		}
		name := cleanName(h.Name)
		if name == "" || (keep != nil && !keep[name]) {
			continue
		}
		out := *h
		out.Name = name
		if h.Typeflag == tar.TypeDir {
			out.Name += "/"
		}
		if h.Typeflag == tar.TypeLink {
			out.Linkname = cleanName(h.Linkname)
		}
		// Owners by number only, as a layer is unpacked; no access or
		// change times.
		out.Uname, out.Gname = "", ""
		out.AccessTime, out.ChangeTime = time.Time{}, time.Time{}
		out.Format = tar.FormatPAX
		if err := tw.WriteHeader(&out); err != nil {
			return nil, fmt.Errorf("writing %s: %w", name, err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return nil, fmt.Errorf("copying %s: %w", name, err)
		}
	}
	for _, name := range whiteouts {
		h := &tar.Header{
			Typeflag: tar.TypeReg, Name: path.Join(path.Dir(name), ".wh."+path.Base(name)),
			Mode: 0o644, ModTime: epoch, Format: tar.FormatPAX,
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// appendTar adds the layer tar data, gzipped for speed over size (these
// layers are tens of MB and are pushed on every suite run).
func appendTar(base v1.Image, data []byte, createdBy string) (v1.Image, error) {
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.DockerLayer), tarball.WithCompressionLevel(gzip.BestSpeed), tarball.WithCompressedCaching)
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: types.DockerLayer,
		History:   v1.History{Created: v1.Time{Time: epoch}, CreatedBy: createdBy},
	})
	if err != nil {
		return nil, err
	}
	return mutate.CreatedAt(img, v1.Time{Time: epoch})
}

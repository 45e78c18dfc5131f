// Command testimages builds the images podbox's end-to-end tests pull, from
// what the machine already has (the static busybox of Debian's busybox-static),
// pushes them to a registry and writes archives of busybox to a directory.
//
//	testimages -registry 127.0.0.1:5000 -out DIR
//
// Images (pushed as Docker schema 2, for the host's architecture unless said):
//
//	REG/busybox:latest, REG/busybox:1.0  busybox, its applets as /bin symlinks,
//	                                     /etc/passwd (root, www-data 33, nobody), /tmp 1777
//	REG/sample:v2                        busybox + /sample.war (100 KiB, fixed seed)
//	REG/config:1                         busybox + Entrypoint, Cmd, Env, WorkingDir /work,
//	                                     User www-data, a user app (1000:1000)
//	REG/layers:1                         busybox + 3 layers: files and uid-33 owners,
//	                                     a whiteout and a hard link, a 1 MiB file
//	REG/udpecho:1                        busybox + this program as /bin/udpecho (UDP echo)
//	                                     and /bin/tput (TCP throughput server, tput.go)
//	REG/arm64only:1                      one small layer, config architecture arm64
//
// With -debian DIR (the trees scripts/debian-image.sh builds; see debian.go):
//
//	REG/debian:12                        Debian minbase (mmdebstrap), one layer, Cmd bash
//	REG/debian-nginx:1                   debian:12 + nginx-light's layer + a page and a
//	                                     config line; Cmd nginx -g 'daemon off;', workers
//	                                     as www-data
//
// Archives in DIR: busybox-oci.tar (oci-archive), busybox-oci/ (OCI layout)
// and busybox-docker.tar (docker-archive tagged localhost/busybox:latest),
// all of the same image as REG/busybox:latest (same config, so same image ID),
// and images.json with each image's manifest digest and ID and the sha256 of
// the generated payload files.
//
// Everything is deterministic: fixed timestamps, fixed seeds, sorted entries,
// so digests and IDs are the same on every run on the same busybox.
package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// epoch is the time of every file and every image: 2024-01-01.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	// dockerTag is the name the docker-archive carries, as `docker save` would.
	dockerTag = "localhost/busybox:latest"
)

func main() {
	switch filepath.Base(os.Args[0]) {
	case "udpecho":
		udpEcho(os.Args[1:]) // this binary, inside the udpecho image
		return
	case "tput":
		tputServe(os.Args[1:]) // the same, as /bin/tput (tput.go)
		return
	}
	if len(os.Args) == 3 && os.Args[1] == "-serve-stall" {
		stallServe(os.Args[2]) // see stall.go
		return
	}
	if len(os.Args) == 4 && os.Args[1] == "-serve-probes" {
		probesServe(os.Args[2], os.Args[3]) // see probes.go
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "stallreg" {
		stallRegMain(os.Args[2:]) // see stallreg.go
		return
	}
	registry := flag.String("registry", "", "registry `HOST:PORT` to push to over plain HTTP (empty: no push)")
	out := flag.String("out", "", "`DIR` to write the archives and images.json to (empty: none)")
	busybox := flag.String("busybox", "/usr/bin/busybox", "static busybox binary to put in the images")
	username := flag.String("username", "", "user name for a registry with auth")
	password := flag.String("password", "", "password for a registry with auth")
	debian := flag.String("debian", "", "`DIR` of scripts/debian-image.sh (base.tar, nginx.tar): also build the Debian images")
	flag.Parse()
	if flag.NArg() != 0 || (*registry == "" && *out == "") {
		fmt.Fprintln(os.Stderr, "usage: testimages [-registry HOST:PORT] [-out DIR] [-busybox PATH] [-username U -password P] [-debian DIR]")
		os.Exit(2)
	}
	auth := authn.Anonymous
	if *username != "" {
		auth = &authn.Basic{Username: *username, Password: *password}
	}
	if err := run(*registry, *out, *busybox, *debian, auth); err != nil {
		fmt.Fprintln(os.Stderr, "testimages:", err)
		os.Exit(1)
	}
}

func run(registry, out, busyboxPath, debianDir string, auth authn.Authenticator) error {
	start := time.Now()
	b, err := newBuilder(busyboxPath)
	if err != nil {
		return err
	}
	images, err := b.images()
	if err != nil {
		return err
	}
	if debianDir != "" {
		deb, err := b.debianImages(debianDir)
		if err != nil {
			return fmt.Errorf("building the Debian images: %w", err)
		}
		images = append(images, deb...)
	}
	report := struct {
		Images map[string]imageInfo `json:"images"`
		Files  map[string]string    `json:"files"`
	}{Images: map[string]imageInfo{}, Files: b.files}
	for _, ti := range images {
		info, err := describe(ti.img)
		if err != nil {
			return fmt.Errorf("describing %s: %w", ti.ref, err)
		}
		report.Images[ti.ref] = info
		if registry == "" {
			continue
		}
		ref, err := name.NewTag(registry+"/"+ti.ref, name.Insecure)
		if err != nil {
			return fmt.Errorf("parsing reference for %s: %w", ti.ref, err)
		}
		if err := remote.Write(ref, ti.img, remote.WithAuth(auth)); err != nil {
			return fmt.Errorf("pushing %s: %w", ref, err)
		}
		fmt.Printf("pushed %s %s\n", ref, info.Digest)
	}
	if out != "" {
		if err := b.writeArchives(out); err != nil {
			return err
		}
		data, err := json.MarshalIndent(report, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, "images.json"), append(data, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Printf("wrote archives to %s\n", out)
	}
	fmt.Printf("done in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

type imageInfo struct {
	Digest string `json:"digest"` // manifest digest, as pushed
	ID     string `json:"id"`     // config digest: the image ID
}

func describe(img v1.Image) (imageInfo, error) {
	d, err := img.Digest()
	if err != nil {
		return imageInfo{}, err
	}
	id, err := img.ConfigName()
	if err != nil {
		return imageInfo{}, err
	}
	return imageInfo{Digest: d.String(), ID: id.String()}, nil
}

type testImage struct {
	ref string // repository:tag, without the registry
	img v1.Image
}

// builder holds the layer contents, so that images share identical layers.
type builder struct {
	busybox []byte
	applets []string
	files   map[string]string // payload file → sha256 hex, for images.json
}

func newBuilder(busyboxPath string) (*builder, error) {
	if err := checkStatic(busyboxPath); err != nil {
		return nil, err
	}
	bin, err := os.ReadFile(busyboxPath)
	if err != nil {
		return nil, fmt.Errorf("reading busybox: %w", err)
	}
	list, err := exec.Command(busyboxPath, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("listing busybox applets with %s --list: %w", busyboxPath, err)
	}
	var applets []string
	for _, a := range strings.Fields(string(list)) {
		if a != "busybox" && !strings.Contains(a, "/") {
			applets = append(applets, a)
		}
	}
	sort.Strings(applets)
	return &builder{busybox: bin, applets: applets, files: map[string]string{}}, nil
}

// dynamic reports whether the ELF file p asks for a program interpreter.
func dynamic(p string) bool {
	f, err := elf.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return true
		}
	}
	return false
}

// checkStatic refuses a dynamically linked busybox: it would not run in an
// image that has no libc.
func checkStatic(p string) error {
	f, err := elf.Open(p)
	if err != nil {
		return fmt.Errorf("reading busybox %s (install busybox-static): %w", p, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked: install busybox-static", p)
		}
	}
	return nil
}

// images builds every image pushed to the registry, in push order.
func (b *builder) images() ([]testImage, error) {
	base, err := b.busyboxImage(false)
	if err != nil {
		return nil, fmt.Errorf("building busybox: %w", err)
	}
	var list []testImage
	list = append(list, testImage{"busybox:latest", base}, testImage{"busybox:1.0", base})

	war := pseudoRandom(100*1024, 1)
	b.files["sample.war"] = sha256hex(war)
	sample, err := appendLayer(base, false, "ADD sample.war /sample.war", []entry{
		file("sample.war", 0o644, war),
	})
	if err != nil {
		return nil, fmt.Errorf("building sample: %w", err)
	}
	list = append(list, testImage{"sample:v2", sample})

	cfg, err := b.configImage(base)
	if err != nil {
		return nil, fmt.Errorf("building config: %w", err)
	}
	list = append(list, testImage{"config:1", cfg})

	layers, err := b.layersImage(base)
	if err != nil {
		return nil, fmt.Errorf("building layers: %w", err)
	}
	list = append(list, testImage{"layers:1", layers})

	// busybox has no UDP server: the udpecho image carries this very
	// program (static), which serves UDP echo when called as udpecho.
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("reading this program for udpecho: %w", err)
	}
	if dynamic("/proc/self/exe") {
		return nil, errors.New("testimages is dynamically linked and cannot serve as udpecho: build it with CGO_ENABLED=0 (make build does)")
	}
	udp, err := appendLayer(base, false, "ADD udpecho /bin/udpecho", []entry{
		file("bin/udpecho", 0o755, self),
		symlink("bin/tput", "udpecho"), // tput.go
	})
	if err != nil {
		return nil, fmt.Errorf("building udpecho: %w", err)
	}
	list = append(list, testImage{"udpecho:1", udp})

	arm, err := armImage()
	if err != nil {
		return nil, fmt.Errorf("building arm64only: %w", err)
	}
	list = append(list, testImage{"arm64only:1", arm})
	return list, nil
}

const passwd = `root:x:0:0:root:/root:/bin/sh
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
`

const group = `root:x:0:
www-data:x:33:
nogroup:x:65534:
`

// busyboxImage is the base of every image but arm64only; oci selects OCI
// media types (for the OCI archives) over Docker schema 2 (for the registry).
func (b *builder) busyboxImage(oci bool) (v1.Image, error) {
	entries := []entry{
		dir("bin", 0o755),
		file("bin/busybox", 0o755, b.busybox),
	}
	for _, a := range b.applets {
		entries = append(entries, symlink("bin/"+a, "busybox"))
	}
	entries = append(entries,
		dir("dev", 0o755),
		dir("etc", 0o755),
		file("etc/group", 0o644, []byte(group)),
		file("etc/passwd", 0o644, []byte(passwd)),
		dir("home", 0o755),
		dir("proc", 0o555),
		dir("root", 0o700),
		dir("sys", 0o555),
		dir("tmp", 0o1777),
		dir("usr", 0o755),
		dir("usr/bin", 0o755),
		dir("usr/sbin", 0o755),
		dir("var", 0o755),
		owned(dir("var/www", 0o755), 33, 33),
	)
	img := empty.Image
	if oci {
		img = mutate.MediaType(img, types.OCIManifestSchema1)
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	}
	img, err := mutate.ConfigFile(img, &v1.ConfigFile{
		Architecture: runtime.GOARCH,
		OS:           "linux",
		Config: v1.Config{
			Cmd: []string{"sh"},
			Env: []string{defaultPath},
		},
		RootFS: v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	return appendLayer(img, oci, "ADD busybox-static /bin", entries)
}

func (b *builder) configImage(base v1.Image) (v1.Image, error) {
	img, err := appendLayer(base, false, "RUN adduser app && mkdir /work", []entry{
		dir("etc", 0o755),
		file("etc/group", 0o644, []byte(group+"app:x:1000:\n")),
		file("etc/passwd", 0o644, []byte(passwd+"app:x:1000:1000:app:/home/app:/bin/sh\n")),
		dir("home", 0o755),
		owned(dir("home/app", 0o755), 1000, 1000),
		dir("work", 0o755),
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Config.Entrypoint = []string{"/bin/echo", "entry"}
	cf.Config.Cmd = []string{"cmd1", "cmd2"}
	cf.Config.Env = []string{defaultPath, "FOO=bar"}
	cf.Config.WorkingDir = "/work"
	cf.Config.User = "www-data"
	return mutate.ConfigFile(img, cf)
}

func (b *builder) layersImage(base v1.Image) (v1.Image, error) {
	img, err := appendLayer(base, false, "layer A: files, uid 33 owners", []entry{
		dir("data", 0o755),
		owned(dir("data/dir33", 0o755), 33, 33),
		file("data/gone.txt", 0o644, []byte("gone\n")),
		file("data/keep.txt", 0o644, []byte("keep\n")),
		owned(file("data/owned33", 0o644, []byte("owned by 33\n")), 33, 33),
	})
	if err != nil {
		return nil, err
	}
	img, err = appendLayer(img, false, "layer B: whiteout gone.txt, hard link hard -> target", []entry{
		dir("data", 0o755),
		file("data/.wh.gone.txt", 0o644, nil),
		file("data/target", 0o644, []byte("target\n")),
		hardlink("data/hard", "data/target"),
	})
	if err != nil {
		return nil, err
	}
	big := pseudoRandom(1<<20, 2)
	b.files["data/big"] = sha256hex(big)
	return appendLayer(img, false, "layer C: 1 MiB file", []entry{
		dir("data", 0o755),
		file("data/big", 0o644, big),
	})
}

func armImage() (v1.Image, error) {
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{
		Architecture: "arm64",
		OS:           "linux",
		Config:       v1.Config{Cmd: []string{"/hello"}, Env: []string{defaultPath}},
		RootFS:       v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	return appendLayer(img, false, "ADD hello /hello", []entry{
		file("hello", 0o644, []byte("this image is for arm64 only\n")),
	})
}

// appendLayer adds a layer of entries and its history, keeping the image's
// creation time fixed.
func appendLayer(base v1.Image, oci bool, createdBy string, entries []entry) (v1.Image, error) {
	data, err := tarLayer(entries)
	if err != nil {
		return nil, err
	}
	mt := types.DockerLayer
	if oci {
		mt = types.OCILayer
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(mt), tarball.WithCompressedCaching)
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: mt,
		History:   v1.History{Created: v1.Time{Time: epoch}, CreatedBy: createdBy},
	})
	if err != nil {
		return nil, err
	}
	return mutate.CreatedAt(img, v1.Time{Time: epoch})
}

// entry is one tar entry of a layer.
type entry struct {
	hdr  tar.Header
	body []byte
}

func dir(p string, mode int64) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: p + "/", Mode: mode}}
}

func file(p string, mode int64, body []byte) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: p, Mode: mode, Size: int64(len(body))}, body: body}
}

func symlink(p, target string) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: p, Linkname: target, Mode: 0o777}}
}

// hardlink links p to target, which must come earlier in the same layer.
func hardlink(p, target string) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeLink, Name: p, Linkname: target, Mode: 0o644}}
}

func owned(e entry, uid, gid int) entry {
	e.hdr.Uid, e.hdr.Gid = uid, gid
	return e
}

func tarLayer(entries []entry) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		h.ModTime = epoch
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(&h); err != nil {
			return nil, fmt.Errorf("writing tar header %s: %w", h.Name, err)
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// pseudoRandom returns n bytes that look random but are the same for a seed.
func pseudoRandom(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// writeArchives writes busybox as an OCI layout, an oci-archive and a
// docker-archive into out.
func (b *builder) writeArchives(out string) error {
	img, err := b.busyboxImage(true)
	if err != nil {
		return fmt.Errorf("building busybox with OCI media types: %w", err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	layoutDir := filepath.Join(out, "busybox-oci")
	if err := os.RemoveAll(layoutDir); err != nil {
		return err
	}
	p, err := layout.Write(layoutDir, empty.Index)
	if err != nil {
		return fmt.Errorf("writing OCI layout: %w", err)
	}
	err = p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": "latest",
	}))
	if err != nil {
		return fmt.Errorf("writing OCI layout: %w", err)
	}
	if err := tarDir(layoutDir, filepath.Join(out, "busybox-oci.tar")); err != nil {
		return fmt.Errorf("writing oci-archive: %w", err)
	}
	docker, err := b.busyboxImage(false)
	if err != nil {
		return err
	}
	if err := writeDockerArchive(docker, filepath.Join(out, "busybox-docker.tar")); err != nil {
		return fmt.Errorf("writing docker-archive: %w", err)
	}
	return nil
}

// tarDir writes the tree under dir as a tar file, sorted and with fixed times:
// an oci-archive is an OCI layout in a tar.
func tarDir(dir, dest string) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		h := &tar.Header{Name: filepath.ToSlash(rel), ModTime: epoch, Mode: 0o644, Typeflag: tar.TypeReg}
		var body []byte
		if d.IsDir() {
			h.Name += "/"
			h.Mode = 0o755
			h.Typeflag = tar.TypeDir
		} else if body, err = os.ReadFile(p); err != nil {
			return err
		}
		h.Size = int64(len(body))
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err = tw.Write(body)
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(dest, buf.Bytes(), 0o644)
}

// writeDockerArchive writes img as `docker save` does: manifest.json, the
// config and uncompressed layer tars. (go-containerregistry's tarball
// package would store gzipped layers, which `docker save` never does.)
func writeDockerArchive(img v1.Image, dest string) error {
	cfgName, err := img.ConfigName()
	if err != nil {
		return err
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(p string, body []byte) error {
		h := &tar.Header{Name: p, Mode: 0o644, Size: int64(len(body)), ModTime: epoch, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	cfgPath := path.Join("blobs", "sha256", cfgName.Hex)
	if err := add(cfgPath, cfg); err != nil {
		return err
	}
	var layerPaths []string
	for _, l := range layers {
		diffID, err := l.DiffID()
		if err != nil {
			return err
		}
		rc, err := l.Uncompressed()
		if err != nil {
			return err
		}
		body, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		p := path.Join("blobs", "sha256", diffID.Hex)
		if err := add(p, body); err != nil {
			return err
		}
		layerPaths = append(layerPaths, p)
	}
	tag, err := name.NewTag(dockerTag)
	if err != nil {
		return err
	}
	manifest, err := json.Marshal([]map[string]any{{
		"Config":   cfgPath,
		"RepoTags": []string{dockerTag},
		"Layers":   layerPaths,
	}})
	if err != nil {
		return err
	}
	if err := add("manifest.json", manifest); err != nil {
		return err
	}
	if len(layerPaths) == 0 {
		return errors.New("image has no layers")
	}
	// repositories maps the tag to the top layer, for older `docker load`.
	repos, err := json.Marshal(map[string]map[string]string{
		tag.Context().Name(): {tag.TagStr(): path.Base(layerPaths[len(layerPaths)-1])},
	})
	if err != nil {
		return err
	}
	if err := add("repositories", repos); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(dest, buf.Bytes(), 0o644)
}

// udpEcho answers every datagram on port args[0] with "echo:" and the
// datagram, for the UDP hostPort tests.
func udpEcho(args []string) {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: udpecho PORT")
		os.Exit(2)
	}
	conn, err := net.ListenPacket("udp", ":"+args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "udpecho:", err)
		os.Exit(1)
	}
	fmt.Println("listening on udp port", args[0])
	buf := make([]byte, 65535)
	for {
		n, addr, err := conn.ReadFrom(buf)
		if err != nil {
			fmt.Fprintln(os.Stderr, "udpecho:", err)
			os.Exit(1)
		}
		if _, err := conn.WriteTo(append([]byte("echo:"), buf[:n]...), addr); err != nil {
			fmt.Fprintln(os.Stderr, "udpecho:", err)
		}
	}
}

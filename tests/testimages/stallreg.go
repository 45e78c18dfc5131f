package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
)

// stallRegMain is `testimages stallreg [-stall blob|manifest]`: a registry
// on 127.0.0.1 that stops answering mid-pull, for podbox's stall timeout.
// It prints its address, then serves until killed. Every repository and tag
// names one image of one 1 MiB layer. With -stall blob (the default) it
// answers /v2/, the manifest and the config, then sends the layer's headers
// and its first KiB and nothing more; with -stall manifest it accepts the
// manifest request and never answers it.
func stallRegMain(args []string) {
	fs := flag.NewFlagSet("stallreg", flag.ExitOnError)
	stall := fs.String("stall", "blob", "where to stop answering: `blob` or manifest")
	_ = fs.Parse(args)
	if *stall != "blob" && *stall != "manifest" {
		fmt.Fprintln(os.Stderr, "stallreg: -stall must be blob or manifest")
		os.Exit(2)
	}
	config := fmt.Sprintf(`{"architecture":%q,"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}`,
		runtime.GOARCH, strings.Repeat("0", 64))
	configDigest := stallRegDigest([]byte(config))
	layerDigest := "sha256:" + strings.Repeat("1", 64)
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": configDigest, "size": len(config)},
		"layers":        []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layerDigest, "size": 1 << 20}},
	})
	if err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "stallreg:", err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())

	h := func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case p == "/v2/" || p == "/v2":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, "{}")
		case strings.Contains(p, "/manifests/"):
			if *stall == "manifest" {
				<-r.Context().Done()
				return
			}
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.Header().Set("Docker-Content-Digest", stallRegDigest(manifest))
			w.Header().Set("Content-Length", fmt.Sprint(len(manifest)))
			if r.Method != http.MethodHead {
				_, _ = w.Write(manifest)
			}
		case strings.HasSuffix(p, "/blobs/"+configDigest):
			w.Header().Set("Content-Length", fmt.Sprint(len(config)))
			_, _ = w.Write([]byte(config))
		case strings.HasSuffix(p, "/blobs/"+layerDigest):
			w.Header().Set("Content-Length", fmt.Sprint(1<<20))
			if r.Method == http.MethodHead {
				return
			}
			_, _ = w.Write(make([]byte, 1024))
			w.(http.Flusher).Flush()
			<-r.Context().Done() // and nothing more, until the client gives up
		default:
			http.NotFound(w, r)
		}
	}
	_ = http.Serve(ln, http.HandlerFunc(h))
}

func stallRegDigest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

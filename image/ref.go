package image

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"go.podman.io/image/v5/directory"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/docker/archive"
	"go.podman.io/image/v5/docker/reference"
	ociarchive "go.podman.io/image/v5/oci/archive"
	ocilayout "go.podman.io/image/v5/oci/layout"
	"go.podman.io/image/v5/types"
)

// ErrBadReference reports an image reference podbox cannot parse.
var ErrBadReference = errors.New("invalid image reference")

// transportPrefixes are the transports podbox pulls from, as written before
// the colon. A bare name is docker://.
var transportPrefixes = map[string]types.ImageTransport{
	"docker":         docker.Transport,
	"oci":            ocilayout.Transport,
	"oci-archive":    ociarchive.Transport,
	"docker-archive": archive.Transport,
	"dir":            directory.Transport,
}

// source is a parsed pull reference.
type source struct {
	input  string
	ref    types.ImageReference // set for a transport other than docker
	named  reference.Named      // set for docker: the normalized name
	docker string               // set for docker: the name as written, maybe short
}

// parseSource parses what the user typed: "docker://NAME", "oci:PATH[:REF]",
// "oci-archive:PATH[:REF]", "docker-archive:PATH[:REF]", "dir:PATH", or a
// bare (maybe short) name, which means docker://.
func parseSource(input string) (source, error) {
	s := source{input: input}
	if input == "" {
		return s, fmt.Errorf("%w: empty name", ErrBadReference)
	}
	if prefix, rest, ok := strings.Cut(input, ":"); ok {
		if t, known := transportPrefixes[prefix]; known {
			if t == docker.Transport {
				input = strings.TrimPrefix(rest, "//")
			} else {
				ref, err := t.ParseReference(rest)
				if err != nil {
					return s, fmt.Errorf("%w %q: %w", ErrBadReference, s.input, err)
				}
				s.ref = ref
				return s, nil
			}
		}
	}
	named, err := reference.ParseNormalizedNamed(input)
	if err != nil {
		return s, fmt.Errorf("%w %q: %w", ErrBadReference, s.input, err)
	}
	s.named = named
	s.docker = input
	return s, nil
}

// withTag returns named with ":latest" when it has neither tag nor digest.
func withTag(named reference.Named) reference.Named {
	return reference.TagNameOnly(named)
}

// IsLoopbackRegistry reports whether a registry host[:port] is on this
// machine (127.0.0.0/8, ::1, localhost): such a registry may speak plain
// HTTP, as Docker allows.
func IsLoopbackRegistry(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// tlsVerifyFor returns the TLS setting for a pull from registry: verify
// unless the user said --tls-verify=false or the registry is on loopback.
// With verification off, go.podman.io/image also falls back to plain HTTP.
// registries.conf `insecure = true` is honoured by the library itself.
func tlsVerifyFor(registry string, tlsVerify *bool) types.OptionalBool {
	switch {
	case tlsVerify != nil && *tlsVerify:
		return types.OptionalBoolFalse
	case tlsVerify != nil:
		return types.OptionalBoolTrue
	case IsLoopbackRegistry(registry):
		return types.OptionalBoolTrue
	}
	return types.OptionalBoolUndefined
}

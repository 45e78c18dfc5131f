package image

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/opencontainers/go-digest"
	"github.com/sirupsen/logrus"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/manifest"
	istorage "go.podman.io/image/v5/storage"
	"go.podman.io/image/v5/types"
)

// keepLocal decides, before a pull from a registry, whether the image the
// store already holds under named will do: the registry's manifest digest
// for the tag (the digest of the manifest it serves, as Podman's libimage
// computes it) is one the stored image
// was pulled by (Podman's pull policy "newer"), or the registry cannot be
// reached at all and o.offlineOK (for a pod; an explicit pull fails then).
// It returns the stored image then, having said which on o.Out; nil to
// pull as before (no such image, a new digest, or an answer
// the pull itself must report, such as 401 or an unknown tag).
//
// dockerRef is the registry reference, unwrapped: the stall timer guards
// the requests here as it guards the pull (stallWatch.guard).
func (s *Store) keepLocal(ctx context.Context, sys *types.SystemContext, input string, named reference.Named, dockerRef types.ImageReference, o PullOptions) (*Image, error) {
	sref, err := istorage.Transport.NewStoreReference(s.store, named, "")
	if err != nil {
		return nil, nil
	}
	simg, err := istorage.Transport.GetStoreImage(s.store, sref)
	if err != nil {
		return nil, nil // not present: pull
	}
	registry := reference.Domain(named)
	var remote digest.Digest
	head := func(ctx context.Context) error {
		// The manifest itself rather than docker.GetDigest's HEAD: a source
		// goes through registries.conf's mirrors, as the pull would.
		src, err := dockerRef.NewImageSource(ctx, sys)
		if err != nil {
			return err
		}
		defer src.Close()
		raw, _, err := src.GetManifest(ctx, nil)
		if err != nil {
			return err
		}
		remote, err = manifest.Digest(raw)
		return err
	}
	timeout := o.StallTimeout
	if timeout == 0 {
		timeout = DefaultStallTimeout
	}
	if timeout > 0 {
		err = stallWatch{registry: registry, timeout: timeout}.guard(ctx, "the manifest of "+named.String(), head)
	} else {
		err = head(ctx)
	}
	name := reference.FamiliarString(named)
	switch {
	case err == nil:
		for _, d := range append(simg.Digests, simg.Digest) {
			if d == remote {
				img, err := s.describe(simg)
				if err != nil && removedMeanwhile(err) {
					return nil, nil // an rmi took it meanwhile: pull it
				}
				if err == nil && o.Out != nil && !o.Quiet {
					fmt.Fprintf(o.Out, "%s: up to date\n", name)
				}
				return img, err
			}
		}
		logrus.Debugf("%s: the registry has %s, the store %s: pulling", name, remote, simg.Digest)
		return nil, nil
	case ctx.Err() != nil:
		return nil, classify(input, registry, ctx.Err())
	case unreachable(err) && !o.offlineOK:
		return nil, classify(input, registry, err)
	case unreachable(err):
		msg := fmt.Sprintf("registry %s unreachable; using the local %s (%s)", registry, name, simg.Digest)
		if o.Out != nil {
			fmt.Fprintln(o.Out, "warning: "+msg)
		} else {
			logrus.Warn(msg) // the formatter says "warning: "
		}
		logrus.Debugf("checking the digest of %s: %v", name, err)
		img, err := s.describe(simg)
		if err != nil && removedMeanwhile(err) {
			return nil, nil // an rmi took it meanwhile: the pull says what it can
		}
		return img, err
	}
	logrus.Debugf("checking the digest of %s: %v: pulling", name, err)
	return nil, nil
}

// unreachable reports an error that says the registry could not be
// reached at all: refused, no route, no such host, or no answer in time.
func unreachable(err error) bool {
	var pe *PullError
	if errors.As(classify("", "", err), &pe) && errors.Is(pe.Err, ErrUnreachable) {
		return true
	}
	var ne net.Error
	return errors.Is(err, ErrStalled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &ne) && ne.Timeout()
}

package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	digest "github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/types"
)

// DefaultStallTimeout is how long a pull waits for a registry that sends
// nothing before it gives up (see the package doc).
const DefaultStallTimeout = 30 * time.Second

// ErrStalled reports a registry that stopped sending during a pull.
var ErrStalled = errors.New("registry stopped sending")

// StallError is a registry that sent nothing for Timeout while podbox
// fetched What from it.
type StallError struct {
	Registry string
	What     string // "the manifest of NAME", "blob sha256:…"
	Timeout  time.Duration
}

func (e *StallError) Error() string {
	return fmt.Sprintf("registry %s sent nothing for %s while podbox was fetching %s", e.Registry, e.Timeout, e.What)
}

func (e *StallError) Unwrap() error { return ErrStalled }

// stallWatch cancels a registry request that receives nothing for timeout.
type stallWatch struct {
	registry string
	timeout  time.Duration
}

// guard runs fn, one request (or a few) to the registry, and cancels it
// with a StallError if it has not returned after w.timeout.
func (w stallWatch) guard(ctx context.Context, what string, fn func(context.Context) error) error {
	cctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	t := time.AfterFunc(w.timeout, func() { cancel(w.stalled(what)) })
	err := fn(cctx)
	t.Stop()
	return stallCause(ctx, cctx, err)
}

func (w stallWatch) stalled(what string) error {
	return &StallError{Registry: w.registry, What: what, Timeout: w.timeout}
}

// stallCause is err, or the StallError that cancelled cctx to cause it. A
// cancelled parent (Ctrl-C) keeps its own error.
func stallCause(parent, cctx context.Context, err error) error {
	if err == nil || parent.Err() != nil {
		return err
	}
	var se *StallError
	if c := context.Cause(cctx); errors.As(c, &se) {
		return c
	}
	return err
}

// stallRef is an image reference whose sources give up on a stalled
// registry.
type stallRef struct {
	types.ImageReference
	w stallWatch
}

func (r stallRef) NewImageSource(ctx context.Context, sys *types.SystemContext) (types.ImageSource, error) {
	var src types.ImageSource
	err := r.w.guard(ctx, "the manifest of "+r.StringWithinTransport(), func(ctx context.Context) error {
		var err error
		src, err = r.ImageReference.NewImageSource(ctx, sys)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &stallSource{ImageSource: src, w: r.w}, nil
}

func (r stallRef) NewImage(ctx context.Context, sys *types.SystemContext) (types.ImageCloser, error) {
	src, err := r.NewImageSource(ctx, sys)
	if err != nil {
		return nil, err
	}
	img, err := imageFromSource(ctx, sys, src, nil)
	if err != nil {
		src.Close()
		return nil, err
	}
	return imageCloser{img, src}, nil
}

// imageCloser closes an image's source with it.
type imageCloser struct {
	types.Image
	src types.ImageSource
}

func (c imageCloser) Close() error { return c.src.Close() }

// stallSource guards each request of an image source, and each read of a
// blob: the timer runs only while podbox waits for the registry, not while
// the store writes what it received.
type stallSource struct {
	types.ImageSource
	w stallWatch
}

func (s *stallSource) GetManifest(ctx context.Context, instance *digest.Digest) (b []byte, mime string, err error) {
	what := "the manifest of " + s.Reference().StringWithinTransport()
	if instance != nil {
		what = "manifest " + instance.String()
	}
	err = s.w.guard(ctx, what, func(ctx context.Context) error {
		b, mime, err = s.ImageSource.GetManifest(ctx, instance)
		return err
	})
	return b, mime, err
}

func (s *stallSource) GetSignatures(ctx context.Context, instance *digest.Digest) (sigs [][]byte, err error) {
	err = s.w.guard(ctx, "the signatures of "+s.Reference().StringWithinTransport(), func(ctx context.Context) error {
		sigs, err = s.ImageSource.GetSignatures(ctx, instance)
		return err
	})
	return sigs, err
}

func (s *stallSource) LayerInfosForCopy(ctx context.Context, instance *digest.Digest) (infos []types.BlobInfo, err error) {
	err = s.w.guard(ctx, "the manifest of "+s.Reference().StringWithinTransport(), func(ctx context.Context) error {
		infos, err = s.ImageSource.LayerInfosForCopy(ctx, instance)
		return err
	})
	return infos, err
}

func (s *stallSource) GetBlob(ctx context.Context, info types.BlobInfo, cache types.BlobInfoCache) (io.ReadCloser, int64, error) {
	what := "blob " + info.Digest.String()
	cctx, cancel := context.WithCancelCause(ctx)
	t := time.AfterFunc(s.w.timeout, func() { cancel(s.w.stalled(what)) })
	rc, size, err := s.ImageSource.GetBlob(cctx, info, cache)
	t.Stop()
	if err != nil {
		err = stallCause(ctx, cctx, err)
		cancel(nil)
		return nil, 0, err
	}
	return &stallReader{rc: rc, parent: ctx, ctx: cctx, cancel: cancel, t: t, timeout: s.w.timeout}, size, nil
}

// stallReader is a blob's body: each Read that waits longer than timeout
// cancels the request, which ends the Read.
type stallReader struct {
	rc      io.ReadCloser
	parent  context.Context
	ctx     context.Context
	cancel  context.CancelCauseFunc
	t       *time.Timer
	timeout time.Duration
}

func (r *stallReader) Read(p []byte) (int, error) {
	r.t.Reset(r.timeout)
	n, err := r.rc.Read(p)
	r.t.Stop()
	if err != nil && err != io.EOF {
		err = stallCause(r.parent, r.ctx, err)
	}
	return n, err
}

func (r *stallReader) Close() error {
	r.t.Stop()
	err := r.rc.Close()
	r.cancel(nil)
	return err
}

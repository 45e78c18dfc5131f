package image

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/types"
)

// blockingSource is a registry that stops answering: its manifest never
// comes, nor its blobs' headers, or (headers) a blob sends one byte and
// then nothing, until the request's context ends.
type blockingSource struct {
	types.ImageSource // nil: only the methods below are called
	ref               types.ImageReference
	headers           bool
}

func (b blockingSource) Reference() types.ImageReference { return b.ref }

func (b blockingSource) GetManifest(ctx context.Context, _ *digest.Digest) ([]byte, string, error) {
	<-ctx.Done()
	return nil, "", ctx.Err()
}

func (b blockingSource) GetBlob(ctx context.Context, _ types.BlobInfo, _ types.BlobInfoCache) (io.ReadCloser, int64, error) {
	if !b.headers {
		<-ctx.Done()
		return nil, 0, ctx.Err()
	}
	return &blockingBody{ctx: ctx}, 10, nil
}

type blockingBody struct {
	ctx  context.Context
	sent bool
}

func (r *blockingBody) Read(p []byte) (int, error) {
	if !r.sent {
		r.sent = true
		p[0] = 'x'
		return 1, nil
	}
	<-r.ctx.Done()
	return 0, r.ctx.Err()
}

func (r *blockingBody) Close() error { return nil }

func TestStallSource(t *testing.T) {
	const timeout = 50 * time.Millisecond
	ref, err := docker.ParseReference("//reg.example:5000/app:1")
	if err != nil {
		t.Fatal(err)
	}
	blob := types.BlobInfo{Digest: digest.FromString("layer")}
	readBlob := func(ctx context.Context, s *stallSource) error {
		rc, _, err := s.GetBlob(ctx, blob, nil)
		if err != nil {
			return err
		}
		defer rc.Close()
		_, err = io.ReadAll(rc)
		return err
	}
	for _, tc := range []struct {
		name     string
		headers  bool // the blob's headers come, then one byte
		run      func(ctx context.Context, s *stallSource) error
		ctrlC    bool   // cancel the parent context, with no stall timeout
		wantWhat string // in StallError.What; "": want context.Canceled
	}{
		{name: "manifest never answered", run: func(ctx context.Context, s *stallSource) error {
			_, _, err := s.GetManifest(ctx, nil)
			return err
		}, wantWhat: "the manifest of //reg.example:5000/app:1"},
		{name: "blob headers never come", run: readBlob, wantWhat: "blob " + blob.Digest.String()},
		{name: "blob body stops", headers: true, run: readBlob, wantWhat: "blob " + blob.Digest.String()},
		{name: "Ctrl-C is not a stall", headers: true, run: readBlob, ctrlC: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s := &stallSource{ImageSource: blockingSource{ref: ref, headers: tc.headers}, w: stallWatch{registry: "reg.example:5000", timeout: timeout}}
			if tc.ctrlC {
				s.w.timeout = time.Hour
				time.AfterFunc(timeout, cancel)
			}
			start := time.Now()
			err := tc.run(ctx, s)
			if took := time.Since(start); took > 40*timeout {
				t.Errorf("took %s with a stall timeout of %s", took, timeout)
			}
			var se *StallError
			if tc.wantWhat == "" {
				if !errors.Is(err, context.Canceled) || errors.As(err, &se) {
					t.Fatalf("got %v, want context.Canceled", err)
				}
				return
			}
			if !errors.As(err, &se) || !errors.Is(err, ErrStalled) {
				t.Fatalf("got %v, want a StallError", err)
			}
			if se.Registry != "reg.example:5000" || se.Timeout != timeout || !strings.Contains(se.What, tc.wantWhat) {
				t.Errorf("got %+v, want registry reg.example:5000, timeout %s, what %q", se, timeout, tc.wantWhat)
			}
		})
	}
}

// slowBody sends a byte every gap, n times: slow, but not stalled. It
// fails once its request is cancelled, as an HTTP body does.
type slowBody struct {
	ctx context.Context
	gap time.Duration
	n   int
}

func (r *slowBody) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	time.Sleep(r.gap)
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	r.n--
	p[0] = 'x'
	return 1, nil
}

func (r *slowBody) Close() error { return nil }

type slowSource struct {
	types.ImageSource
	gap time.Duration
}

func (s slowSource) GetBlob(ctx context.Context, _ types.BlobInfo, _ types.BlobInfoCache) (io.ReadCloser, int64, error) {
	return &slowBody{ctx: ctx, gap: s.gap, n: 5}, 5, nil
}

// TestStallSourceSlow: a registry that keeps sending, however slowly, and
// a store that takes its time between reads are not stalls.
func TestStallSourceSlow(t *testing.T) {
	// The gap between the registry's bytes is a tenth of the timeout, so a
	// loaded machine's late timers do not make it a stall; the store's
	// pauses are twice the timeout, which must not count.
	const timeout = 200 * time.Millisecond
	s := &stallSource{ImageSource: slowSource{gap: timeout / 10}, w: stallWatch{registry: "r", timeout: timeout}}
	rc, _, err := s.GetBlob(context.Background(), types.BlobInfo{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	buf := make([]byte, 1)
	for n := 0; ; n++ {
		_, err := rc.Read(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read %d: %v", n, err)
		}
		time.Sleep(2 * timeout) // the store writing
	}
}

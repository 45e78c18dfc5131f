package image

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/docker/distribution/registry/api/errcode"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sirupsen/logrus"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/docker/archive"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/manifest"
	ociarchive "go.podman.io/image/v5/oci/archive"
	"go.podman.io/image/v5/pkg/shortnames"
	"go.podman.io/image/v5/signature"
	istorage "go.podman.io/image/v5/storage"
	"go.podman.io/image/v5/types"
	"go.podman.io/storage"
	"golang.org/x/term"
	corev1 "k8s.io/api/core/v1"
)

// Errors a pull reports, for errors.Is.
var (
	ErrImageNotFound = errors.New("image not known")
	ErrWrongArch     = errors.New("image is for another platform")
	ErrNeedsAuth     = errors.New("registry requires authentication")
	ErrUnreachable   = errors.New("registry unreachable")
	ErrNoSuchTag     = errors.New("no such image or tag in the registry")
	ErrAmbiguous     = errors.New("short name is ambiguous")
	ErrPolicyNever   = errors.New("image not present and imagePullPolicy is Never")
	// ErrRemovedWhilePulling is a pull that an rmi of the same image kept
	// undoing.
	ErrRemovedWhilePulling = errors.New("the image was removed while it was being pulled; pull again")
)

// PullOptions control a pull.
type PullOptions struct {
	Out       io.Writer         // progress and "Pulling" lines; nil: silent
	Quiet     bool              // no progress, only errors
	TLSVerify *bool             // nil: verify, except plain HTTP allowed for loopback registries
	Policy    corev1.PullPolicy // for Ensure; "": Kubernetes' default for the reference
	// Credentials are a pod's imagePullSecrets (auth.go); the one that
	// matches the image replaces the auth files. nil: the auth files.
	Credentials Credentials
	// StallTimeout ends a pull from a registry that sends nothing for that
	// long; 0: DefaultStallTimeout; < 0: wait forever.
	StallTimeout time.Duration
	// offlineOK lets a pull use the stored image when the registry cannot
	// be reached (keepLocal): set by Ensure, for a pod; an explicit pull
	// fails instead.
	offlineOK bool
}

// PullError is a failed pull: what, from where, and how to fix it.
type PullError struct {
	Ref      string // as the user wrote it
	Registry string // "" for a local transport
	Err      error
	hint     string
}

func (e *PullError) Error() string {
	if e.Registry != "" {
		return fmt.Sprintf("pulling %s from %s: %v", e.Ref, e.Registry, e.Err)
	}
	return fmt.Sprintf("pulling %s: %v", e.Ref, e.Err)
}

func (e *PullError) Unwrap() error { return e.Err }

// Hint says how to fix the failure, when podbox knows.
func (e *PullError) Hint() string { return e.hint }

// DefaultPullPolicy is Kubernetes' default imagePullPolicy for ref: Always
// for the tag latest or no tag (and no digest), else IfNotPresent.
func DefaultPullPolicy(ref string) corev1.PullPolicy {
	s, err := parseSource(ref)
	if err != nil || s.named == nil {
		return corev1.PullIfNotPresent
	}
	if t, ok := s.named.(reference.Tagged); ok {
		if t.Tag() == "latest" {
			return corev1.PullAlways
		}
		return corev1.PullIfNotPresent
	}
	if _, ok := s.named.(reference.Digested); ok {
		return corev1.PullIfNotPresent
	}
	return corev1.PullAlways
}

// Ensure makes ref present in the store as o.Policy asks: Always pulls,
// IfNotPresent pulls when missing, Never only looks.
func (s *Store) Ensure(ctx context.Context, ref string, o PullOptions) (*Image, error) {
	policy := o.Policy
	if policy == "" {
		policy = DefaultPullPolicy(ref)
	}
	o.offlineOK = true
	switch policy {
	case corev1.PullAlways:
		return s.Pull(ctx, ref, o)
	case corev1.PullIfNotPresent, corev1.PullNever:
		img, err := s.Lookup(ref)
		if err == nil {
			return img, nil
		}
		if !errors.Is(err, ErrImageNotFound) {
			return nil, err
		}
		if policy == corev1.PullNever {
			return nil, &PullError{Ref: ref, Err: ErrPolicyNever,
				hint: "run `podbox pull " + ref + "` first, or set imagePullPolicy: IfNotPresent"}
		}
		return s.Pull(ctx, ref, o)
	}
	return nil, fmt.Errorf("imagePullPolicy %q: must be Always, IfNotPresent or Never", policy)
}

// Pull copies ref into the store and returns the stored image. ref is a bare
// (maybe short) name for a registry, or transport:… for docker://, oci:,
// oci-archive:, docker-archive: and dir:. Cancelling ctx stops the pull and
// leaves the store as it was (go.podman.io/storage drops incomplete layers).
func (s *Store) Pull(ctx context.Context, ref string, o PullOptions) (*Image, error) {
	src, err := parseSource(ref)
	if err != nil {
		return nil, err
	}
	if src.ref != nil {
		return s.pullLocal(ctx, src, o)
	}
	sys := s.systemContext(o, "")
	tty := isTerminal(o.Out)
	if !tty {
		// No terminal to ask which registry: list the candidates instead.
		mode := types.ShortNameModePermissive
		sys.ShortNameMode = &mode
	}
	resolved, err := shortnames.Resolve(sys, src.docker)
	if err != nil {
		return nil, &PullError{Ref: ref, Err: err}
	}
	if len(resolved.PullCandidates) > 1 && !tty {
		var names []string
		for _, c := range resolved.PullCandidates {
			names = append(names, c.Value.String())
		}
		return nil, &PullError{Ref: ref, Err: fmt.Errorf("%w, and there is no terminal to ask: it could be %s", ErrAmbiguous, strings.Join(names, ", ")),
			hint: "write the full name, or add an alias under [aliases] in registries.conf"}
	}
	var errs []error
	for _, c := range resolved.PullCandidates {
		named := withTag(c.Value)
		img, err := s.pullDocker(ctx, ref, named, o)
		if err == nil {
			if err := c.Record(); err != nil {
				logrus.Warnf("recording short-name alias for %s: %v", ref, err)
			}
			return img, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		errs = append(errs, err)
	}
	if len(errs) == 1 {
		return nil, errs[0]
	}
	return nil, resolved.FormatPullErrors(errs)
}

func (s *Store) pullDocker(ctx context.Context, input string, named reference.Named, o PullOptions) (*Image, error) {
	registry := reference.Domain(named)
	fail := func(err error) error { return classify(input, registry, err) }
	srcRef, err := docker.NewReference(named)
	if err != nil {
		return nil, &PullError{Ref: input, Err: fmt.Errorf("%w: %w", ErrBadReference, err)}
	}
	if img, err := s.keepLocal(ctx, s.systemContext(o, registry), input, named, srcRef, o); img != nil || err != nil {
		return img, err
	}
	if t := o.StallTimeout; t >= 0 {
		if t == 0 {
			t = DefaultStallTimeout
		}
		srcRef = stallRef{ImageReference: srcRef, w: stallWatch{registry: registry, timeout: t}}
	}
	destRef, err := istorage.Transport.NewStoreReference(s.store, named, "")
	if err != nil {
		return nil, fail(err)
	}
	if o.Out != nil && !o.Quiet {
		fmt.Fprintf(o.Out, "Pulling %s\n", named.String())
	}
	sys := s.systemContext(o, registry)
	if a := o.Credentials.For(named); a != nil {
		sys.DockerAuthConfig = a
	}
	if _, err := checkPlatform(ctx, sys, srcRef); err != nil {
		return nil, fail(err)
	}
	img, err := s.copyAndRead(ctx, sys, srcRef, destRef, o)
	if err != nil {
		return nil, fail(err)
	}
	return img, nil
}

// pullLocal copies from oci:, oci-archive:, docker-archive: or dir:. An image
// without a name of its own is stored by ID, as Podman does.
func (s *Store) pullLocal(ctx context.Context, src source, o PullOptions) (*Image, error) {
	fail := func(err error) error { return classify(src.input, "", err) }
	sys := s.systemContext(o, "")
	configDigest, err := checkPlatform(ctx, sys, src.ref)
	if err != nil {
		return nil, fail(err)
	}
	named := src.ref.DockerReference()
	var more []string // further names a docker archive gives the image
	if named == nil && src.ref.Transport() == ociarchive.Transport {
		named = ociArchiveName(sys, src.ref)
	}
	if named == nil && src.ref.Transport() == archive.Transport {
		names := dockerArchiveNames(sys, src.ref)
		if len(names) > 0 {
			named = names[0]
			for _, n := range names[1:] {
				more = append(more, n.String())
			}
		}
	}
	id := ""
	if named == nil {
		id = configDigest.Encoded()
	}
	destRef, err := istorage.Transport.NewStoreReference(s.store, named, id)
	if err != nil {
		return nil, fail(err)
	}
	if o.Out != nil && !o.Quiet {
		fmt.Fprintf(o.Out, "Pulling %s\n", src.input)
	}
	img, err := s.copyAndRead(ctx, sys, src.ref, destRef, o)
	if err != nil {
		return nil, fail(err)
	}
	if len(more) > 0 {
		if err := s.store.AddNames(img.ID, more); err != nil {
			if removedMeanwhile(err) {
				return nil, fail(ErrRemovedWhilePulling)
			}
			return nil, fmt.Errorf("naming image %.12s: %w", img.ID, err)
		}
		img.Names = append(img.Names, more...)
	}
	return img, nil
}

// pullAttempts bounds copyAndRead's attempts.
const pullAttempts = 3

// copyAndRead copies src to dest in the store and reads the stored image.
// An rmi of the same image at the same time may delete a layer the copy
// reuses, or the image just stored (go.podman.io/storage locks each call,
// not a whole pull): then it copies again, up to pullAttempts times, and
// says so in words if that does not help.
func (s *Store) copyAndRead(ctx context.Context, sys *types.SystemContext, src, dest types.ImageReference, o PullOptions) (*Image, error) {
	for attempt := 1; ; attempt++ {
		err := s.copy(ctx, sys, src, dest, o)
		var img *Image
		if err == nil {
			img, err = s.imageFor(dest)
		}
		if err == nil || !removedMeanwhile(err) || ctx.Err() != nil {
			return img, err
		}
		if attempt == pullAttempts {
			logrus.Debugf("pull attempt %d: %v", attempt, err)
			return nil, ErrRemovedWhilePulling
		}
		logrus.Infof("the image or one of its layers was removed while it was being pulled (%v): pulling again", err)
	}
}

// removedMeanwhile reports a store error that a concurrent removal causes.
func removedMeanwhile(err error) bool {
	return errors.Is(err, storage.ErrImageUnknown) || errors.Is(err, storage.ErrLayerUnknown) ||
		errors.Is(err, storage.ErrParentUnknown) || errors.Is(err, storage.ErrNotAnImage) ||
		errors.Is(err, storage.ErrNotALayer) || errors.Is(err, storage.ErrNotAnID)
}

// ociArchiveName returns the name the index of an oci-archive: gives the
// image ref names (its io.containerd.image.name or
// org.opencontainers.image.ref.name annotation, as `skopeo copy …
// oci-archive:FILE:NAME:TAG` writes it), normalized as Podman's libimage
// does: a name without a registry goes under localhost/, and without a tag
// gets :latest. nil if there is none.
func ociArchiveName(sys *types.SystemContext, ref types.ImageReference) reference.Named {
	desc, err := ociarchive.LoadManifestDescriptorWithContext(sys, ref)
	if err != nil {
		return nil
	}
	name := desc.Annotations["io.containerd.image.name"]
	if name == "" {
		name = desc.Annotations[imgspecv1.AnnotationRefName]
	}
	if name == "" {
		return nil
	}
	n, err := normalizeLocalName(name)
	if err != nil {
		logrus.Warnf("%s: ignoring the image name %q in the archive's index: %v", ref.StringWithinTransport(), name, err)
		return nil
	}
	return n
}

// normalizeLocalName is libimage's NormalizeName: name as written if its
// first component is a registry (has a dot or a colon, or is localhost),
// else under localhost/ (not docker.io: the image did not come from there);
// :latest if it has neither tag nor digest.
func normalizeLocalName(name string) (reference.Named, error) {
	ref, err := reference.Parse(name)
	if err != nil {
		return nil, err
	}
	named, ok := ref.(reference.Named)
	if !ok {
		return nil, fmt.Errorf("%q is not a named reference", name)
	}
	if d := reference.Domain(named); !strings.ContainsAny(d, ".:") && d != "localhost" {
		if named, err = reference.ParseNamed("localhost/" + name); err != nil {
			return nil, err
		}
	}
	return reference.TagNameOnly(named), nil
}

// dockerArchiveNames returns the tags a docker-archive: holds for the image
// ref names (its manifest.json RepoTags), normalized, as `docker load` and
// Podman name it.
func dockerArchiveNames(sys *types.SystemContext, ref types.ImageReference) []reference.Named {
	r, ref, err := archive.NewReaderForReference(sys, ref)
	if err != nil {
		return nil
	}
	defer r.Close()
	tags, err := r.ManifestTagsForReference(ref)
	if err != nil {
		return nil
	}
	var out []reference.Named
	for _, t := range tags {
		if n, err := reference.ParseNormalizedNamed(t); err == nil {
			out = append(out, reference.TagNameOnly(n))
		}
	}
	return out
}

// copy copies src to dest in the store. If it fails, the layers it stored
// go too (see dropNewLayers).
func (s *Store) copy(ctx context.Context, sys *types.SystemContext, src, dest types.ImageReference, o PullOptions) (err error) {
	policy, err := policyContext(sys)
	if err != nil {
		return err
	}
	defer policy.Destroy()
	tmp, end := s.beginPull()
	defer end()
	sys.BigFilesTemporaryDir = tmp
	before := s.layerIDs()
	defer func() {
		if err != nil {
			s.dropNewLayers(before, tmp)
		}
	}()
	opts := &copy.Options{SourceCtx: sys, DestinationCtx: sys}
	if o.Out != nil && !o.Quiet {
		// Bars (mpb) on a terminal, "Copying blob …" lines elsewhere.
		opts.ReportWriter = o.Out
		if f, ok := o.Out.(*os.File); ok {
			if w, _, err := term.GetSize(int(f.Fd())); err == nil && w == 0 {
				// A terminal without a size (a bare pty) shows no bars at
				// all: hide that it is a terminal, for plain lines.
				opts.ReportWriter = struct{ io.Writer }{o.Out}
			}
		}
	}
	_, err = copy.Image(ctx, policy, dest, src, opts)
	return err
}

// checkPlatform reads the image's config (choosing from a manifest list as
// a pull would) and refuses an image for another OS or architecture before
// anything is stored. It returns the config digest.
func checkPlatform(ctx context.Context, sys *types.SystemContext, ref types.ImageReference) (configDigest digestT, err error) {
	src, err := ref.NewImageSource(ctx, sys)
	if err != nil {
		return "", err
	}
	defer src.Close()
	raw, mime, err := src.GetManifest(ctx, nil)
	if err != nil {
		return "", err
	}
	var instance *digestT
	if manifest.MIMETypeIsMultiImage(mime) {
		list, err := manifest.ListFromBlob(raw, mime)
		if err != nil {
			return "", err
		}
		d, err := list.ChooseInstance(sys)
		if err != nil {
			return "", fmt.Errorf("%w: %w", ErrWrongArch, err)
		}
		instance = &d
	}
	img, err := imageFromSource(ctx, sys, src, instance)
	if err != nil {
		return "", err
	}
	cfg, err := img.OCIConfig(ctx)
	if err != nil {
		return "", err
	}
	if cfg.OS != "" && cfg.OS != runtime.GOOS || cfg.Architecture != "" && cfg.Architecture != runtime.GOARCH {
		return "", fmt.Errorf("%w: it is %s/%s, this machine runs %s/%s", ErrWrongArch, cfg.OS, cfg.Architecture, runtime.GOOS, runtime.GOARCH)
	}
	return img.ConfigInfo().Digest, nil
}

// classify wraps a pull failure with what podbox knows about it.
func classify(input, registry string, err error) error {
	var pe *PullError
	if errors.As(err, &pe) {
		return err
	}
	e := &PullError{Ref: input, Registry: registry, Err: err}
	var ec errcode.Error
	var unauth docker.ErrUnauthorizedForCredentials
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	var stall *StallError
	switch {
	case errors.As(err, &stall):
		e.Err = stall // c/image's chain of wrappers adds nothing here
		e.hint = "is " + registry + " overloaded or behind a broken proxy? Try again, or wait longer with --stall-timeout (PODBOX_PULL_STALL_TIMEOUT)"
	case errors.Is(err, context.Canceled):
		e.Err = fmt.Errorf("interrupted: %w", err)
	case errors.As(err, &unauth), errors.As(err, &ec) && (ec.Code == errcode.ErrorCodeUnauthorized || ec.Code == errcode.ErrorCodeDenied):
		e.Err = fmt.Errorf("%w: %w", ErrNeedsAuth, err)
		e.hint = "log in with `podman login " + registry + "`, which writes " + authFileHint()
	case errors.As(err, &ec) && (ec.Code.String() == "MANIFEST_UNKNOWN" || ec.Code.String() == "NAME_UNKNOWN"):
		e.Err = fmt.Errorf("%w: %w", ErrNoSuchTag, err)
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH), errors.As(err, &dnsErr):
		e.Err = fmt.Errorf("%w: %w", ErrUnreachable, err)
		e.hint = "is the registry running, and is its address right?"
	case errors.As(err, &certErr), errors.As(err, &recErr):
		e.hint = "if " + registry + " is yours and has no valid certificate, set insecure = true for it in registries.conf, or pass --tls-verify=false"
	case errors.Is(err, ErrWrongArch):
		e.hint = "pull an image built for " + runtime.GOOS + "/" + runtime.GOARCH
	}
	return e
}

func authFileHint() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "containers", "auth.json")
	}
	return "~/.docker/config.json"
}

// systemContext is go.podman.io/image's configuration for a pull from
// registry ("": any). See the package doc for why each field is set.
func (s *Store) systemContext(o PullOptions, registry string) *types.SystemContext {
	sys := &types.SystemContext{
		BlobInfoCacheDir: filepath.Join(s.dataDir, "cache"),
	}
	if registry != "" {
		sys.DockerInsecureSkipTLSVerify = tlsVerifyFor(registry, o.TLSVerify)
	} else if o.TLSVerify != nil {
		sys.DockerInsecureSkipTLSVerify = types.NewOptionalBool(!*o.TLSVerify)
	}
	if p := os.Getenv("REGISTRY_AUTH_FILE"); p != "" {
		sys.AuthFilePath = p // as Podman and Skopeo honour it
	}
	if p := userPolicyPath(); p != "" {
		sys.SignaturePolicyPath = p
	}
	return sys
}

// userPolicyPath finds policy.json where Podman looks for a rootless user.
func userPolicyPath() string {
	var cands []string
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" {
		cands = append(cands, filepath.Join(d, "containers", "policy.json"))
	}
	if h, err := os.UserHomeDir(); err == nil {
		cands = append(cands, filepath.Join(h, ".config", "containers", "policy.json"))
	}
	cands = append(cands, "/etc/containers/policy.json")
	for _, p := range cands {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// policyContext is the signature policy: policy.json if the user or the
// system has one, else Podman's default, accept anything.
func policyContext(sys *types.SystemContext) (*signature.PolicyContext, error) {
	var policy *signature.Policy
	var err error
	if sys.SignaturePolicyPath != "" {
		policy, err = signature.NewPolicyFromFile(sys.SignaturePolicyPath)
	} else {
		policy = &signature.Policy{Default: signature.PolicyRequirements{signature.NewPRInsecureAcceptAnything()}}
	}
	if err != nil {
		return nil, fmt.Errorf("reading signature policy: %w", err)
	}
	return signature.NewPolicyContext(policy)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && term.IsTerminal(int(os.Stdin.Fd()))
}

# podbox: the targets the README and CI call. `make help` lists them.

BUILDTAGS := containers_image_openpgp exclude_graphdriver_btrfs exclude_graphdriver_devicemapper
export CGO_ENABLED := 0
# GOFLAGS, GOMODCACHE and GOCACHE come from the environment untouched, so a
# build as root uses root's module cache.
GO ?= go

VERSION ?= $(shell git describe --tags --dirty 2>/dev/null || echo "0.1.0-dev+$$(git rev-parse --short HEAD 2>/dev/null || echo unknown)")
LDFLAGS := -X main.version=$(VERSION)

# make e2e E2E_FILTER=000         runs tests/000*.bats only
# make e2e BATS_ARGS='--filter logs'   passes arguments to bats
E2E_FILTER ?=
BATS_ARGS ?=
E2E_FILES = $(if $(E2E_FILTER),$(sort $(wildcard tests/$(E2E_FILTER)*.bats)),tests/)

IS_ROOT := $(shell [ "$$(id -u)" -eq 0 ] && echo yes)

.PHONY: all help build install deps unit unit-userns e2e test lint bench stress demo clean

all: build

help: ## this list
	@grep -E '^[a-z0-9]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  make %-7s %s\n", $$1, $$2 }'

# bin/podbox-dynamic is podbox as `go build ./cmd/podbox` or `go install` makes
# it: cgo on, no tags, so dynamically linked (needs libgpgme-dev, libbtrfs-dev:
# make deps). The e2e tests check that it runs pods too.
# bin/podbox-pod is the pods' PID 1 (issue 10), which both find beside them.
# Not -trimpath: that drops -ldflags from the build information, where podbox
# reads the main.version that proves podbox-pod of its own build
# (sandbox/podbinary.go).
build: ## bin/podbox (static), bin/podbox-pod (the pods' process), bin/podbox-dynamic (as `go build` makes it) and bin/testimages
	$(GO) build -tags '$(BUILDTAGS)' -ldflags '$(LDFLAGS)' -o bin/podbox ./cmd/podbox
	$(GO) build -ldflags '-s -w $(LDFLAGS)' -o bin/podbox-pod ./cmd/podbox-pod
	CGO_ENABLED=1 $(GO) build -ldflags '$(LDFLAGS)' -o bin/podbox-dynamic ./cmd/podbox
	$(GO) build -tags '$(BUILDTAGS)' -o bin/testimages ./tests/testimages

# make install PREFIX=$HOME/.local   installs for one user (no root)
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec

install: build ## podbox into $(BINDIR), podbox-pod into $(LIBEXECDIR)/podbox (PREFIX=/usr/local; DESTDIR for packages)
	install -D -m 0755 bin/podbox $(DESTDIR)$(BINDIR)/podbox
	install -D -m 0755 bin/podbox-pod $(DESTDIR)$(LIBEXECDIR)/podbox/podbox-pod

deps: ## install the packages podbox and its tests need (root; checks only otherwise)
	scripts/install-deps.sh

unit: ## Go unit tests
	$(GO) test -tags '$(BUILDTAGS)' ./...

# Go tests that need a user namespace (they use tests/nstest) skip as root:
# build their binaries here and run them as the test user.
NSTEST_PKGS := ./mounts ./sandbox/ociruntime ./sandbox/ociruntime/probe ./image ./sandbox/podproto
NSTEST_RUN := ^(TestRootfs|TestContainer|TestProbe|TestFullDisk|TestMountFD)$$

unit-userns: ## Go tests that need a user namespace, as the test user
	@mkdir -p bin/nstest
	@for p in $(NSTEST_PKGS); do $(GO) test -c -tags '$(BUILDTAGS)' -o bin/nstest/$$(basename $$p).test $$p || exit 1; done
ifeq ($(IS_ROOT),yes)
	scripts/test-user.sh create
	@for t in bin/nstest/*.test; do echo "$$t"; out=$$(scripts/test-user.sh run "$$t" -test.v -test.run '$(NSTEST_RUN)' 2>&1); rc=$$?; echo "$$out" | grep -E '^(--- |ok|PASS|FAIL)'; \
		[ $$rc -eq 0 ] || { echo "$$out"; exit 1; }; ! echo "$$out" | grep -q -- '--- SKIP' || { echo "$$t: a user-namespace test skipped as the test user"; exit 1; }; done
else
	@for t in bin/nstest/*.test; do echo "$$t"; "$$t" || exit 1; done
endif

e2e: build ## bats end-to-end tests, as the test user podbox-test
	@test -n "$(E2E_FILES)" || { echo "no tests/$(E2E_FILTER)*.bats" >&2; exit 1; }
ifeq ($(IS_ROOT),yes)
	scripts/test-user.sh create
	scripts/test-user.sh run bats $(BATS_ARGS) $(E2E_FILES)
else
	@grep -q "^$$(id -un):" /etc/subuid || { echo "$$(id -un) has no range in /etc/subuid: run 'sudo make e2e' to use the test user" >&2; exit 1; }
	bats $(BATS_ARGS) $(E2E_FILES)
endif

test: deps build lint unit unit-userns e2e ## everything: deps, build, lint, unit, then the user-namespace and e2e tests as the test user

lint: ## gofmt, go vet and shellcheck
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt -l: these need formatting:"; echo "$$out"; exit 1; fi
	$(GO) vet -tags '$(BUILDTAGS)' ./...
	shellcheck scripts/*.sh .ci/run
	shellcheck -s bash -x tests/helpers.bash tests/setup_suite.bash
	shellcheck -x tests/*.bats

bench: ## benchmarks
	@$(MAKE) --no-print-directory build
	$(GO) build -o bin/bench ./tests/bench
	bin/bench

# make stress PODS=4 ROUNDS=2        a smaller run (default 20 pods, 10 rounds)
PODS ?= 20
ROUNDS ?= 10

stress: build ## reliability: PODS pods at once x ROUNDS, down --all races, SIGKILLs; lists leaks (not in test)
ifeq ($(IS_ROOT),yes)
	scripts/test-user.sh create
	scripts/test-user.sh run scripts/stress.sh --pods $(PODS) --rounds $(ROUNDS)
else
	scripts/stress.sh --pods $(PODS) --rounds $(ROUNDS)
endif

demo: deps build ## install, build, then run a real pod (examples/demo.yaml) as an ordinary user
ifeq ($(IS_ROOT),yes)
	scripts/test-user.sh create
	scripts/test-user.sh run bin/podbox info
	scripts/test-user.sh run examples/demo.sh
else
	bin/podbox info
	examples/demo.sh
endif

clean: ## remove build outputs
	rm -rf bin

# -*- bash -*-
# setup_suite.bash: once per bats run, as the test user (never root):
# a registry with the test images, the image archives, and per-suite XDG
# directories so that podbox never touches the user's real data.

# shellcheck source=tests/helpers.bash
source "$(dirname "${BASH_SOURCE[0]}")/helpers.bash"

_SUITE_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

setup_suite() {
    if [[ $(id -u) -eq 0 ]]; then
        echo "FATAL: the podbox tests run as an ordinary user, never root (rootless is the point)." >&2
        echo "       As root: make e2e   (creates podbox-test and runs bats as it)" >&2
        echo "       or:      scripts/test-user.sh create && scripts/test-user.sh run bats tests/" >&2
        return 1
    fi
    local f
    for f in "$PODBOX" "$_SUITE_REPO/bin/testimages"; do
        if [[ ! -x $f ]]; then
            echo "FATAL: $f is missing: run 'make build' first" >&2
            return 1
        fi
    done

    # The Debian trees are cached across runs in the user's own cache.
    local debian_cache=${PODBOX_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/podbox-test}/debian

    # Marks every process this suite starts, for the leak check.
    PODBOX_TEST_SUITE_ID="suite-$$-$(random_string 6)"
    export PODBOX_TEST_SUITE_ID

    export XDG_DATA_HOME=$BATS_SUITE_TMPDIR/xdg/data
    export XDG_CONFIG_HOME=$BATS_SUITE_TMPDIR/xdg/config
    export XDG_CACHE_HOME=$BATS_SUITE_TMPDIR/xdg/cache
    mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME"
    # Its own runtime dir too (pods' sockets, runroot): two suites running
    # at once never see each other's pods.
    export XDG_RUNTIME_DIR=$BATS_SUITE_TMPDIR/xdg/run
    mkdir -p "$XDG_RUNTIME_DIR"
    chmod 0700 "$XDG_RUNTIME_DIR"

    export PODBOX_TEST_REGISTRY_DIR=$BATS_SUITE_TMPDIR/registry
    PODBOX_TEST_REGISTRY=$("$_SUITE_REPO/scripts/registry.sh" start "$PODBOX_TEST_REGISTRY_DIR")
    export PODBOX_TEST_REGISTRY

    # The registry speaks plain HTTP: say so to containers/image in the
    # suite's own registries.conf, for podbox. (Debian 12's skopeo 1.9 reads
    # neither this variable nor $XDG_CONFIG_HOME: give it --tls-verify=false.)
    mkdir -p "$XDG_CONFIG_HOME/containers"
    export CONTAINERS_REGISTRIES_CONF=$XDG_CONFIG_HOME/containers/registries.conf
    cat >"$CONTAINERS_REGISTRIES_CONF" <<EOF
[[registry]]
location = "$PODBOX_TEST_REGISTRY"
insecure = true
EOF

    # The images built from Debian packages (tests/470-debian.bats), from
    # trees that scripts/debian-image.sh builds with mmdebstrap (minutes,
    # once per state of the archive) and caches. PODBOX_TEST_DEBIAN=0 leaves
    # them out and the 470 tests skip, saying why; not in CI, where a
    # Debian archive that cannot be reached fails the suite.
    local -a debian=()
    if [[ ${PODBOX_TEST_DEBIAN:-1} == 0 && -z ${CI:-} ]]; then
        _suite_note "PODBOX_TEST_DEBIAN=0: no Debian images, tests/470-debian.bats skips"
    else
        local log=$BATS_SUITE_TMPDIR/debian-image.log line
        _suite_note "Debian test images: scripts/debian-image.sh $debian_cache (minutes when the archive has changed, else seconds)"
        if ! PODBOX_TEST_DEBIAN_DIR=$("$_SUITE_REPO/scripts/debian-image.sh" "$debian_cache" 2>"$log"); then
            cat "$log" >&2
            return 1
        fi
        export PODBOX_TEST_DEBIAN_DIR
        while IFS= read -r line; do
            _suite_note "$line"
        done <"$log"
        debian=(-debian "$PODBOX_TEST_DEBIAN_DIR")
    fi

    export PODBOX_TEST_ARCHIVES=$BATS_SUITE_TMPDIR/images
    "$_SUITE_REPO/bin/testimages" -registry "$PODBOX_TEST_REGISTRY" -out "$PODBOX_TEST_ARCHIVES" "${debian[@]}"
}

# _suite_note MSG: a line in bats' output (fd 3), where there is one.
_suite_note() {
    if { true >&3; } 2>/dev/null; then
        echo "# $*" >&3
    fi
}

teardown_suite() {
    local rc=0
    # The suite's store holds subuid-owned files that only podbox, from
    # inside its user namespace, can delete.
    "$PODBOX" down --all >/dev/null 2>&1 || true
    "$PODBOX" system reset --force >/dev/null || rc=1
    if [[ -n ${PODBOX_TEST_REGISTRY_DIR:-} ]]; then
        "$_SUITE_REPO/scripts/registry.sh" stop "$PODBOX_TEST_REGISTRY_DIR" || rc=1
    fi
    check_leaks || rc=1
    return $rc
}

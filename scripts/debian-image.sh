#!/usr/bin/env bash
# debian-image.sh: the root file systems of the test images built from
# Debian packages, with mmdebstrap from the Debian archive, cached.
#
#   debian-image.sh CACHE_DIR     prints the directory that holds
#                                 base.tar   minbase: Essential:yes + apt
#                                 nginx.tar  the same + nginx-light
#                                 versions   package=version of nginx.tar
#
# bin/testimages -debian DIR turns them into a multi-layer image (base.tar,
# then what nginx-light changed, then a page), keeps it in DIR/oci-* for the
# next run, and pushes it.
#
# It runs as an ordinary user: mmdebstrap's unshare mode builds inside a
# user namespace made from the user's /etc/subuid range, so the tarballs keep
# the owners Debian gives the files (root, www-data's logs, group shadow).
#
# The cache: CACHE_DIR/KEY, where KEY hashes this script and the InRelease
# files of the suites (so it changes when any package of the archive does,
# and a second run costs a few small downloads). A build in progress holds
# CACHE_DIR/lock; older keys are removed after a build.
#
# If the archive cannot be reached: with CI set, fail; otherwise use the
# newest cached build with a warning, and fail when there is none.
#
# Environment: PODBOX_DEBIAN_MIRROR (default http://deb.debian.org/debian),
# PODBOX_DEBIAN_SECURITY (http://deb.debian.org/debian-security). The suite
# is bookworm (Debian 12): tests/testimages names the images after it.
set -euo pipefail

MIRROR=${PODBOX_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${PODBOX_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
SUITE=bookworm
# mmdebstrap runs dpkg and ldconfig from /usr/sbin and /sbin.
export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin

say() { echo "debian-image: $*" >&2; }
die() {
    say "$*"
    exit 1
}

[[ $# -eq 1 ]] || {
    echo "usage: $0 CACHE_DIR" >&2
    exit 2
}
CACHE=$1
command -v mmdebstrap >/dev/null || die "mmdebstrap not found: install it (sudo scripts/install-deps.sh)"

SOURCES=(
    "deb $MIRROR $SUITE main"
    "deb $MIRROR $SUITE-updates main"
    "deb $SECURITY $SUITE-security main"
)
# Options of both runs; the same, so that the second tree differs from the
# first only by what nginx-light brought.
#   Check-Valid-Until: a snapshot of the archive has an expired Valid-Until.
#   merged-usr: /bin -> usr/bin as bookworm has it, made by mmdebstrap's
#   hook rather than the usrmerge package (which would bring perl along).
#   path-exclude: the docs, man pages and translations, as Debian's slim
#   container images leave them out (copyright files stay).
MMDEBSTRAP=(
    mmdebstrap --mode=unshare --variant=minbase --format=tar
    --aptopt='Acquire::Check-Valid-Until "false"'
    --aptopt='Acquire::Retries "3"'
    --dpkgopt='path-exclude=/usr/share/man/*'
    --dpkgopt='path-exclude=/usr/share/info/*'
    --dpkgopt='path-exclude=/usr/share/locale/*'
    --dpkgopt='path-exclude=/usr/share/doc/*'
    --dpkgopt='path-include=/usr/share/doc/*/copyright'
    --dpkgopt='force-unsafe-io'
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
)

mkdir -p "$CACHE"
CACHE=$(realpath "$CACHE")

# without_fds CMD...: CMD with only stdin, stdout and stderr open. mmdebstrap
# hands apt a pipe as `cat >&FD`, run by dash, which knows only fds 0-9: with
# the fds that bats and our lock hold open, its pipe is fd 11 and apt fails.
without_fds() {
    (
        local f fd
        for f in /proc/"$BASHPID"/fd/*; do
            fd=${f##*/}
            if ((fd > 2)); then
                eval "exec $fd>&-"
            fi
        done
        exec "$@"
    )
}

# newest: the newest complete build in the cache, or nothing.
newest() {
    local d
    d=$(find "$CACHE" -mindepth 2 -maxdepth 2 -name 'done' -printf '%T@ %h\n' 2>/dev/null | sort -rn | head -n1 | cut -d' ' -f2-)
    [[ -z $d ]] || echo "$d"
}

# The key: this script and the state of the archive.
key_input=$(mktemp)
base_pid=""
trap 'rm -f "$key_input"; [[ -z $base_pid ]] || kill "$base_pid" 2>/dev/null || true' EXIT
{
    sha256sum <"${BASH_SOURCE[0]}"
    printf '%s\n' "${SOURCES[@]}"
} >"$key_input"
for url in "$MIRROR/dists/$SUITE/InRelease" "$MIRROR/dists/$SUITE-updates/InRelease" "$SECURITY/dists/$SUITE-security/InRelease"; do
    if ! curl -fsS --max-time 30 --retry 2 "$url" >>"$key_input" 2>"$key_input.err"; then
        err=$(tr '\n' ' ' <"$key_input.err")
        rm -f "$key_input.err"
        if [[ -n ${CI:-} ]]; then
            die "cannot reach the Debian archive ($url: $err): the Debian test images need it (set PODBOX_DEBIAN_MIRROR to a reachable mirror)"
        fi
        old=$(newest)
        [[ -n $old ]] || die "cannot reach the Debian archive ($url: $err) and nothing is cached in $CACHE: set PODBOX_DEBIAN_MIRROR to a reachable mirror"
        say "WARNING: cannot reach the Debian archive ($url: $err): using the cached build $old"
        echo "$old"
        exit 0
    fi
done
rm -f "$key_input.err"
key=$(sha256sum <"$key_input" | cut -c1-16)
dir=$CACHE/$key

if [[ -e $dir/done ]]; then
    echo "$dir"
    exit 0
fi

exec 9>"$CACHE/lock"
if ! flock -n 9; then
    say "another build holds $CACHE/lock: waiting for it (minutes at most)"
    flock 9
fi
if [[ -e $dir/done ]]; then # another run built it while we waited
    echo "$dir"
    exit 0
fi

start=$SECONDS
rm -rf "$dir"
mkdir -p "$dir"
say "building $SUITE minbase and nginx-light with mmdebstrap into $dir (once per archive state)"
# The two trees are built at once (dpkg mostly waits on one core); the
# progress of each goes to a log, printed when it fails.
without_fds "${MMDEBSTRAP[@]}" "$SUITE" "$dir/base.tar" "${SOURCES[@]}" >"$dir/base.log" 2>&1 &
base_pid=$!
nginx_rc=0
without_fds "${MMDEBSTRAP[@]}" --include=nginx-light "$SUITE" "$dir/nginx.tar" "${SOURCES[@]}" >"$dir/nginx.log" 2>&1 || nginx_rc=$?
base_rc=0
wait "$base_pid" || base_rc=$?
base_pid=""
if [[ $base_rc -ne 0 ]]; then
    cat "$dir/base.log" >&2
    die "mmdebstrap of the minbase tree failed (log above)"
fi
if [[ $nginx_rc -ne 0 ]]; then
    cat "$dir/nginx.log" >&2
    die "mmdebstrap of the nginx-light tree failed (log above)"
fi
tar -xOf "$dir/nginx.tar" ./var/lib/dpkg/status |
    awk '/^Package:/ { p = $2 } /^Version:/ { print p "=" $2 }' | sort >"$dir/versions"
touch "$dir/done"
say "built in $((SECONDS - start)) s: $(grep -c . "$dir/versions") packages, nginx-light $(sed -n 's/^nginx-light=//p' "$dir/versions")"

# Older builds go: the archive has moved on. Only directories named as a
# key are ours: CACHE_DIR may hold anything else.
find "$CACHE" -mindepth 1 -maxdepth 1 -type d -regextype posix-extended -regex '.*/[0-9a-f]{16}' ! -name "$key" -exec rm -rf {} +
echo "$dir"

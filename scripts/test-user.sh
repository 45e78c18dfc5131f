#!/usr/bin/env bash
# test-user.sh: the ordinary user the end-to-end tests run as, because
# rootless is the point of podbox. Safe to rerun.
#
#   test-user.sh create        (root) the user podbox-test, its /etc/subuid and
#                              /etc/subgid ranges (65536 ids) and its
#                              XDG_RUNTIME_DIR /run/user/UID (0700)
#   test-user.sh run CMD...    CMD as podbox-test, from the repository, with a
#                              clean environment: HOME USER LOGNAME
#                              XDG_RUNTIME_DIR PATH TERM, plus CI and every
#                              PODBOX_* and BATS_* variable
#
# The user must be able to read the checkout. If it cannot (a checkout under
# /root, say), `run` says so and, as root, runs from a copy of bin/, scripts/
# and tests/ in the user's home instead.
set -euo pipefail

TEST_USER=${PODBOX_TEST_USER:-podbox-test}
RANGE=65536
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

die() {
    echo "test-user.sh: $*" >&2
    exit 1
}

need_root() {
    [[ $(id -u) -eq 0 ]] || die "$1 needs root (sudo $0 $1)"
}

# add_range FILE: give the user RANGE ids in FILE, after every range there.
add_range() {
    local file=$1 start
    touch "$file"
    if grep -q "^$TEST_USER:" "$file" || grep -q "^$(id -u "$TEST_USER"):" "$file"; then
        return 0
    fi
    start=$(awk -F: 'NF >= 3 && $2 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ { end = $2 + $3; if (end > max) max = end }
        END { print (max > 100000 ? max : 100000) }' "$file")
    echo "$TEST_USER:$start:$RANGE" >>"$file"
    echo "test-user.sh: added $TEST_USER:$start:$RANGE to $file" >&2
}

runtime_dir() {
    local uid gid dir
    uid=$(id -u "$TEST_USER")
    gid=$(id -g "$TEST_USER")
    dir=/run/user/$uid
    mkdir -p /run/user
    install -d -m 0700 -o "$uid" -g "$gid" "$dir"
    # install -d leaves an existing directory's owner and mode alone.
    chown "$uid:$gid" "$dir"
    chmod 0700 "$dir"
}

# as_user CMD...: CMD as the test user, with no environment at all.
as_user() {
    if [[ $(id -u) -eq 0 ]]; then
        setpriv --reuid="$TEST_USER" --regid="$(id -g "$TEST_USER")" --init-groups -- env -i "$@"
    else
        env -i "$@"
    fi
}

# unreachable DIR: print the first directory on DIR's path that the test
# user cannot enter or read, or nothing.
unreachable() {
    local p="" part
    local -a parts
    IFS=/ read -r -a parts <<<"${1#/}"
    for part in "${parts[@]}"; do
        p="$p/$part"
        if ! as_user test -x "$p"; then
            echo "$p"
            return
        fi
    done
    if ! as_user test -r "$1"; then
        echo "$1"
    fi
}

create() {
    need_root create
    if ! id "$TEST_USER" >/dev/null 2>&1; then
        useradd --create-home --home-dir "/home/$TEST_USER" --shell /bin/bash --user-group "$TEST_USER"
        echo "test-user.sh: created user $TEST_USER (uid $(id -u "$TEST_USER"))" >&2
    fi
    # No password: the account is for runuser/setpriv only.
    passwd -q -l "$TEST_USER" >/dev/null 2>&1 || true
    install -d -m 0755 -o "$TEST_USER" -g "$(id -g "$TEST_USER")" "/home/$TEST_USER"
    add_range /etc/subuid
    add_range /etc/subgid
    runtime_dir
    local bad
    bad=$(unreachable "$REPO")
    if [[ -n $bad ]]; then
        echo "test-user.sh: note: $TEST_USER cannot reach the checkout $REPO ($bad is mode $(stat -c %a "$bad")):" >&2
        echo "test-user.sh: 'run' will use a copy in /home/$TEST_USER; to avoid it, move the checkout or: chmod o+rx $bad" >&2
    fi
}

# stage: copy what the tests read into the user's home, when the checkout
# cannot be reached.
stage() {
    local dest=/home/$TEST_USER/podbox-checkout
    rm -rf "$dest"
    mkdir -p "$dest"
    local d
    for d in bin scripts tests; do
        [[ -e $REPO/$d ]] && cp -a "$REPO/$d" "$dest/"
    done
    chmod -R a+rX "$dest"
    echo "$dest"
}

run() {
    [[ $# -gt 0 ]] || die "usage: $0 run CMD..."
    id "$TEST_USER" >/dev/null 2>&1 || die "no user $TEST_USER: run 'sudo $0 create' first"
    local dir=$REPO
    if [[ $(id -u) -eq 0 ]]; then
        runtime_dir
        local bad
        bad=$(unreachable "$REPO")
        if [[ -n $bad ]]; then
            echo "test-user.sh: WARNING: $TEST_USER cannot reach the checkout $REPO: $bad is mode $(stat -c %a "$bad")" >&2
            dir=$(stage)
            echo "test-user.sh: WARNING: running from a copy of bin/ scripts/ tests/ in $dir (move the checkout or chmod o+rx $bad to avoid it)" >&2
        fi
    elif [[ $(id -un) != "$TEST_USER" ]]; then
        die "run as root or as $TEST_USER, not as $(id -un)"
    fi

    local uid home
    uid=$(id -u "$TEST_USER")
    home=$(getent passwd "$TEST_USER" | cut -d: -f6)
    local -a envs=(
        "HOME=$home"
        "USER=$TEST_USER"
        "LOGNAME=$TEST_USER"
        "XDG_RUNTIME_DIR=/run/user/$uid"
        "PATH=/usr/local/bin:/usr/bin:/bin"
        "TERM=${TERM:-dumb}"
    )
    [[ -z ${CI:-} ]] || envs+=("CI=$CI")
    local name
    while IFS= read -r name; do
        envs+=("$name=${!name}")
    done < <(compgen -e | grep -E '^(PODBOX|BATS)_' || true)
    cd "$dir"
    if [[ $(id -u) -eq 0 ]]; then
        exec setpriv --reuid="$uid" --regid="$(id -g "$TEST_USER")" --init-groups -- env -i "${envs[@]}" "$@"
    fi
    exec env -i "${envs[@]}" "$@"
}

case "${1:-}" in
    create) shift; create "$@" ;;
    run) shift; run "$@" ;;
    *) die "usage: $0 create | run CMD..." ;;
esac

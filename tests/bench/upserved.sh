#!/usr/bin/env bash
# upserved.sh: `podbox up -d` of bench/manifests/web-noinit.yaml to the first
# page served on its hostPort, then `podbox down`; the median of N rounds for
# each variant, the variants alternating in every round. As the test user:
#
#   make build && cp bin/podbox /tmp/podbox-before   (… and so on)
#   scripts/test-user.sh run tests/bench/upserved.sh [-n N] LABEL=BINARY[,RUNTIME] …
#
#   e.g. upserved.sh -n 10 before=/tmp/podbox-before new=bin/podbox,crun new-runc=bin/podbox,runc
#
# RUNTIME goes to PODBOX_RUNTIME (default: podbox's choice). The clock starts
# before `up` and stops when an HTTP request on the hostPort answers 200
# (bash's /dev/tcp and $EPOCHREALTIME: no process per poll). Everything
# lives in one temporary directory (store, runtime dir, a registry for the
# one pull), removed at the end.
set -euo pipefail

n=10
if [[ ${1:-} == -n ]]; then
    n=$2
    shift 2
fi
(($# > 0)) || {
    sed -n '2,15p' "$0" >&2
    exit 2
}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

work=$(mktemp -d /tmp/upserved.XXXXXX)
export XDG_DATA_HOME=$work/data XDG_CONFIG_HOME=$work/config XDG_CACHE_HOME=$work/cache XDG_RUNTIME_DIR=$work/run
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME/containers" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR"
chmod 0700 "$XDG_RUNTIME_DIR"
first_bin=${1#*=}
first_bin=${first_bin%%,*}
cleanup() {
    "$first_bin" down --all >/dev/null 2>&1 || true
    "$first_bin" system reset --force >/dev/null 2>&1 || true
    "$repo/scripts/registry.sh" stop "$work/registry" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
trap "" PIPE # a hostPort that resets a connection must not kill us

reg=$("$repo/scripts/registry.sh" start "$work/registry")
export CONTAINERS_REGISTRIES_CONF=$XDG_CONFIG_HOME/containers/registries.conf
printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$reg" >"$CONTAINERS_REGISTRIES_CONF"
"$repo/bin/testimages" -registry "$reg" >/dev/null
"$first_bin" pull "$reg/sample:v2" >/dev/null

port=$((20000 + RANDOM % 20000))
manifest=$work/web.yaml
sed -e "s|@REGISTRY@|$reg|; s|@PORT@|$port|; s|@POD@|upserved|" "$repo/bench/manifests/web-noinit.yaml" >"$manifest"

# served: one HTTP request on the hostPort answers 200.
served() {
    local line=
    {
        printf 'HEAD /sample.war HTTP/1.0\r\n\r\n' >&3
        read -r -t 1 line <&3
    } 2>/dev/null 3<>"/dev/tcp/127.0.0.1/$port"
    [[ $line == *" 200 "* ]]
}

# one BINARY RUNTIME: prints the milliseconds from `up` to the page.
one() {
    local bin=$1 rt=$2 t0 t1 pid
    t0=$EPOCHREALTIME
    PODBOX_RUNTIME=$rt "$bin" up -d -f "$manifest" >"$work/up.log" 2>&1 &
    pid=$!
    until served; do
        if ((${EPOCHREALTIME%.*} - ${t0%.*} > 20)); then
            echo "upserved: no page within 20 s: $(cat "$work/up.log")" >&2
            return 1
        fi
        read -r -t 0.002 -u "$sleeper" || true
    done
    t1=$EPOCHREALTIME
    wait "$pid" || {
        echo "upserved: up failed: $(cat "$work/up.log")" >&2
        return 1
    }
    PODBOX_RUNTIME=$rt "$bin" down -f "$manifest" >/dev/null
    echo $(((${t1/./} - ${t0/./}) / 1000))
}

exec {sleeper}<> <(:) # never readable: `read -t` on it sleeps without a process
declare -A times
# A warm-up round per variant, not counted (page cache, runtime probe).
for v in "$@"; do
    spec=${v#*=}
    one "${spec%%,*}" "$([[ $spec == *,* ]] && echo "${spec#*,}")" >/dev/null
done
for ((r = 0; r < n; r++)); do
    for v in "$@"; do
        spec=${v#*=}
        times[${v%%=*}]+="$(one "${spec%%,*}" "$([[ $spec == *,* ]] && echo "${spec#*,}")") "
    done
done
for v in "$@"; do
    label=${v%%=*}
    # shellcheck disable=SC2086
    sorted=$(printf '%s\n' ${times[$label]} | sort -n | tr '\n' ' ')
    read -r -a a <<<"$sorted"
    echo "$label: median $(((a[(n - 1) / 2] + a[n / 2]) / 2)) ms (min ${a[0]}, max ${a[n - 1]}; $sorted)"
done

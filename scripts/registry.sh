#!/usr/bin/env bash
# registry.sh: a throw-away local image registry for the tests (Debian's
# docker-registry, i.e. distribution v2), on 127.0.0.1 and a free port.
#
#   registry.sh start [--auth HTPASSWD_FILE] DIR   prints 127.0.0.1:PORT
#   registry.sh stop DIR
#
# DIR holds the config (DIR/config.yml), the storage (DIR/data), the log
# (DIR/registry.log) and the pid (DIR/registry.pid). The registry listens on
# port 0 and we read the port the kernel gave it from its log, so there is no
# window in which another process can take a port we picked. --auth takes a
# bcrypt htpasswd file (htpasswd -Bbn USER PASS); /v2/ then answers 401.
set -euo pipefail

REGISTRY_BIN=${REGISTRY_BIN:-/usr/bin/docker-registry}
START_TIMEOUT=${REGISTRY_START_TIMEOUT:-20}

die() {
    echo "registry.sh: $*" >&2
    exit 1
}

usage() {
    echo "usage: $0 start [--auth HTPASSWD_FILE] DIR | stop DIR" >&2
    exit 2
}

# alive PID: the process exists and is not a zombie.
alive() {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ $state != Z* ]]
}

start() {
    local htpasswd=""
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --auth) htpasswd=${2:?--auth needs an htpasswd file}; shift 2 ;;
            --auth=*) htpasswd=${1#--auth=}; shift ;;
            -*) usage ;;
            *) break ;;
        esac
    done
    [[ $# -eq 1 ]] || usage
    local dir=$1
    [[ -x $REGISTRY_BIN ]] || die "$REGISTRY_BIN not found: install docker-registry (scripts/install-deps.sh)"
    if [[ -n $htpasswd ]]; then
        [[ -r $htpasswd ]] || die "cannot read htpasswd file $htpasswd"
        htpasswd=$(realpath "$htpasswd")
    fi
    mkdir -p "$dir/data"
    dir=$(realpath "$dir")
    if [[ -f $dir/registry.pid ]] && alive "$(cat "$dir/registry.pid")"; then
        die "a registry already runs for $dir (pid $(cat "$dir/registry.pid")): stop it first"
    fi

    # The secret only signs upload state between requests of this one registry.
    local secret
    secret=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    {
        cat <<EOF
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:0
  secret: $secret
EOF
        if [[ -n $htpasswd ]]; then
            cat <<EOF
auth:
  htpasswd:
    realm: podbox-test
    path: $htpasswd
EOF
        fi
    } >"$dir/config.yml"

    : >"$dir/registry.log"
    # setsid: the registry must not get the terminal's Ctrl-C before the
    # tests have cleaned up; stop() ends it by pid.
    setsid "$REGISTRY_BIN" serve "$dir/config.yml" </dev/null >>"$dir/registry.log" 2>&1 &
    local pid=$!
    echo "$pid" >"$dir/registry.pid"

    local deadline=$((SECONDS + START_TIMEOUT)) addr="" code
    while :; do
        if ! alive "$pid"; then
            echo "registry.sh: docker-registry exited; its log:" >&2
            cat "$dir/registry.log" >&2
            rm -f "$dir/registry.pid"
            exit 1
        fi
        if [[ -z $addr ]]; then
            addr=$(sed -n 's/.*msg="listening on \(127\.0\.0\.1:[0-9]\+\)".*/\1/p' "$dir/registry.log" | head -n1)
        fi
        if [[ -n $addr ]]; then
            code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$addr/v2/" || true)
            if [[ $code == 200 || ( -n $htpasswd && $code == 401 ) ]]; then
                break
            fi
        fi
        if ((SECONDS >= deadline)); then
            kill "$pid" 2>/dev/null || true
            echo "registry.sh: registry did not answer on ${addr:-its port} within ${START_TIMEOUT}s; its log:" >&2
            cat "$dir/registry.log" >&2
            exit 1
        fi
        sleep 0.05
    done
    echo "$addr" >"$dir/registry.addr"
    echo "$addr"
}

stop() {
    [[ $# -eq 1 ]] || usage
    local dir=$1 pid
    [[ -f $dir/registry.pid ]] || return 0
    pid=$(cat "$dir/registry.pid")
    if alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        local deadline=$((SECONDS + 10))
        while alive "$pid"; do
            if ((SECONDS >= deadline)); then
                kill -KILL "$pid" 2>/dev/null || true
                deadline=$((SECONDS + 5))
                while alive "$pid"; do
                    ((SECONDS < deadline)) || die "pid $pid did not die"
                    sleep 0.05
                done
                break
            fi
            sleep 0.05
        done
    fi
    rm -f "$dir/registry.pid"
}

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) shift; stop "$@" ;;
    *) usage ;;
esac

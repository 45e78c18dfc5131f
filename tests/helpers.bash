# -*- bash -*-
# helpers.bash: what every podbox bats file loads (`load helpers`), after
# Podman's test/system/helpers.bash, at skopeo's systemtest size.
#
# The suite (setup_suite.bash) exports:
#   PODBOX_TEST_REGISTRY      127.0.0.1:PORT of the suite's registry (plain HTTP)
#   PODBOX_TEST_REGISTRY_DIR  its directory (config.yml, data/, registry.log)
#   PODBOX_TEST_ARCHIVES      busybox-oci.tar, busybox-docker.tar, busybox-oci/, images.json
#   XDG_DATA_HOME XDG_CONFIG_HOME XDG_CACHE_HOME   per suite, under $BATS_SUITE_TMPDIR
#   PODBOX_TEST_DEBIAN_DIR    the Debian trees (scripts/debian-image.sh), unless
#                             PODBOX_TEST_DEBIAN=0; cached under $PODBOX_TEST_CACHE
#                             (default ~/.cache/podbox-test)
#
# Functions: run_podbox, run_podbox_bg, assert, safename, random_string,
# wait_for, die, is_rootless, image_id, defer_teardown, basic_setup,
# basic_teardown; for pods: render, pod_rundir, pod_datadir,
# pod_status_is, pod_reason_is, assert_pod_gone, scratch_home, assert_scratch_intact, free_port.
# A file that defines its own setup or teardown calls basic_setup or
# basic_teardown from it.

# Absolute path of the podbox under test.
PODBOX=${PODBOX:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/bin/podbox}
# Seconds one podbox command may take before run_podbox kills it.
PODBOX_TIMEOUT=${PODBOX_TIMEOUT:-60}
# Directory of the test manifests.
# shellcheck disable=SC2034 # for the .bats files
MANIFESTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/manifests

_LOG_PROMPT='$'

###############################################################################
# Setup and teardown

# basic_setup: what every test starts with.
basic_setup() {
    _TEARDOWN_FILE=$BATS_TEST_TMPDIR/.teardown
    : >"$_TEARDOWN_FILE"
}

# basic_teardown: run the commands given to defer_teardown, last first, and
# take down the pods named with safename. Failures here are reported, but
# every step is tried.
basic_teardown() {
    local rc=0 cmd
    if [[ -s ${_TEARDOWN_FILE:-} ]]; then
        while IFS= read -r cmd; do
            eval "$cmd" || {
                echo "# teardown: '$cmd' failed" >&2
                rc=1
            }
        done < <(tac "$_TEARDOWN_FILE")
    fi
    if [[ -s $BATS_TEST_TMPDIR/.podnames ]]; then
        local pod
        while IFS= read -r pod; do
            # Most tests take their pods down themselves: not found is fine.
            timeout -k 5 "$PODBOX_TIMEOUT" "$PODBOX" down "$pod" </dev/null >/dev/null 2>&1 3>&- || true
        done <"$BATS_TEST_TMPDIR/.podnames"
    fi
    return $rc
}

setup() {
    basic_setup
}

teardown() {
    basic_teardown
}

# defer_teardown CMD [ARG...]: run CMD at the end of this test, pass or fail,
# before the pods of safename are taken down. Commands run last first.
defer_teardown() {
    printf '%q ' "$@" >>"$_TEARDOWN_FILE"
    echo >>"$_TEARDOWN_FILE"
}

###############################################################################
# Running podbox

# run_podbox [EXPECTED_RC|?] ARGS...: run podbox with a timeout, log the
# command and its output, and fail the test unless it exits with
# EXPECTED_RC (default 0; '?' accepts any). Sets $output, $status and
# $lines like bats' run. Stdin is /dev/null, or the file $PODBOX_STDIN.
run_podbox() {
    local expected_rc=0
    case "${1:-}" in
        [0-9] | [0-9][0-9] | [0-9][0-9][0-9]) expected_rc=$1; shift ;;
        '?') expected_rc=''; shift ;;
    esac

    echo "$_LOG_PROMPT podbox $*"
    # fd 3 closed: a process podbox leaves behind must not hold bats' output
    # open, or bats hangs at the end of the test.
    status=0
    output=$(timeout -v -k 10 "$PODBOX_TIMEOUT" "$PODBOX" "$@" <"${PODBOX_STDIN:-/dev/null}" 2>&1 3>&-) || status=$?
    lines=()
    if [[ -n $output ]]; then
        # shellcheck disable=SC2034 # bats' $lines, for the caller
        mapfile -t lines <<<"$output"
        echo "$output"
    fi
    if [[ $status -ne 0 ]]; then
        echo "[ rc=$status ]"
    fi
    if [[ $status -eq 124 ]]; then
        die "podbox $* timed out after ${PODBOX_TIMEOUT}s"
        return 1
    fi
    if [[ -n $expected_rc && $status -ne $expected_rc ]]; then
        die "exit code is $status; expected $expected_rc"
        return 1
    fi
}

# run_podbox_bg ARGS...: start podbox in the background (e.g. `up` in the
# foreground mode). Sets $bg_pid and $bg_log (its stdout and stderr); the
# process gets SIGTERM, then SIGKILL after 10 s, at teardown if still alive.
run_podbox_bg() {
    bg_log=$(mktemp "$BATS_TEST_TMPDIR/podbox-bg.XXXXXX")
    echo "$_LOG_PROMPT podbox $* &  (log: $bg_log)"
    "$PODBOX" "$@" </dev/null >"$bg_log" 2>&1 3>&- &
    bg_pid=$!
    defer_teardown _stop_pid "$bg_pid"
}

# _stop_pid PID: SIGTERM, wait, SIGKILL.
_stop_pid() {
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    echo "# pid $pid ignored SIGTERM for 10s: killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
}

###############################################################################
# Checks

# die MESSAGE: fail the test now. (Where errexit is off, as inside bats'
# `run` or an `if`, die only returns 1: callers in a loop return after it.)
die() {
    echo "#/vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv" >&2
    echo "#| FAIL: $*" >&2
    echo "#\\^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^" >&2
    false
}

# assert ACTUAL OP EXPECTED [DESCRIPTION]: OP is == (equal), != (differ),
# =~ (matches the extended regex), !~ (does not match).
assert() {
    local actual=$1 op=$2 expected=$3 what=${4:-}
    local ok=0
    case "$op" in
        '==') [[ $actual == "$expected" ]] && ok=1 ;;
        '!=') [[ $actual != "$expected" ]] && ok=1 ;;
        '=~') [[ $actual =~ $expected ]] && ok=1 ;;
        '!~') [[ ! $actual =~ $expected ]] && ok=1 ;;
        *)
            die "assert: unknown operator '$op' (use == != =~ !~)"
            return 1
            ;;
    esac
    [[ $ok -eq 1 ]] && return 0

    local verb
    case "$op" in
        '==') verb="expected" ;;
        '!=') verb="expected not" ;;
        '=~') verb="expected match" ;;
        '!~') verb="expected no match" ;;
    esac
    {
        echo "#/vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"
        echo "#|     FAIL: ${what:-assert \$actual $op \$expected}"
        printf '#| %17s: %q\n' "$verb" "$expected"
        local first=1 line
        while IFS= read -r line; do
            if [[ $first -eq 1 ]]; then
                printf '#| %17s: %s\n' "actual" "$line"
                first=0
            else
                printf '#| %17s  %s\n' "" "$line"
            fi
        done <<<"$actual"
        echo "#\\^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^"
    } >&2
    false
}

# wait_for [--alive PID] [--log FILE] DEADLINE_SECS CMD...: run CMD every
# 0.1 s until it succeeds. Fails after DEADLINE_SECS, or as soon as PID has
# exited (e.g. the $bg_pid of `podbox up`), printing FILE if given.
wait_for() {
    local pid="" log=""
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --alive) pid=$2; shift 2 ;;
            --log) log=$2; shift 2 ;;
            *) break ;;
        esac
    done
    local secs=$1
    shift
    if ! [[ $secs =~ ^[0-9]+$ ]]; then
        die "wait_for: deadline must be whole seconds, got '$secs'"
        return 1
    fi
    local deadline=$((SECONDS + secs))
    while :; do
        if "$@" >/dev/null 2>&1 3>&-; then
            return 0
        fi
        if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
            [[ -z $log ]] || sed 's/^/# | /' "$log" >&2
            die "wait_for: pid $pid exited before '$*' succeeded"
            return 1
        fi
        if ((SECONDS >= deadline)); then
            [[ -z $log ]] || sed 's/^/# | /' "$log" >&2
            die "wait_for: '$*' did not succeed within ${secs}s"
            return 1
        fi
        sleep 0.1
    done
}

# is_rootless: true when not running as root (always, in this suite).
is_rootless() {
    [[ $(id -u) -ne 0 ]]
}

###############################################################################
# Names and data

# random_string [N]: N (default 8) random lower-case letters and digits.
random_string() {
    local n=${1:-8}
    head -c 256 /dev/urandom | tr -dc 'a-z0-9' | head -c "$n"
}

# safename: a pod name unique to this run and test, valid as a Kubernetes
# name; taken down at teardown if the test leaves it running.
safename() {
    local name
    name="t${BATS_SUITE_TEST_NUMBER:-0}-$(random_string 8)"
    echo "$name" >>"$BATS_TEST_TMPDIR/.podnames"
    echo "$name" >>"$BATS_SUITE_TMPDIR/podnames"
    echo "$name"
}

# image_id REF: the image ID (config digest) the builder recorded for REF,
# a repository:tag of the suite's registry, e.g. busybox:latest.
image_id() {
    jq -er --arg ref "$1" '.images[$ref].id' "$PODBOX_TEST_ARCHIVES/images.json"
}

###############################################################################
# Pods

# free_port [tcp|udp]: a port nobody has bound on this host (TCP or UDP,
# any state), for hostPorts.
free_port() {
    local proto=${1:-tcp} port
    for _ in $(seq 50); do
        port=$((20000 + RANDOM % 20000))
        if ! ss -Htuan "sport = :$port" | grep -q .; then
            echo "$port"
            return
        fi
    done
    die "no free $proto port"
}

# render MANIFEST POD [PORT] [KEY=VALUE...]: tests/manifests/MANIFEST with
# its placeholders filled, written to the test's tmpdir; prints its path.
# @REGISTRY@ is the suite's registry, @POD@ is POD, @PORT@ is PORT (default
# 0), and each @KEY@ is its VALUE (e.g. DRIVER=slirp4netns; the manifests'
# README lists them). A placeholder left unfilled fails the test (as far as
# a command substitution can: nothing is printed). The file is named after
# the first 40 characters of POD: a 253-character name is too long for one.
render() {
    local src=$MANIFESTS/$1 pod=$2 port=${3:-0} kv left
    local out=$BATS_TEST_TMPDIR/${pod:0:40}-$1
    local -a script=(-e "s|@REGISTRY@|$PODBOX_TEST_REGISTRY|g" -e "s|@POD@|$pod|g" -e "s|@PORT@|$port|g")
    for kv in "${@:4}"; do
        if ! [[ $kv =~ ^[A-Z][A-Z0-9_]*= ]]; then
            die "render: '$kv' is not KEY=VALUE"
            return 1
        fi
        script+=(-e "s|@${kv%%=*}@|${kv#*=}|g")
    done
    sed "${script[@]}" "$src" >"$out" || return 1
    left=$(grep -o '@[A-Z][A-Z0-9_]*@' "$out" | sort -u | paste -sd ' ')
    if [[ -n $left ]]; then
        die "render: $1: placeholders left unfilled: $left"
        return 1
    fi
    echo "$out"
}

# pod_rundir POD, pod_datadir POD: the pod's directories under
# $XDG_RUNTIME_DIR and $XDG_DATA_HOME.
pod_rundir() { echo "${XDG_RUNTIME_DIR}/podbox/pods/$1"; }
pod_datadir() { echo "${XDG_DATA_HOME}/podbox/pods/$1"; }

# pod_status_is POD STATUS: the STATUS column of `podbox ps` for POD is STATUS.
pod_status_is() {
    [[ $("$PODBOX" ps 2>/dev/null | awk -v p="$1" '$1 == p { print $2 }') == "$2" ]]
}

# pod_reason_is POD REASON: the pod's status.reason is REASON.
pod_reason_is() {
    [[ $("$PODBOX" get pod "$1" -o json 2>/dev/null | jq -r .status.reason) == "$2" ]]
}

# assert_pod_gone POD: nothing of the pod is left: no runtime or data
# directory, no mount, no process, no line in `podbox ps -a`.
assert_pod_gone() {
    local pod=$1
    [[ ! -e $(pod_rundir "$pod") ]] || die "runtime dir of $pod left: $(ls -la "$(pod_rundir "$pod")")"
    [[ ! -e $(pod_datadir "$pod") ]] || die "data dir of $pod left"
    if grep -q "$pod" /proc/self/mountinfo; then
        die "mounts of $pod left: $(grep "$pod" /proc/self/mountinfo)"
    fi
    run pgrep -u "$(id -u)" -f "podbox-pod:$pod\$"
    assert "$output" == "" "process of pod $pod left"
    run_podbox ps -a
    assert "$output" !~ "$pod" "ps -a still lists $pod"
}

# scratch_home [--pull]: HOME, XDG_DATA_HOME and XDG_RUNTIME_DIR in this
# test's tmpdir, under $SCRATCH, with files that must survive whatever the
# test does (assert_scratch_intact); podbox's own state there is reset at
# teardown (only podbox can remove the store's subuid-owned files). With
# --pull, busybox is pulled into that store and $BUSYBOX names it.
scratch_home() {
    SCRATCH=$BATS_TEST_TMPDIR/s
    export HOME=$SCRATCH/home
    export XDG_DATA_HOME=$HOME/.local/share
    export XDG_RUNTIME_DIR=$HOME/run
    mkdir -p "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR"
    chmod 0700 "$XDG_RUNTIME_DIR"
    echo precious >"$HOME/precious.txt"
    echo precious >"$SCRATCH/outside.txt"
    echo precious >"$XDG_DATA_HOME/precious.txt"
    defer_teardown "$PODBOX" system reset --force
    if [[ ${1:-} == --pull ]]; then
        BUSYBOX=$PODBOX_TEST_REGISTRY/busybox:latest
        run_podbox pull "$BUSYBOX"
    fi
}

# assert_scratch_intact: the files scratch_home made are all there.
assert_scratch_intact() {
    local f
    for f in "$HOME/precious.txt" "$SCRATCH/outside.txt" "$XDG_DATA_HOME/precious.txt"; do
        [[ $(cat "$f" 2>/dev/null) == precious ]] || die "$f is gone"
    done
}

###############################################################################
# Suite-level leak check (called by teardown_suite)

# Processes that must not outlive the suite, by name (comm, argv[0] or
# executable: podbox re-executes /proc/self/exe, whose comm is "exe", and
# names its pod processes podbox-pod:NAME).
_LEAK_NAMES='^(podbox([-:].*)?|runc|crun|slirp4netns|docker-registry|fuse-overlayfs|testimages)$'

# _alive PID: the process exists and is not a zombie.
_alive() {
    local stat
    stat=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ $stat != Z* ]]
}

# _ours PID: the process belongs to this suite: its environment carries
# this suite's PODBOX_TEST_SUITE_ID, its command line names this run's
# temporary directory or one of its pods (podbox-pod:NAME), or its parent is
# ours. Uses the _ppid and _args maps of check_leaks; memoized in _owner.
_ours() {
    local pid=$1 env args
    if [[ -n ${_owner[$pid]:-} ]]; then
        [[ ${_owner[$pid]} == yes ]]
        return
    fi
    _owner[$pid]=no
    args=${_args[$pid]:-}
    if { env=$(tr '\0' '\n' 2>/dev/null <"/proc/$pid/environ"); } 2>/dev/null &&
        grep -qx "PODBOX_TEST_SUITE_ID=${PODBOX_TEST_SUITE_ID:-none}" <<<"$env"; then
        _owner[$pid]=yes
    elif [[ -n ${BATS_RUN_TMPDIR:-} && $args == *"$BATS_RUN_TMPDIR"* ]]; then
        _owner[$pid]=yes
    elif [[ $args =~ ^podbox-pod:([a-z0-9.-]+) ]] &&
        grep -qx "${BASH_REMATCH[1]}" "$BATS_SUITE_TMPDIR/podnames" 2>/dev/null; then
        _owner[$pid]=yes
    elif [[ -n ${_ppid[$pid]:-} && ${_ppid[$pid]} -gt 1 ]] && _ours "${_ppid[$pid]}"; then
        _owner[$pid]=yes
    fi
    [[ ${_owner[$pid]} == yes ]]
}

# check_leaks: fail if a podbox, runtime, slirp4netns or registry process
# that this suite started is still alive; kill those by pid (TERM, then
# KILL) so that nothing is left, but still fail. Processes of the same user
# that are not this suite's (see _ours: another run, another engineer) are
# listed and left alone. Ancestors of this shell (bats itself) are skipped.
check_leaks() {
    local -A skip=() _ppid=() _args=() _owner=()
    local p=$$
    while [[ -n $p && $p -gt 1 ]]; do
        skip[$p]=1
        p=$(ps -o ppid= -p "$p" 2>/dev/null | tr -d ' ') || break
    done

    local -a procs=() leaked=()
    local pid ppid stat comm args argv0 exe
    while read -r pid ppid stat comm args; do
        _ppid[$pid]=$ppid
        _args[$pid]=$args
        [[ -n ${skip[$pid]:-} || $stat == Z* ]] && continue
        argv0=${args%% *}
        exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || exe=""
        exe=${exe% (deleted)}
        if [[ $comm =~ $_LEAK_NAMES || ${argv0##*/} =~ $_LEAK_NAMES || ${exe##*/} =~ $_LEAK_NAMES ]]; then
            procs+=("$pid")
        fi
    done < <(ps -u "$(id -u)" -o pid=,ppid=,stat=,comm=,args=)

    for pid in "${procs[@]}"; do
        if _ours "$pid"; then
            leaked+=("$pid")
            echo "# LEAK: pid $pid: ${_args[$pid]}" >&2
        else
            echo "# leak check: pid $pid is not this suite's, left alone: ${_args[$pid]}" >&2
        fi
    done

    [[ ${#leaked[@]} -eq 0 ]] && return 0
    kill -TERM "${leaked[@]}" 2>/dev/null || true
    local i alive
    for ((i = 0; i < 50; i++)); do
        alive=0
        for pid in "${leaked[@]}"; do
            _alive "$pid" && alive=1
        done
        [[ $alive -eq 0 ]] && break
        sleep 0.1
    done
    kill -KILL "${leaked[@]}" 2>/dev/null || true
    echo "# leak check: ${#leaked[@]} process(es) outlived the suite (killed now)" >&2
    return 1
}

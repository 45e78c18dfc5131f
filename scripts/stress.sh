#!/usr/bin/env bash
# stress.sh: podbox's reliability run (issue 9): many pods at once, `down
# --all` racing starts, SIGKILLs at every phase of a pod's life, and after
# each part a search for anything left behind. Not part of `make test`.
#
#   stress.sh [--pods N] [--rounds N]      (or PODS=N ROUNDS=N; default 20, 10)
#
# Each round has three parts, each ended by the leak check:
#   burst  N `up -d` at once; every one must exit 0 and its pod be listed
#          Running by `podbox ps`; then `down --all`
#   race   N `up -d` at once, `down --all` while they start (up to 3 times),
#          then a last `down --all` once every `up` has returned
#   kill   N pods (at least 6), SIGKILL in turn to: the pod's process as
#          soon as its argv (podbox-pod:NAME) appears; the pod's process once
#          Running; the pod's process during `down`; the `up` process
#          mid-start (when the pod's directory, or its process, appears); the
#          pod's process under a foreground `up`. Then `down --all`, and an
#          `up -d` (which garbage-collects) and `down` of one more pod
#
# A leak is, after a part's cleanup: a process of this run (its pods'
# processes, argv podbox-pod:NAME, or any process whose environment carries
# this run's marker PODBOX_STRESS_ID: up, down, slirp4netns, the OCI runtime,
# the containers, whose manifests set it), a pod directory (runtime or data),
# a storage container (containers.json), a mount of the work directory, a
# hostPort (127.0.0.1, one per pod) still bound, a pod `podbox ps` still
# lists. A process of a pod that `podbox ps` does not list is an orphan.
# A pod survived when each command about it ended in time
# (PODBOX_STRESS_TIMEOUT; 60 s once its pod got SIGKILL) with exit 0 or a
# `podbox: ...` error (no hang, no Go panic), burst pods started and ran,
# and nothing of it was left.
#
# Prints one line per part, the failures and leaks found (what and where),
# then `tried N / survived N / leaked N`; exits 1 on any leak, orphan or
# failure, 2 if it could not set up or clean up. It removes the leaks it
# found (SIGKILL by PID to processes it proved are its own, `down --all`,
# `system reset --force`) so that the next part, and the machine, are clean.
#
# Runs as an ordinary user with subordinate ids (`make stress` runs it as
# podbox-test): scratch XDG_* directories and a registry of its own under a
# fresh temporary directory, all removed at the end. Safe to rerun.
#
# Environment: PODBOX (the binary, default bin/podbox), PODBOX_STRESS_TIMEOUT
# (seconds any one podbox command may take, default 180).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# A pipe nobody writes to, for nap.
exec {NAP_FD}<> <(:)
PODBOX=${PODBOX:-$REPO/bin/podbox}
PODS=${PODS:-20}
ROUNDS=${ROUNDS:-10}
TIMEOUT=${PODBOX_STRESS_TIMEOUT:-180}
# Seconds a command may go on once the pod it was about got SIGKILL.
AFTER_KILL=60

usage() {
    echo "usage: $0 [--pods N] [--rounds N]" >&2
    exit 2
}

die() {
    echo "stress.sh: $*" >&2
    exit 2
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --pods) PODS=${2:?--pods needs a number}; shift 2 ;;
        --pods=*) PODS=${1#--pods=}; shift ;;
        --rounds) ROUNDS=${2:?--rounds needs a number}; shift 2 ;;
        --rounds=*) ROUNDS=${1#--rounds=}; shift ;;
        -h | --help) usage ;;
        *) usage ;;
    esac
done
[[ $PODS =~ ^[1-9][0-9]*$ && $PODS -le 200 ]] || die "--pods must be 1-200, got '$PODS'"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive number, got '$ROUNDS'"
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "PODBOX_STRESS_TIMEOUT must be whole seconds, got '$TIMEOUT'"

if [[ $(id -u) -eq 0 ]]; then
    die "runs as an ordinary user, never root: sudo make stress (runs it as podbox-test)"
fi
grep -q "^$(id -un):" /etc/subuid || die "$(id -un) has no range in /etc/subuid: run 'sudo make stress' to use the test user"
for f in "$PODBOX" "$REPO/bin/testimages"; do
    [[ -x $f ]] || die "$f is missing: run 'make build' first"
done
for t in jq ss; do
    command -v "$t" >/dev/null || die "$t not found: scripts/install-deps.sh installs it"
done

RUN_ID=$(head -c 256 /dev/urandom | tr -dc 'a-z0-9' | head -c 5) || true
MARK="podbox-stress-$$-$RUN_ID"
PREFIX="s$RUN_ID" # every pod of this run is named $PREFIX-...
WORK=$(mktemp -d "${TMPDIR:-/tmp}/podbox-stress.XXXXXX")
LOGS=$WORK/logs
mkdir -p "$LOGS"

export XDG_DATA_HOME=$WORK/data XDG_CONFIG_HOME=$WORK/config XDG_CACHE_HOME=$WORK/cache
export XDG_RUNTIME_DIR=$WORK/run
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME/containers" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR"
chmod 0700 "$XDG_RUNTIME_DIR"
# The user's own settings must not reach this run.
unset PODBOX_ROOT PODBOX_RUNROOT
RUN_PODS=$XDG_RUNTIME_DIR/podbox/pods
DATA_PODS=$XDG_DATA_HOME/podbox/pods

REGISTRY_DIR=$WORK/registry
PART=setup SLUG=setup
REGISTRY=""

# Totals, and what the summary lists.
TRIED=0 SURVIVED=0 LEAKED=0
REPORT=()
declare -A LEAK_KINDS=()

###############################################################################
# Processes

# proc_state PID: set STATE to the state letter of a process (R, S, Z,
# ...); fails if it is gone. No subshell: the wait loops call it often.
proc_state() {
    local stat=""
    { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
    stat=${stat##*) }
    STATE=${stat%% *}
}

running() {
    proc_state "$1" && [[ $STATE != Z ]]
}

# proc_pod PID: if PID is a live process of this run, set PROC_POD to the
# name of the pod it belongs to ("-" when it cannot tell) and succeed.
proc_pod() {
    local pid=$1 argv0="" kv ours=0
    local -a envs=()
    PROC_POD=-
    [[ -r /proc/$pid/environ ]] || return 1
    running "$pid" || return 1
    { IFS= read -r -d '' argv0 <"/proc/$pid/cmdline"; } 2>/dev/null || true
    if [[ $argv0 == "podbox-pod:$PREFIX-"* ]]; then
        PROC_POD=${argv0#podbox-pod:}
        return 0
    fi
    { mapfile -d '' envs <"/proc/$pid/environ"; } 2>/dev/null || return 1
    for kv in "${envs[@]}"; do
        case "$kv" in
            "PODBOX_STRESS_ID=$MARK") ours=1 ;;
            PODBOX_STRESS_POD=*) PROC_POD=${kv#PODBOX_STRESS_POD=} ;;
        esac
    done
    ((ours))
}

# our_procs: "PID POD" for every live process of this run.
our_procs() {
    local d pid
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
        proc_pod "$pid" || continue
        echo "$pid $PROC_POD"
    done
}

# pod_pid NAME: the pod's process from its pid file, proved to be it (argv
# podbox-pod:NAME and the start time recorded beside the pid); fails if not.
pod_pid() {
    local name=$1 pid="" start="" argv0="" stat=""
    { read -r pid start <"$RUN_PODS/$name/pid" || [[ -n $pid ]]; } 2>/dev/null || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    { IFS= read -r -d "" argv0 <"/proc/$pid/cmdline"; } 2>/dev/null || true
    [[ $argv0 == "podbox-pod:$name" ]] || return 1
    { read -r stat <"/proc/$pid/stat"; } 2>/dev/null || return 1
    stat=${stat##*) }
    read -r -a stat <<<"$stat"
    [[ -z $start || ${stat[19]:-} == "$start" ]] || return 1
    echo "$pid"
}

# find_pod_proc NAME AFTER: set POD_PROC to the pod's process, found by its
# argv alone among the processes numbered above AFTER (the `up` that starts
# it). Builtins only: a pod starts in a few hundred ms, a pgrep under load
# takes about as long.
find_pod_proc() {
    local d pid argv0
    POD_PROC=""
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        ((pid > $2)) || continue
        argv0=""
        { IFS= read -r -d '' argv0 <"$d/cmdline"; } 2>/dev/null || true
        if [[ $argv0 == "podbox-pod:$1" ]]; then
            POD_PROC=$pid
            return 0
        fi
    done
    return 1
}

# nap SECS: sleep without a fork, for the tight polling loops.
nap() {
    read -r -t "$1" -u "$NAP_FD" _ || true
}

# kill_gone PID...: SIGKILL, then wait up to 10 s for them to go.
kill_gone() {
    local pid deadline=$((SECONDS + 10)) left
    kill -KILL "$@" 2>/dev/null || true
    while :; do
        left=0
        for pid in "$@"; do
            running "$pid" && left=1
        done
        ((left)) || return 0
        ((SECONDS < deadline)) || return 1
        sleep 0.05
    done
}

###############################################################################
# Running podbox

# pb LOG ARGS...: podbox in the background, marked as this run's, output to
# LOG; sets $bg (the podbox process itself). POD in the environment names
# the pod it is about, for the leak report.
pb() {
    local log=$1
    shift
    PODBOX_STRESS_ID=$MARK PODBOX_STRESS_POD=${POD:--} "$PODBOX" "$@" </dev/null >"$log" 2>&1 &
    bg=$!
}

declare -A RC=()

# wait_pids SECS PID...: wait for these children; RC[pid] is the exit code,
# or "hung" if it had not ended after SECS (it is then SIGKILLed).
wait_pids() {
    local secs=$1 pid rc left
    shift
    local deadline=$((SECONDS + secs))
    while :; do
        left=0
        for pid in "$@"; do
            [[ -n ${RC[$pid]:-} ]] && continue
            if running "$pid"; then
                left=1
                continue
            fi
            rc=0
            wait "$pid" 2>/dev/null || rc=$?
            RC[$pid]=$rc
        done
        ((left)) || return 0
        if ((SECONDS >= deadline)); then
            for pid in "$@"; do
                [[ -n ${RC[$pid]:-} ]] && continue
                kill -KILL "$pid" 2>/dev/null || true
                wait "$pid" 2>/dev/null || true
                RC[$pid]=hung
            done
            return 0
        fi
        nap 0.1
    done
}

# run_pb LOG ARGS...: podbox in the foreground, with the timeout; sets $rc.
run_pb() {
    pb "$@"
    wait_pids "$TIMEOUT" "$bg"
    rc=${RC[$bg]}
}

# bad_exit RC LOG [OK_RC...]: why a command's end was not clean, or
# nothing: a hang, a Go panic, or a non-zero exit without a `podbox: `
# line. Exit codes in OK_RC are fine as they are (e.g. 137 for an up we
# killed).
bad_exit() {
    local rc=$1 log=$2 ok
    shift 2
    if [[ $rc == hung ]]; then
        echo "hung: no exit in time (${TIMEOUT}s, ${AFTER_KILL}s once its pod was killed): killed"
        return
    fi
    if grep -qE '^(panic: |fatal error: |goroutine [0-9]+ \[)' "$log"; then
        echo "Go panic or stack trace (exit $rc): $(grep -m1 -E '^(panic|fatal error)' "$log")"
        return
    fi
    [[ $rc -eq 0 ]] && return
    for ok in "$@"; do
        [[ $rc -eq $ok ]] && return
    done
    grep -q '^podbox: ' "$log" && return
    echo "exit $rc without a 'podbox:' message: $(tail -n1 "$log")"
}

# last_error LOG: the podbox error line of a log, for notes.
last_error() {
    sed -n 's/^\(podbox: .*\)/\1/p' "$1" | tail -n1 | cut -c1-160
}

###############################################################################
# Pods

# free_ports N: the first of N consecutive TCP ports nobody listens on, on
# 15000-19999 (below the kernel's ephemeral range and the e2e tests' 20000-40000).
free_ports() {
    local n=$1 base p ok try
    for ((try = 0; try < 50; try++)); do
        base=$((15000 + RANDOM % (5000 - n)))
        ok=1
        for ((p = base; p < base + n; p++)); do
            if ss -Htln "sport = :$p" | grep -q .; then
                ok=0
                break
            fi
        done
        if ((ok)); then
            echo "$base"
            return
        fi
    done
    die "no $n free consecutive ports in 15000-19999"
}

declare -A PORT_OF=() MANIFEST_OF=() KIND_OF=()

# manifest NAME PORT [STOP_SECS]: write the pod's manifest, MANIFEST_OF[NAME].
# Two containers: busybox httpd on the hostPort, and a shell that takes
# STOP_SECS (default 0) to stop on SIGTERM, so that `down` has a phase to
# kill into. Both carry the run's marker in their environment.
manifest() {
    local name=$1 port=$2 stop=${3:-0} f=$WORK/manifests/$1.yaml
    mkdir -p "$WORK/manifests"
    cat >"$f" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $name
spec:
  terminationGracePeriodSeconds: $((stop + 2))
  containers:
    - name: web
      image: $REGISTRY/busybox:latest
      imagePullPolicy: IfNotPresent
      command: ["httpd", "-f", "-p", "8080", "-h", "/"]
      env:
        - {name: PODBOX_STRESS_ID, value: "$MARK"}
        - {name: PODBOX_STRESS_POD, value: "$name"}
      ports:
        - {containerPort: 8080, hostPort: $port}
    - name: term
      image: $REGISTRY/busybox:latest
      imagePullPolicy: IfNotPresent
      command: ["sh", "-c", "trap 'sleep $stop; exit 0' TERM; while :; do sleep 1 & wait \$!; done"]
      env:
        - {name: PODBOX_STRESS_ID, value: "$MARK"}
        - {name: PODBOX_STRESS_POD, value: "$name"}
EOF
    PORT_OF[$name]=$port
    MANIFEST_OF[$name]=$f
}

# Per part: its pods, the failures and leaks found, by pod.
PART=""
PART_PODS=()
declare -A FAIL=() LEAK=()
PART_NOTES=()

fail() {
    local name=$1
    shift
    FAIL[$name]+="${FAIL[$name]:+; }$*"
}

# leak NAME KIND WHAT: something of pod NAME was left; KIND counts it in
# the summary.
leak() {
    local name=$1 kind=$2
    shift 2
    LEAK[$name]+="${LEAK[$name]:+; }$*"
    LEAK_KINDS[$kind]=$((${LEAK_KINDS[$kind]:-0} + 1))
}

note() {
    PART_NOTES+=("$*")
}

# podbox_ps: the NAME STATUS rows of `podbox ps`.
podbox_ps() {
    local log=$LOGS/$SLUG.ps.$RANDOM.log
    POD=- run_pb "$log" ps
    if [[ $rc != 0 ]]; then
        note "podbox ps exited $rc: $(tail -n1 "$log")"
        return
    fi
    awk 'NR > 1 { print $1, $2 }' "$log"
}

# down_all LABEL: `podbox down --all`; a hang or an error is a failure of
# the part.
down_all() {
    local log=$LOGS/$SLUG.down-all-$1.log why
    POD=- run_pb "$log" down --all
    why=$(bad_exit "$rc" "$log")
    [[ $rc == 0 ]] || why=${why:-exit $rc: $(last_error "$log")}
    [[ -z $why ]] || fail "down --all ($1)" "$why"
}

###############################################################################
# The leak check

# leak_owner NAME: the pod of this part a leftover named NAME belongs to
# (a storage container is POD-CONTAINER), else NAME itself.
leak_owner() {
    local n=$1 p
    for p in "${PART_PODS[@]}"; do
        if [[ $n == "$p" || $n == "$p-web" || $n == "$p-term" ]]; then
            echo "$p"
            return
        fi
    done
    echo "$n"
}

# check_leaks: record every leftover of this run, by pod.
check_leaks() {
    local -A listed=()
    local name status pid pod args d f c p line
    while read -r name status; do
        [[ -n $name ]] || continue
        listed[$name]=$status
        leak "$(leak_owner "$name")" listed "still listed by podbox ps ($status)"
    done < <(podbox_ps)

    while read -r pid pod; do
        args=$( { tr "\0" " " <"/proc/$pid/cmdline"; } 2>/dev/null | cut -c1-100) || args=""
        # Gone between the scan and now (a container's short-lived child).
        [[ -n $args ]] || running "$pid" || continue
        if [[ $args == podbox-pod:* && -z ${listed[$pod]:-} ]]; then
            leak "$(leak_owner "$pod")" orphan "ORPHAN: pod process $pid ($args) alive, not listed by podbox ps"
        else
            leak "$(leak_owner "$pod")" process "process $pid left: $args"
        fi
    done < <(our_procs)

    for d in "$RUN_PODS" "$DATA_PODS"; do
        [[ -d $d ]] || continue
        for f in "$d"/*; do
            [[ -e $f ]] || continue
            leak "$(leak_owner "${f##*/}")" directory "directory left: \$WORK/${f#"$WORK"/}"
        done
    done

    for f in "$XDG_DATA_HOME"/podbox/storage/*-containers/containers.json; do
        [[ -r $f ]] || continue
        while read -r c; do
            [[ -n $c ]] || continue
            leak "$(leak_owner "$c")" "storage container" "storage container $c left (${f#"$XDG_DATA_HOME"/podbox/})"
        done < <(jq -r '.[] | (.names // [.id])[0]' "$f" 2>/dev/null)
    done

    if grep -F "$WORK" /proc/self/mountinfo >/dev/null 2>&1; then
        while read -r line; do
            leak "mounts" mount "mount left: $(awk '{ print $5 }' <<<"$line")"
        done < <(grep -F "$WORK" /proc/self/mountinfo)
    fi

    for p in "${PART_PODS[@]}"; do
        [[ -n ${PORT_OF[$p]:-} ]] || continue
        line=$(ss -Htlnp "sport = :${PORT_OF[$p]}" 2>/dev/null) || true
        [[ -n $line ]] || continue
        # Only ours: ss names the process of sockets the user owns.
        if [[ $line =~ pid=([0-9]+) ]] && proc_pod "${BASH_REMATCH[1]}"; then
            leak "$p" hostPort "hostPort 127.0.0.1:${PORT_OF[$p]} still bound (pid ${BASH_REMATCH[1]})"
        elif [[ $line =~ pid= ]]; then
            note "port ${PORT_OF[$p]} of $p is now bound by another process of this user, not this run's"
        fi
    done
}

# clean_leaks: remove what check_leaks found: SIGKILL the processes proved
# to be this run's (pod processes first: their PID namespace goes with
# them), then down --all, then, if anything is still on disk, system reset
# and a fresh pull. Fails if something is left after that.
clean_leaks() {
    local -a pods=() others=()
    local pid pod argv0
    while read -r pid pod; do
        argv0=""
        { IFS= read -r -d "" argv0 <"/proc/$pid/cmdline"; } 2>/dev/null || true
        if [[ $argv0 == podbox-pod:* ]]; then
            pods+=("$pid")
        else
            others+=("$pid")
        fi
    done < <(our_procs)
    ((${#pods[@]} == 0)) || kill_gone "${pods[@]}" || true
    # Re-prove the others: the pod processes' deaths took some with them.
    local -a still=()
    for pid in "${others[@]}"; do
        proc_pod "$pid" && still+=("$pid")
    done
    ((${#still[@]} == 0)) || kill_gone "${still[@]}" || true
    POD=- run_pb "$LOGS/$SLUG.clean-down.log" down --all || true
    local left=0 f
    for f in "$RUN_PODS"/* "$DATA_PODS"/* "$XDG_DATA_HOME"/podbox/storage/*-containers/containers.json; do
        [[ -e $f ]] || continue
        if [[ $f == *.json ]]; then
            [[ $(jq 'length' "$f" 2>/dev/null || echo 1) == 0 ]] || left=1
        else
            left=1
        fi
    done
    if ((left)); then
        POD=- run_pb "$LOGS/$SLUG.clean-reset.log" system reset --force
        pull_image
    fi
    [[ -z $(our_procs) ]] || return 1
    for f in "$RUN_PODS"/* "$DATA_PODS"/*; do
        [[ -e $f ]] && return 1
    done
    return 0
}

pull_image() {
    POD=- run_pb "$LOGS/pull.$RANDOM.log" pull "$REGISTRY/busybox:latest"
    [[ $rc == 0 ]] || die "podbox pull $REGISTRY/busybox:latest failed: $(tail -n3 "$LOGS"/pull.*.log)"
}

###############################################################################
# Parts

# begin_part LABEL: reset the part's state.
begin_part() {
    PART=$1
    SLUG=${1// /-}
    PART_PODS=()
    PART_NOTES=()
    FAIL=()
    LEAK=()
    RC=()
    PART_START=$SECONDS
}

# end_part: leak check, the part's line, its failures and leaks, cleanup.
end_part() {
    check_leaks
    local tried=${#PART_PODS[@]} survived=0 leaked=0 p k
    for p in "${PART_PODS[@]}"; do
        [[ -z ${FAIL[$p]:-} && -z ${LEAK[$p]:-} ]] && survived=$((survived + 1))
    done
    for k in "${!LEAK[@]}"; do
        leaked=$((leaked + 1))
    done
    TRIED=$((TRIED + tried))
    SURVIVED=$((SURVIVED + survived))
    LEAKED=$((LEAKED + leaked))
    printf '%-18s tried %3d  survived %3d  leaked %3d  failed %3d  (%ds)\n' \
        "$PART" "$tried" "$survived" "$leaked" "${#FAIL[@]}" $((SECONDS - PART_START))
    local line
    local -a keys=()
    ((${#FAIL[@]} == 0)) || mapfile -t keys < <(printf '%s\n' "${!FAIL[@]}" | sort)
    for k in "${keys[@]}"; do
        line="$PART: FAIL $k${KIND_OF[$k]:+ (${KIND_OF[$k]})}: ${FAIL[$k]}"
        echo "    $line"
        REPORT+=("$line")
    done
    keys=()
    ((${#LEAK[@]} == 0)) || mapfile -t keys < <(printf '%s\n' "${!LEAK[@]}" | sort)
    for k in "${keys[@]}"; do
        line="$PART: LEAK $k${KIND_OF[$k]:+ (${KIND_OF[$k]})}: ${LEAK[$k]}"
        echo "    $line"
        REPORT+=("$line")
    done
    for line in "${PART_NOTES[@]}"; do
        echo "    note: $line"
    done
    if ((${#LEAK[@]} > 0)); then
        clean_leaks || die "could not clean up after $PART: see $LOGS; $(our_procs | tr '\n' ' ')"
    fi
}

# part_burst R: PODS `up -d` at once, all Running, then down --all.
part_burst() {
    begin_part "round $1 burst"
    local base i name
    local -a pids=()
    local -A pid_of=()
    base=$(free_ports "$PODS")
    for ((i = 0; i < PODS; i++)); do
        name=$PREFIX-$1b$i
        PART_PODS+=("$name")
        manifest "$name" $((base + i))
        POD=$name pb "$LOGS/$name.up.log" up -d -f "${MANIFEST_OF[$name]}"
        pids+=("$bg")
        pid_of[$name]=$bg
    done
    wait_pids "$TIMEOUT" "${pids[@]}"
    local -A listed_as=()
    local n s
    while read -r n s; do
        listed_as[$n]=$s
    done < <(podbox_ps)
    local why
    for name in "${PART_PODS[@]}"; do
        rc=${RC[${pid_of[$name]}]}
        why=$(bad_exit "$rc" "$LOGS/$name.up.log")
        if [[ -n $why ]]; then
            fail "$name" "up -d: $why"
        elif [[ $rc != 0 ]]; then
            fail "$name" "up -d exit $rc: $(last_error "$LOGS/$name.up.log")"
        elif [[ ${listed_as[$name]:-} != Running ]]; then
            fail "$name" "up -d exited 0 but podbox ps lists it as '${listed_as[$name]:-nothing}'"
        fi
    done
    down_all final
    end_part
}

# part_race R: PODS `up -d` at once, down --all while they start, a last
# down --all.
part_race() {
    begin_part "round $1 race"
    local base i name
    local -a pids=()
    local -A pid_of=()
    base=$(free_ports "$PODS")
    for ((i = 0; i < PODS; i++)); do
        name=$PREFIX-$1r$i
        PART_PODS+=("$name")
        manifest "$name" $((base + i))
    done
    for name in "${PART_PODS[@]}"; do
        POD=$name pb "$LOGS/$name.up.log" up -d -f "${MANIFEST_OF[$name]}"
        pids+=("$bg")
        pid_of[$name]=$bg
    done
    # As soon as a pod directory exists: starts are under way.
    local deadline=$((SECONDS + TIMEOUT)) downs=0 pid any
    while ((downs < 3)); do
        any=0
        for pid in "${pids[@]}"; do
            running "$pid" && any=1
        done
        ((any)) || break
        if compgen -G "$RUN_PODS/*" >/dev/null || ((SECONDS >= deadline)); then
            downs=$((downs + 1))
            down_all "race$downs"
        else
            sleep 0.05
        fi
    done
    note "$downs down --all while starting"
    wait_pids "$TIMEOUT" "${pids[@]}"
    local why refused=0
    local -a reasons=()
    for name in "${PART_PODS[@]}"; do
        rc=${RC[${pid_of[$name]}]}
        why=$(bad_exit "$rc" "$LOGS/$name.up.log")
        [[ -z $why ]] || fail "$name" "up -d: $why"
        if [[ $rc != 0 ]]; then
            refused=$((refused + 1))
            # The error without the pod's name, to count alike ones.
            why=$(last_error "$LOGS/$name.up.log" | sed -e "s/$name/POD/g" -e 's/time="[^"]*" //g' | cut -c1-110)
            [[ $rc != hung ]] || why="(hung)"
            reasons+=("${why:-exit $rc, no podbox: line}")
        fi
    done
    note "$refused of $PODS up -d refused or failed cleanly"
    if ((refused > 0)); then
        while IFS= read -r why; do
            note "  $why"
        done < <(printf '%s\n' "${reasons[@]}" | sort | uniq -c | sort -rn)
    fi
    down_all final
    end_part
}

# The kill cases. Each runs in the background and writes its failures
# (lines "POD: why") to OUT and its notes to OUT.note.

# kill_early NAME OUT: SIGKILL the pod's process as soon as it exists.
kill_early() {
    local name=$1 out=$2 pid="" deadline=$((SECONDS + TIMEOUT)) up
    POD=$name pb "$LOGS/$name.up.log" up -d -f "${MANIFEST_OF[$name]}"
    up=$bg
    while running "$up" && ((SECONDS < deadline)); do
        # The process comes after its directory: no scan of /proc before.
        if [[ -d $RUN_PODS/$name ]] && find_pod_proc "$name" "$up"; then
            pid=$POD_PROC
            break
        fi
        nap 0.005
    done
    if [[ -n $pid ]]; then
        running "$up" || echo "$name: its pod's process was seen only after up -d ended (killed Running)" >>"$out.note"
        kill -KILL "$pid" 2>/dev/null || true
    else
        echo "$name: the up ended before its pod's process was seen" >>"$out.note"
    fi
    wait_pids "$AFTER_KILL" "$up"
    why=$(bad_exit "${RC[$up]}" "$LOGS/$name.up.log")
    [[ -z $why ]] || echo "$name: up -d: $why" >>"$out"
}

# kill_running NAME OUT: SIGKILL the pod's process once up -d returned.
kill_running() {
    local name=$1 out=$2 pid
    POD=$name run_pb "$LOGS/$name.up.log" up -d -f "${MANIFEST_OF[$name]}"
    why=$(bad_exit "$rc" "$LOGS/$name.up.log")
    [[ -z $why ]] || echo "$name: up -d: $why" >>"$out"
    if [[ $rc != 0 ]]; then
        echo "$name: up -d exit $rc: $(last_error "$LOGS/$name.up.log")" >>"$out"
        return
    fi
    if pid=$(pod_pid "$name"); then
        kill_gone "$pid" || echo "$name: pod process $pid survived SIGKILL" >>"$out"
    else
        echo "$name: no pid file proving its process after up -d returned 0" >>"$out"
    fi
}

# kill_down NAME OUT: SIGKILL the pod's process while `down NAME` stops it
# (its status has the Killing event, its shell container takes 3 s).
kill_down() {
    local name=$1 out=$2 pid down deadline
    POD=$name run_pb "$LOGS/$name.up.log" up -d -f "${MANIFEST_OF[$name]}"
    why=$(bad_exit "$rc" "$LOGS/$name.up.log")
    [[ -z $why ]] || echo "$name: up -d: $why" >>"$out"
    if [[ $rc != 0 ]]; then
        echo "$name: up -d exit $rc: $(last_error "$LOGS/$name.up.log")" >>"$out"
        return
    fi
    pid=$(pod_pid "$name") || {
        echo "$name: no pid file proving its process after up -d returned 0" >>"$out"
        return
    }
    POD=$name pb "$LOGS/$name.down.log" down "$name"
    down=$bg
    deadline=$((SECONDS + 20))
    while running "$down" && ((SECONDS < deadline)); do
        if grep -q '"reason":"Killing"' "$RUN_PODS/$name/status.json" 2>/dev/null; then
            break
        fi
        sleep 0.02
    done
    if running "$down"; then
        kill -KILL "$pid" 2>/dev/null || true
    else
        echo "$name: down ended before the pod was seen stopping" >>"$out.note"
    fi
    wait_pids "$AFTER_KILL" "$down"
    why=$(bad_exit "${RC[$down]}" "$LOGS/$name.down.log")
    [[ -z $why ]] || echo "$name: down: $why" >>"$out"
}

# kill_up NAME OUT WHEN: SIGKILL the `up -d` process itself mid-start: when
# the pod's runtime directory appears (WHEN=dir) or its process (WHEN=proc).
kill_up() {
    local name=$1 out=$2 when=$3 up seen="" deadline=$((SECONDS + TIMEOUT))
    POD=$name pb "$LOGS/$name.up.log" up -d -f "${MANIFEST_OF[$name]}"
    up=$bg
    while running "$up" && ((SECONDS < deadline)); do
        if [[ $when == dir && -d $RUN_PODS/$name ]] ||
            { [[ $when == proc && -d $RUN_PODS/$name ]] && find_pod_proc "$name" "$up"; }; then
            seen=1
            break
        fi
        nap 0.005
    done
    if [[ -n $seen ]]; then
        kill -KILL "$up" 2>/dev/null || true
    else
        echo "$name: the up ended before its pod's $when was seen" >>"$out.note"
    fi
    wait_pids "$AFTER_KILL" "$up"
    why=$(bad_exit "${RC[$up]}" "$LOGS/$name.up.log" 137)
    [[ -z $why ]] || echo "$name: up -d: $why" >>"$out"
}

# kill_fg NAME OUT: SIGKILL the pod's process under a foreground `up` once
# the pod runs; the `up` must end.
kill_fg() {
    local name=$1 out=$2 up pid="" deadline=$((SECONDS + TIMEOUT))
    POD=$name pb "$LOGS/$name.up.log" up -f "${MANIFEST_OF[$name]}"
    up=$bg
    while running "$up" && ((SECONDS < deadline)); do
        if grep -q '"phase":"Running"' "$RUN_PODS/$name/status.json" 2>/dev/null &&
            pid=$(pod_pid "$name"); then
            break
        fi
        pid=""
        sleep 0.05
    done
    if [[ -n $pid ]]; then
        kill -KILL "$pid" 2>/dev/null || true
    else
        echo "$name: the foreground up ended before its pod was seen Running" >>"$out.note"
    fi
    wait_pids "$AFTER_KILL" "$up"
    why=$(bad_exit "${RC[$up]}" "$LOGS/$name.up.log" 1 137)
    [[ -z $why ]] || echo "$name: foreground up: $why" >>"$out"
}

# part_kill R: PODS pods, the kill cases in turn, all at once; then down
# --all, and an up -d (garbage collection) and down of one more pod.
part_kill() {
    begin_part "round $1 kill"
    local base i name out=$WORK/kill-$1 line
    local -a cases=(early running down up-dir up-proc fg) jobs=()
    : >"$out"
    : >"$out.note"
    # Every case at least once, whatever PODS.
    local n=$((PODS > ${#cases[@]} ? PODS : ${#cases[@]}))
    base=$(free_ports $((n + 1)))
    for ((i = 0; i < n; i++)); do
        local kind=${cases[i % ${#cases[@]}]}
        name=$PREFIX-$1k$i
        PART_PODS+=("$name")
        case "$kind" in
            down) manifest "$name" $((base + i)) 3 ;;
            *) manifest "$name" $((base + i)) ;;
        esac
        case "$kind" in
            # stderr to a log: bash says "Killed" of the jobs we kill.
            early) kill_early "$name" "$out" 2>>"$LOGS/kill-cases.err" & ;;
            running) kill_running "$name" "$out" 2>>"$LOGS/kill-cases.err" & ;;
            down) kill_down "$name" "$out" 2>>"$LOGS/kill-cases.err" & ;;
            up-dir) kill_up "$name" "$out" dir 2>>"$LOGS/kill-cases.err" & ;;
            up-proc) kill_up "$name" "$out" proc 2>>"$LOGS/kill-cases.err" & ;;
            fg) kill_fg "$name" "$out" 2>>"$LOGS/kill-cases.err" & ;;
        esac
        KIND_OF[$name]="kill $kind"
        jobs+=("$!")
    done
    local j
    for j in "${jobs[@]}"; do
        wait "$j" || true
    done
    while IFS= read -r line; do
        [[ -n $line ]] && fail "${line%%: *}" "${line#*: }"
    done <"$out"
    while IFS= read -r line; do
        [[ -n $line ]] && note "$line"
    done <"$out.note"
    down_all final
    # One more pod: its up collects the garbage of dead pods.
    name=$PREFIX-$1gc
    PART_PODS+=("$name")
    manifest "$name" $((base + n))
    POD=$name run_pb "$LOGS/$name.up.log" up -d -f "${MANIFEST_OF[$name]}"
    local why
    why=$(bad_exit "$rc" "$LOGS/$name.up.log")
    [[ $rc == 0 ]] || why=${why:-exit $rc: $(last_error "$LOGS/$name.up.log")}
    [[ -z $why ]] || fail "$name" "up -d (after the kills): $why"
    POD=$name run_pb "$LOGS/$name.down.log" down "$name"
    why=$(bad_exit "$rc" "$LOGS/$name.down.log")
    [[ $rc == 0 || -n $why ]] || why="exit $rc: $(last_error "$LOGS/$name.down.log")"
    [[ -z $why ]] || fail "$name" "down: $why"
    end_part
}

###############################################################################
# Set-up and teardown

teardown() {
    local status=$?
    trap - EXIT INT TERM
    set +eu
    local -a kids=()
    mapfile -t kids < <(jobs -p)
    ((${#kids[@]} == 0)) || kill_gone "${kids[@]}"
    PART=teardown SLUG=teardown
    clean_leaks >/dev/null 2>&1
    "$PODBOX" down --all >/dev/null 2>&1
    "$PODBOX" system reset --force >/dev/null 2>&1 || echo "stress.sh: podbox system reset failed" >&2
    if [[ -n $REGISTRY ]]; then
        "$REPO/scripts/registry.sh" stop "$REGISTRY_DIR" || echo "stress.sh: could not stop the registry" >&2
    fi
    local procs
    procs=$(our_procs)
    if [[ -n $procs ]]; then
        echo "stress.sh: processes of this run still alive: $procs" >&2
        status=2
    fi
    if ((status == 0)); then
        rm -rf "$WORK" || echo "stress.sh: could not remove $WORK" >&2
    else
        find "$WORK" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf {} + 2>/dev/null ||
            echo "stress.sh: could not remove all of $WORK" >&2
        echo "stress.sh: the commands' output is kept in $LOGS" >&2
    fi
    exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

REGISTRY=$("$REPO/scripts/registry.sh" start "$REGISTRY_DIR") || die "could not start the registry"
export CONTAINERS_REGISTRIES_CONF=$XDG_CONFIG_HOME/containers/registries.conf
cat >"$CONTAINERS_REGISTRIES_CONF" <<EOF
[[registry]]
location = "$REGISTRY"
insecure = true
EOF
"$REPO/bin/testimages" -registry "$REGISTRY" -out "$WORK/images" >"$LOGS/testimages.log" 2>&1 ||
    die "bin/testimages failed: $(tail -n3 "$LOGS/testimages.log")"
pull_image

echo "podbox stress: $PODS pods x $ROUNDS rounds (burst, race, kill), run $RUN_ID, work dir $WORK"
for ((r = 1; r <= ROUNDS; r++)); do
    part_burst "$r"
    part_race "$r"
    part_kill "$r"
done

echo
if ((${#REPORT[@]} > 0)); then
    echo "failures and leaks:"
    printf '  %s\n' "${REPORT[@]}"
fi
if ((${#LEAK_KINDS[@]} > 0)); then
    for k in "${!LEAK_KINDS[@]}"; do
        echo "$k ${LEAK_KINDS[$k]}"
    done | sort | awk '{ n = $NF; $NF = ""; printf "%s%s%s", (NR > 1 ? ", " : "leaks by kind: "), $0, n } END { print "" }'
fi
echo "tried $TRIED / survived $SURVIVED / leaked $LEAKED"
if ((${#REPORT[@]} > 0)); then
    exit 1
fi

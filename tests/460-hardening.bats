#!/usr/bin/env bats
# 460-hardening: the runtime probe does not depend on how podbox was built,
# the default seccomp profile and securityContext.seccompProfile, and a
# pod whose slirp4netns dies says so.

load helpers

# slirp_pid POD: the pid of the pod's slirp4netns, checked to be one.
slirp_pid() {
    local pid
    pid=$(cat "$(pod_rundir "$1")/slirp4netns.pid") || die "no slirp4netns.pid for $1"
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == slirp4netns ]] || die "pid $pid of $1 is not slirp4netns"
    echo "$pid"
}

@test "hardening: a podbox built by plain go build runs pods, and the static one after it" {
    local dynamic=${PODBOX%/*}/podbox-dynamic
    [[ -x $dynamic ]] || die "$dynamic is missing: make build makes it"
    ldd "$dynamic" >/dev/null 2>&1 || die "$dynamic is not dynamically linked"
    ! ldd "$PODBOX" >/dev/null 2>&1 || die "$PODBOX is not static"
    # A runtime dir of its own: no probe result cached yet, as on a fresh boot.
    XDG_RUNTIME_DIR=$BATS_TEST_TMPDIR/run
    mkdir -m 0700 "$XDG_RUNTIME_DIR"
    local pod
    pod=$(safename)
    PODBOX=$dynamic run_podbox up -f "$(render hello.yaml "$pod")"
    assert "$output" =~ "hello from podbox" "the dynamic podbox ran the pod"
    run_podbox up -f "$(render hello.yaml "$pod")"
    assert "$output" =~ "hello from podbox" "the static podbox ran it after the dynamic one"
    # Each binary probed for itself.
    run jq -r 'keys[]' "$XDG_RUNTIME_DIR/podbox/runtime.json"
    assert "$output" =~ "podbox:$dynamic" "the dynamic podbox's own probe"
    assert "$output" =~ "podbox:$PODBOX" "the static podbox's own probe"
}

@test "hardening: containers cannot make user namespaces by default; Unconfined can" {
    local pod
    pod=$(safename)
    run_podbox up -f "$(render hardening-userns.yaml "$pod")"
    assert "$output" =~ "confined +\| NESTED-USERNS-REFUSED" "RuntimeDefault refuses unshare -U"
    assert "$output" =~ "unconfined +\| NESTED-USERNS-OK" "Unconfined allows it"
}

@test "hardening: a Localhost seccomp profile applies to the pod, a container's own profile wins" {
    mkdir -p "$XDG_CONFIG_HOME/podbox/seccomp/test"
    cat >"$XDG_CONFIG_HOME/podbox/seccomp/test/deny-mkdir.json" <<'EOF'
{
    "defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
}
EOF
    local pod
    pod=$(safename)
    run_podbox up -f "$(render hardening-localhost.yaml "$pod" 0 PROFILE=test/deny-mkdir.json)"
    assert "$output" =~ "pod-profile +\| MKDIR-DENIED" "the pod's Localhost profile forbids mkdir"
    assert "$output" =~ "own-profile +\| MKDIR-OK" "the container's RuntimeDefault overrides it"

    run_podbox 125 up -f "$(render hardening-localhost.yaml "$pod" 0 PROFILE=test/missing.json)"
    assert "$output" =~ "spec.securityContext.seccompProfile.localhostProfile: reading the profile: .*podbox/seccomp/test/missing.json: no such file" \
        "a missing profile names the field and the file"
    run_podbox 125 up -f "$(render hardening-localhost.yaml "$pod" 0 PROFILE=../escape.json)"
    assert "$output" =~ "must be a relative path without '..'" "a profile outside the directory is refused"
    run_podbox ps
    assert "$output" !~ "$pod" "nothing left of the failed pods"
}

@test "hardening: slirp4netns dying under up -d shows as NetworkDown in ps, describe and the events" {
    local pod slirp
    pod=$(safename)
    run_podbox up -d -f "$(render sleeper.yaml "$pod" 4646)"
    slirp=$(slirp_pid "$pod")
    run_podbox ps
    assert "$output" =~ "$pod +Running" "running before"
    # No copy leaked: the pipe's write end is slirp4netns's fd 5, its read
    # end the pod PID 1's, and no other process holds either.
    local pipe pid1 holders
    pipe=$(readlink "/proc/$slirp/fd/5")
    [[ $pipe == pipe:* ]] || die "fd 5 of slirp4netns is '$pipe', not a pipe"
    pid1=$(awk '{ print $1 }' "$(pod_rundir "$pod")/pid")
    holders=$(find /proc/[0-9]*/fd -lname "${pipe//[/\\[}" 2>/dev/null | cut -d/ -f3 | sort -nu | tr '\n' ' ')
    assert "$holders" == "$(printf '%s\n' "$slirp" "$pid1" | sort -n | tr '\n' ' ')" "only slirp4netns and the pod's PID 1 hold the pipe"
    kill -KILL "$slirp"
    wait_for 10 pod_status_is "$pod" NetworkDown
    run_podbox describe pod "$pod"
    assert "$output" =~ "Reason: +NetworkDown" "describe gives the reason"
    assert "$output" =~ "PodReadyToStartContainers +False" "and the condition"
    assert "$output" =~ "Warning +NetworkDown .*slirp4netns \(pid $slirp\) exited" "and the event"
    pgrep -u "$(id -u)" -fx "sleep 4646" >/dev/null || die "the container should still run"
    run_podbox get pod "$pod" -o json
    run jq -r '.status.conditions[] | select(.type == "PodReadyToStartContainers") | .status + " " + .reason' <<<"$output"
    assert "$output" == "False NetworkDown" "get shows the condition"
    run_podbox down "$pod"
}

# shellcheck disable=SC2154 # bg_pid and bg_log come from run_podbox_bg
@test "hardening: slirp4netns dying under a foreground up is seen too (up holds no copy of its pipe)" {
    local pod slirp
    pod=$(safename)
    run_podbox_bg up -f "$(render sleeper.yaml "$pod" 4747)"
    wait_for --alive "$bg_pid" --log "$bg_log" 30 pod_status_is "$pod" Running
    slirp=$(slirp_pid "$pod")
    kill -KILL "$slirp"
    wait_for --alive "$bg_pid" --log "$bg_log" 10 pod_status_is "$pod" NetworkDown
    kill -INT "$bg_pid"
    wait_for 20 bash -c "! kill -0 $bg_pid"
}

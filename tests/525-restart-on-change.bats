#!/usr/bin/env bats
# 525-restart-on-change: the podbox.io/restart-on-change annotation restarts
# a container at once when a file under its hostPath mount changes, without
# back-off (issue 12 item 2, its optional part).

load helpers

# src_pod FILE POD SRC [ANNOTATION]: a busybox pod that prints SRC/lib/msg
# at start and sleeps ($CHECK first if set); SRC mounted on /src.
src_pod() {
    cat >"$1" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $2
EOF
    [[ -z ${4:-} ]] || printf '  annotations:\n    podbox.io/restart-on-change: "%s"\n' "$4" >>"$1"
    cat >>"$1" <<EOF
spec:
  terminationGracePeriodSeconds: 5
  volumes:
    - name: src
      hostPath: {path: $3, type: Directory}
  containers:
    - name: app
      image: $PODBOX_TEST_REGISTRY/busybox:latest
      imagePullPolicy: IfNotPresent
      command: ["sh", "-c", "echo msg=\$(cat /src/lib/msg); ${CHECK:-}exec sleep 3600"]
      volumeMounts: [{name: src, mountPath: /src}]
EOF
}

# new_src_pod MSG [ANNOTATION]: a new pod (src_pod) whose SRC, a new
# directory, has lib/msg saying MSG; sets $pod, $src and $file (its manifest).
new_src_pod() {
    pod=$(safename)
    src=$BATS_TEST_TMPDIR/src
    mkdir -p "$src/lib"
    echo "$1" >"$src/lib/msg"
    file=$BATS_TEST_TMPDIR/pod.yaml
    src_pod "$file" "$pod" "$src" "${2:-}"
}

# restarts POD: the restartCount of its container.
restarts() { "$PODBOX" get pod "$1" -o json | jq -er '.status.containerStatuses[0].restartCount'; }

# logs_say POD TEXT: its current logs have the line TEXT.
logs_say() { "$PODBOX" logs "$1" 2>/dev/null | grep -qx -- "$2"; }

@test "restart-on-change: an edit under the hostPath restarts the container at once" {
    local pod file src t0 elapsed
    new_src_pod one app
    run_podbox up -d -f "$file"
    wait_for 20 logs_say "$pod" msg=one
    assert "$(restarts "$pod")" == 0

    t0=$(date +%s%N)
    echo two >"$src/lib/msg" # in a subdirectory: watched recursively
    wait_for 10 logs_say "$pod" msg=two
    elapsed=$((($(date +%s%N) - t0) / 1000000))
    echo "# restarted with the new content in $elapsed ms" >&3
    ((elapsed < 3000)) || die "took $elapsed ms: back-off?"
    wait_for 5 test "$(restarts "$pod")" = 1
    run_podbox describe pod "$pod"
    grep -qF "Container app: $src/lib/msg changed, will be restarted" <<<"$output" || die "no Killing event naming the file"
    assert "$output" !~ "BackOff"

    # A second edit: again at once, no back-off doubling.
    t0=$(date +%s%N)
    echo three >"$src/lib/msg"
    wait_for 10 logs_say "$pod" msg=three
    elapsed=$((($(date +%s%N) - t0) / 1000000))
    ((elapsed < 3000)) || die "the second restart took $elapsed ms"
    wait_for 5 test "$(restarts "$pod")" = 2

    run_podbox logs --previous "$pod"
    assert "$output" == "msg=two"

    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

# shellcheck disable=SC2154 # bg_pid and bg_log come from run_podbox_bg
@test "restart-on-change: a foreground up says so and shows the new run's output" {
    local pod file src
    new_src_pod one app
    run_podbox_bg up -f "$file"
    wait_for --alive "$bg_pid" --log "$bg_log" 20 grep -q "msg=one" "$bg_log"
    echo two >"$src/lib/msg"
    wait_for --alive "$bg_pid" --log "$bg_log" 5 grep -qF "app restarted: $src/lib/msg changed" "$bg_log"
    wait_for --alive "$bg_pid" --log "$bg_log" 5 grep -q "msg=two" "$bg_log"
    kill -TERM "$bg_pid"
    local rc=0
    wait "$bg_pid" || rc=$?
    assert "$rc" == 143
    assert_pod_gone "$pod"
}

# waiting_reason POD: why its container waits.
waiting_reason() { "$PODBOX" get pod "$1" -o json | jq -er '.status.containerStatuses[0].state.waiting.reason'; }

@test "restart-on-change: a fix ends the crash back-off at once" {
    local pod file src t0 elapsed
    CHECK='grep -q good /src/lib/msg || exit 1; ' new_src_pod bad app
    run_podbox up -d -f "$file"
    wait_for 20 test "$(waiting_reason "$pod" 2>/dev/null)" = CrashLoopBackOff

    t0=$(date +%s%N)
    echo good >"$src/lib/msg"
    wait_for 8 logs_say "$pod" msg=good
    elapsed=$((($(date +%s%N) - t0) / 1000000))
    echo "# out of the 10 s back-off in $elapsed ms" >&3
    ((elapsed < 3000)) || die "took $elapsed ms: the back-off ran on"
    wait_for 5 test "$(restarts "$pod")" = 1
    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

@test "restart-on-change: without the annotation an edit restarts nothing" {
    local pod file src
    new_src_pod one
    run_podbox up -d -f "$file"
    wait_for 20 logs_say "$pod" msg=one
    echo two >"$src/lib/msg"
    # The annotated pod restarts within 1 s (test above): give this one 2 s.
    if wait_for 2 logs_say "$pod" msg=two 2>/dev/null; then
        die "restarted without the annotation"
    fi
    assert "$(restarts "$pod")" == 0
    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

@test "restart-on-change: an unknown container is a file:line error" {
    local file src
    src=$BATS_TEST_TMPDIR/src
    mkdir -p "$src"
    file=$BATS_TEST_TMPDIR/pod.yaml
    src_pod "$file" "$(safename)" "$src" "app,web"
    run_podbox 125 up -d -f "$file"
    grep -qF 'pod.yaml:6: metadata.annotations[podbox.io/restart-on-change]: no container "web" in the pod (its containers: app)' <<<"$output" ||
        die "not the file:line error"
}

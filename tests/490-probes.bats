#!/usr/bin/env bats
# 490-probes: probes and lifecycle hooks as the kubelet runs them, made by
# the pod's process (no curl or wget in the image): readiness drives READY,
# a failing liveness probe restarts the container with back-off, postStart
# and preStop run, lifecycle.stopSignal picks the signal (issue 11, items 1
# and 2).

load helpers

# ps_col POD N: column N of `podbox ps` for POD (3 READY, 4 RESTARTS).
ps_col() {
    "$PODBOX" ps 2>/dev/null | awk -v p="$1" -v n="$2" '$1 == p { print $n }'
}

ready_is() { [[ $(ps_col "$1" 3) == "$2" ]]; }
restarted() { [[ $(ps_col "$1" 4) =~ ^[1-9] ]]; }

# described POD REGEX: `podbox describe pod POD` matches REGEX.
described() { "$PODBOX" describe pod "$1" 2>/dev/null | grep -Eq "$2"; }

@test "readinessProbe: the pod turns Ready once the probed file exists" {
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render probes-ready.yaml "$pod")"
    wait_for 10 pod_status_is "$pod" Running
    # Several probe periods: still not ready.
    wait_for 10 described "$pod" "Readiness probe failed"
    assert "$(ps_col "$pod" 3)" == "0/1" "not ready before the file exists"
    run_podbox get pod "$pod" -o yaml
    assert "$output" =~ "ready: false"
    run_podbox exec "$pod" -- touch /tmp/ready
    wait_for 10 ready_is "$pod" 1/1
    run_podbox get pod "$pod" -o json
    assert "$(jq -r '.status.conditions[] | select(.type == "Ready") | .status' <<<"$output")" == "True" "the pod's Ready condition"
    run_podbox exec "$pod" -- rm /tmp/ready
    wait_for 10 ready_is "$pod" 0/1
    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

@test "livenessProbe httpGet: a static server whose page goes away is restarted, with back-off" {
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render probes-live.yaml "$pod")"
    wait_for 10 ready_is "$pod" 1/1
    run_podbox get pod "$pod" -o json
    assert "$(jq -r '.status.containerStatuses[0].started' <<<"$output")" == "true" "started once the startupProbe succeeded"
    run_podbox exec "$pod" -- rm /www/index.html
    wait_for 10 described "$pod" "Liveness probe failed: HTTP probe failed with statuscode: 404"
    # failureThreshold 2: killed at the second failure in a row.
    wait_for 10 described "$pod" "Killing +[^ ]+ +podbox +Container web failed liveness probe, will be restarted"
    wait_for 10 described "$pod" "BackOff"
    run_podbox describe pod "$pod"
    assert "$output" =~ "Liveness: +http-get http://:http/index.html delay=0s timeout=1s period=1s #success=1 #failure=2" "as kubectl describe"
    # The back-off is 10 s before the first restart.
    wait_for 30 restarted "$pod"
    wait_for 10 ready_is "$pod" 1/1
    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

@test "postStart: its file exists once the container runs" {
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render hooks.yaml "$pod" 0 SIGNAL=SIGTERM)"
    wait_for 10 pod_status_is "$pod" Running
    run_podbox exec "$pod" -- cat /tmp/poststart
    assert "$output" == "from postStart"
    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

@test "postStart that fails: FailedPostStartHook, the container is killed and restarted" {
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render hooks-fail.yaml "$pod")"
    wait_for 10 described "$pod" FailedPostStartHook
    run_podbox describe pod "$pod"
    assert "$output" =~ "FailedPostStartHook +[^ ]+ +podbox +Exec lifecycle hook .* exited with 3: no luck"
    wait_for 30 restarted "$pod"
    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

# shellcheck disable=SC2154 # bg_pid and bg_log come from run_podbox_bg
@test "preStop: its output is in the container's log before the stop signal (stopSignal SIGQUIT)" {
    local pod
    pod=$(safename)
    run_podbox_bg up -f "$(render hooks.yaml "$pod" 0 SIGNAL=SIGQUIT)"
    wait_for --alive "$bg_pid" --log "$bg_log" 20 grep -q "hooked | ready" "$bg_log"
    PODBOX_TIMEOUT=20 run_podbox down "$pod"
    wait_for 10 bash -c "! kill -0 $bg_pid"
    sed 's/^/# | /' "$bg_log"
    local pre stop
    pre=$(grep -n "hooked | preStop ran" "$bg_log" | cut -d: -f1)
    stop=$(grep -n "hooked | got the stop signal" "$bg_log" | cut -d: -f1)
    [[ -n $pre ]] || die "no preStop output in the container's log"
    [[ -n $stop ]] || die "the container did not get SIGQUIT"
    ((pre < stop)) || die "preStop's output (line $pre) is not before the stop signal's (line $stop)"
    assert_pod_gone "$pod"
}

@test "grpc readiness and HTTPS liveness probes, made by podbox's probe helper" {
    local pod dir
    pod=$(safename)
    dir=$BATS_TEST_TMPDIR/probes
    mkdir -p "$dir"
    cp "$BATS_TEST_DIRNAME/../bin/testimages" "$dir/"
    run_podbox up -d -f "$(render probes-tls.yaml "$pod" 0 HOSTDIR="$dir")"
    wait_for 20 ready_is "$pod" 1/1
    # Both servers say unhealthy: not ready at once (grpc), then killed (https).
    run_podbox exec "$pod" -- touch /tmp/unhealthy
    wait_for 10 ready_is "$pod" 0/1
    wait_for 10 described "$pod" 'Readiness probe failed: service unhealthy \(responded with "NOT_SERVING"\)'
    wait_for 10 described "$pod" "Liveness probe failed: HTTP probe failed with statuscode: 500"
    wait_for 10 described "$pod" "Container tls failed liveness probe, will be restarted"
    # The restarted container starts healthy (its command removes the file).
    wait_for 30 restarted "$pod"
    wait_for 10 ready_is "$pod" 1/1
    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

@test "startupProbe on a sidecar gates the containers after it" {
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render probes-sidecar.yaml "$pod")"
    wait_for 20 pod_status_is "$pod" Running
    assert "$(ps_col "$pod" 3)" == "2/2" "the sidecar and the app are ready (the app found the sidecar's file; READY counts the sidecar, as kubectl 1.29+ does)"
    run_podbox describe pod "$pod"
    assert "$output" =~ "Startup probe failed" "the sidecar was probed before it was up"
    run_podbox get pod "$pod" -o json
    assert "$(jq -r '.status.initContainerStatuses[0].started' <<<"$output")" == "true"
    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

# shellcheck disable=SC2154 # bg_pid and bg_log come from run_podbox_bg
@test "preStop httpGet: the server gets the request before it is stopped" {
    local pod
    pod=$(safename)
    run_podbox_bg up -f "$(render hooks-http.yaml "$pod")"
    wait_for --alive "$bg_pid" --log "$bg_log" 20 grep -q "web | ready" "$bg_log"
    wait_for 10 pod_status_is "$pod" Running
    PODBOX_TIMEOUT=20 run_podbox down "$pod"
    wait_for 10 bash -c "! kill -0 $bg_pid"
    sed 's/^/# | /' "$bg_log"
    grep -q "web | .*url:/prestop" "$bg_log" || die "httpd did not log the preStop request"
    assert_pod_gone "$pod"
}

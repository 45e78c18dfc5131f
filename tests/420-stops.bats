#!/usr/bin/env bats
# 420-stops: stopping a pod is fast and still Kubernetes': SIGTERM, then
# SIGKILL after the grace period; but a container whose PID 1 cannot get
# SIGTERM (no handler in a PID namespace's init, as sh or sleep) is killed
# at once, with a Killing event; down --grace-period, --now, --timeout as
# kubectl delete's (issue 9, item 8).

load helpers

@test "down: a sleep 3600 pod with the default 30 s grace period stops at once" {
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render stops-sleep.yaml "$pod")"
    wait_for 10 pod_status_is "$pod" Running
    # Well under the grace period: sleep cannot get SIGTERM, so waiting
    # for it would change nothing.
    PODBOX_TIMEOUT=10 run_podbox down "$pod"
    assert "$output" == "$pod"
    assert_pod_gone "$pod"
}

@test "stop: a sidecar that cannot get SIGTERM is killed at once, with a Killing event" {
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render stops-sidecar.yaml "$pod")"
    # The app is done at once; the sidecar is stopped so that the pod can
    # finish, well within its 30 s grace period.
    wait_for 10 pod_status_is "$pod" Completed
    run_podbox describe pod "$pod"
    assert "$output" =~ "Killing +[^ ]+ +podbox +Stopping container helper: it does not handle SIGTERM; killed at once" \
        "the event says why it did not wait"
    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

# shellcheck disable=SC2154 # bg_pid and bg_log come from run_podbox_bg
@test "down: a container with a SIGTERM handler still gets SIGTERM; its handler's output is in the log" {
    local pod
    pod=$(safename)
    run_podbox_bg up -f "$(render stops-trap.yaml "$pod")"
    wait_for --alive "$bg_pid" --log "$bg_log" 20 grep -q "polite | ready" "$bg_log"
    PODBOX_TIMEOUT=10 run_podbox down "$pod"
    wait_for 10 bash -c "! kill -0 $bg_pid"
    sed 's/^/# | /' "$bg_log"
    grep -q "polite | bye" "$bg_log" || die "the trap did not run: no 'bye' in the output"
    assert_pod_gone "$pod"
}

@test "down --grace-period 0, --now, --timeout: a container that ignores SIGTERM is stopped at once" {
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render stops-stubborn.yaml "$pod" 300)"
    wait_for 20 grep -q ready "$(pod_datadir "$pod")/logs/stubborn.log"
    PODBOX_TIMEOUT=10 run_podbox down --grace-period 0 "$pod"
    assert_pod_gone "$pod"

    run_podbox up -d -f "$(render stops-stubborn.yaml "$pod" 300)"
    wait_for 20 grep -q ready "$(pod_datadir "$pod")/logs/stubborn.log"
    PODBOX_TIMEOUT=10 run_podbox down --now "$pod"
    assert_pod_gone "$pod"

    # --timeout: down gives up waiting and kills the pod's process.
    run_podbox up -d -f "$(render stops-stubborn.yaml "$pod" 300)"
    wait_for 20 grep -q ready "$(pod_datadir "$pod")/logs/stubborn.log"
    PODBOX_TIMEOUT=10 run_podbox down --timeout 2s "$pod"
    assert "$output" =~ "did not stop in 2s"
    assert_pod_gone "$pod"

    run_podbox 125 down --now --grace-period 3 "$pod"
    assert "$output" =~ "cannot be used together"
}

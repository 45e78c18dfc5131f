#!/usr/bin/env bats
# 495-fields: pod fields the docs' examples use, honoured as the kubelet
# does (issue 11, item 4): shareProcessNamespace, securityContext checks,
# activeDeadlineSeconds.

load helpers

@test "shareProcessNamespace: a container sees the other's processes; without it, it does not" {
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render fields-sharepid.yaml "$pod" 0 SHARE=true)"
    wait_for 10 pod_status_is "$pod" Running
    run_podbox exec -c two "$pod" -- ps -o pid,args
    assert "$output" =~ "sleep 1001" "container one's process, seen from two"
    # The pod's PID 1 is podbox's, as the pause container's on a cluster.
    run_podbox exec -c one "$pod" -- cat /proc/1/comm
    assert "$output" !~ "sleep" "PID 1 is not a container's process"
    run_podbox down "$pod"
    assert_pod_gone "$pod"

    pod=$(safename)
    run_podbox up -d -f "$(render fields-sharepid.yaml "$pod" 0 SHARE=false)"
    wait_for 10 pod_status_is "$pod" Running
    run_podbox exec -c two "$pod" -- ps -o pid,args
    assert "$output" !~ "sleep 1001" "own PID namespace by default"
    run_podbox exec -c one "$pod" -- cat /proc/1/cmdline
    assert "$output" =~ "sleep" "the container's process is its PID 1"
    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

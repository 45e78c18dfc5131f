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

@test "runAsNonRoot with an image that runs as root: refused with the kubelet's words" {
    local pod
    pod=$(safename)
    run_podbox 125 up -d -f "$(render fields-security.yaml "$pod" 0 NONROOT=true)"
    # The lines before are the pull's.
    assert "${lines[-1]}" =~ "^podbox: .*container \"app\": CreateContainerConfigError: container has runAsNonRoot and image will run as root$"
    assert_pod_gone "$pod"
}

@test "readOnlyRootFilesystem: a write to / fails, a write to an emptyDir works" {
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render fields-security.yaml "$pod" 0 NONROOT=false)"
    wait_for 10 pod_status_is "$pod" Running
    run_podbox 1 exec "$pod" -- touch /written
    assert "$output" =~ "Read-only file system"
    run_podbox exec "$pod" -- sh -c 'echo hi > /scratch/f && cat /scratch/f'
    assert "$output" == "hi"
    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

@test "privileged: refused at load, with the reason" {
    local f=$BATS_TEST_TMPDIR/priv.yaml
    cat >"$f" <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: priv
spec:
  containers:
  - name: app
    image: $PODBOX_TEST_REGISTRY/busybox:latest
    securityContext:
      privileged: true
YAML
    run_podbox 125 up -d -f "$f"
    assert "$output" =~ "^podbox: .*priv.yaml:10: spec.containers\[0\].securityContext.privileged: not possible rootless"
}

@test "activeDeadlineSeconds: the pod fails with DeadlineExceeded, its container stopped and not restarted" {
    local pod
    pod=$(safename)
    local t0=$SECONDS
    run_podbox up -d -f "$(render fields-deadline.yaml "$pod" 3)"
    wait_for 10 pod_status_is "$pod" Running
    wait_for 20 pod_reason_is "$pod" DeadlineExceeded
    ((SECONDS - t0 >= 3)) || die "failed after $((SECONDS - t0)) s, before its deadline of 3 s"
    run_podbox get pod "$pod" -o json
    assert "$(jq -r .status.phase <<<"$output")" == Failed
    assert "$(jq -r .status.reason <<<"$output")" == DeadlineExceeded
    assert "$(jq -r .status.message <<<"$output")" == "Pod was active on the node longer than the specified deadline"
    assert "$(jq -r '.status.containerStatuses[0].state.terminated != null' <<<"$output")" == true "the container is stopped"
    assert "$(jq -r '.status.containerStatuses[0].restartCount' <<<"$output")" == 0 "not restarted"
    run_podbox describe pod "$pod"
    assert "$output" =~ "DeadlineExceeded +[^ ]+ +podbox +Pod was active on the node longer than the specified deadline"
    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

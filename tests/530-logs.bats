#!/usr/bin/env bats
# 530-logs: `podbox logs` as kubectl's: --tail, --timestamps, --since,
# --since-time, --previous, -f across restarts, every container prefixed.

load helpers

# RFC3339Nano, as the CRI log writes it.
TS='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})'

# logs_have POD LINE ARGS...: `podbox logs POD ARGS...` has LINE.
logs_have() {
    "$PODBOX" logs "$1" "${@:3}" 2>/dev/null | grep -qxF -- "$2"
}

@test "logs: --tail, --timestamps, --since, --since-time; every container prefixed, init first" {
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render logs-multi.yaml "$pod")"
    wait_for 30 logs_have "$pod" "line 3" -c web

    run_podbox logs "$pod" -c web --tail 2
    assert "$output" == $'line 2\nline 3' "--tail 2 (before late)"
    run_podbox logs "$pod" web --tail 0
    assert "$output" == "" "--tail 0, the container inline"

    run_podbox logs "$pod" -c web --timestamps
    assert "${lines[0]}" =~ "^$TS line 1$" "--timestamps prefixes RFC3339Nano"
    local t3
    t3=$(awk '$2 == "line" && $3 == 3 { print $1 }' <<<"$output")
    assert "$t3" =~ "^$TS$" "line 3's time"

    wait_for 30 logs_have "$pod" "late" -c web
    # A cut one second after line 3, four before late (printed 5 s after).
    local cut since
    cut=$(($(date -d "$t3" +%s) + 1))
    run_podbox logs "$pod" -c web --since-time "$(date -u -d "@$cut" +%Y-%m-%dT%H:%M:%SZ)"
    assert "$output" == "late" "--since-time cuts the earlier lines"
    since=$(($(date +%s) - cut))
    run_podbox logs "$pod" -c web --since "${since}s"
    assert "$output" == "late" "--since ${since}s cuts the earlier lines"
    run_podbox logs "$pod" -c web --since 1h --tail 2
    assert "$output" == $'line 3\nlate' "--tail with --since"
    run_podbox logs "$pod" -c web --limit-bytes 8
    assert "$output" == $'line 1\nl' "--limit-bytes"
    run_podbox 125 logs "$pod" -c web --since 1m --since-time "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    assert "$output" =~ "at most one of .sinceTime. or .sinceSeconds. may be specified"

    # Without -c: every container, init first, prefixed as kubectl --prefix.
    wait_for 30 logs_have "$pod" "[pod/$pod/side] side up"
    run_podbox logs "$pod"
    assert "${lines[0]}" == "[pod/$pod/setup] init done" "the init container first"
    assert "$output" =~ "\[pod/$pod/web\] line 1" "web prefixed"
    assert "$output" =~ "\[pod/$pod/side\] side up" "side prefixed (its stderr)"
    assert "${#lines[@]}" == 6 "every line once: $output"
    run_podbox logs "$pod" --all-containers --prefix=false --tail 1
    assert "$output" =~ "^init done" "--prefix=false"
    run_podbox logs "$pod" -c side --prefix
    assert "$output" == "[pod/$pod/side] side up" "--prefix with -c"
    run_podbox 125 logs "$pod" -c web --all-containers
    assert "$output" =~ "--all-containers=true should not be specified with container name web"

    run_podbox 125 logs "$pod" -c web --previous
    assert "$output" == "podbox: previous terminated container \"web\" in pod \"$pod\" not found"

    run_podbox down "$pod"
}

# shellcheck disable=SC2154 # bg_pid and bg_log come from run_podbox_bg
@test "logs: --previous after a restart, -f across it" {
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render logs-restart.yaml "$pod")"
    wait_for 30 logs_have "$pod" "instance 0"

    # -f of a container that restarts goes on to its next run's log.
    run_podbox_bg logs -f "$pod" -c count
    local follow_pid=$bg_pid follow_log=$bg_log
    wait_for --alive "$follow_pid" --log "$follow_log" 60 grep -qx "instance 1" "$follow_log"
    kill "$follow_pid"
    wait "$follow_pid" || true
    run cat "$follow_log"
    assert "$output" == $'instance 0\ninstance 1' "-f across the restart, each line once"

    # The current run's log, and the previous one's (the kubelet keeps it).
    run_podbox get pod "$pod" -o json
    local restarts
    restarts=$(jq -r '.status.containerStatuses[0].restartCount' <<<"$output")
    assert "$restarts" =~ "^[1-9]" "restartCount"
    run_podbox logs "$pod"
    assert "$output" == "instance $restarts" "the current run"
    run_podbox logs "$pod" -p
    assert "$output" == "instance $((restarts - 1))" "--previous: the run before"
    run_podbox logs "$pod" --previous --timestamps
    assert "$output" =~ "^$TS instance $((restarts - 1))$" "--previous --timestamps"
    # logs/<ctr>.log points at the current run's file.
    run cat "$(pod_datadir "$pod")/logs/count.log"
    assert "$output" =~ " stdout F instance $restarts$" "the link to the current run's file"

    run_podbox down "$pod"
}

@test "logs: a finished pod's logs stay readable, --tail and --timestamps included" {
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render hello.yaml "$pod")"
    wait_for 30 pod_status_is "$pod" Completed
    # Two pipes: which of stdout and stderr is read first is not fixed.
    run_podbox logs "$pod"
    assert "$(sort <<<"$output")" == $'hello from podbox\nto stderr' "stdout and stderr"
    run_podbox logs "$pod" -c hello --tail 1 --timestamps
    assert "$output" =~ "^$TS (hello from podbox|to stderr)$"
    # -f of a finished pod prints and returns.
    run_podbox logs -f "$pod"
    assert "$(sort <<<"$output")" == $'hello from podbox\nto stderr' "-f returns"
    run_podbox down "$pod"
}

#!/usr/bin/env bats
# 410-hangs: every state of a pod ends, with a message, in bounded time.
# `up -d` returns once the containers are being started (as kubectl apply)
# and ps says how they do; `up -d --wait` blocks until ready, with a
# timeout; a foreground `up` says what its containers do and always stops
# on Ctrl-C or SIGTERM (a second one kills at once); a pod that dies while
# starting says how (issue 9, items 5, 6, 14).

load helpers

# shellcheck disable=SC2154 # bg_pid comes from run_podbox_bg
# bg_exit_code DEADLINE: wait for the background podbox (bg_pid) to end, at most
# DEADLINE seconds, and set bg_rc to its exit code.
bg_exit_code() {
    wait_for "$1" bash -c "! kill -0 $bg_pid"
    bg_rc=0
    wait "$bg_pid" || bg_rc=$?
}

@test "up -d: a container that cannot start returns at once (Always, OnFailure); ps says CrashLoopBackOff" {
    local pod policy
    for policy in Always OnFailure; do
        pod=$(safename)
        PODBOX_TIMEOUT=20 run_podbox up -d -f "$(render hangs-nobinary.yaml "$pod" 0 POLICY="$policy")"
        assert "$output" =~ "container \"app\" could not start" "up -d says which container could not start ($policy)"
        wait_for 10 pod_status_is "$pod" CrashLoopBackOff
        run_podbox ps -a
        assert "$output" =~ "$pod +app +Waiting \(CrashLoopBackOff\)" "the container waits to restart ($policy)"
        PODBOX_TIMEOUT=10 run_podbox down "$pod"
        assert_pod_gone "$pod"
    done

    # The same for an init container: Init:CrashLoopBackOff.
    pod=$(safename)
    PODBOX_TIMEOUT=20 run_podbox up -d -f "$(render hangs-initnobinary.yaml "$pod")"
    wait_for 10 pod_status_is "$pod" Init:CrashLoopBackOff
    run_podbox ps
    assert "$output" =~ "$pod +Init:CrashLoopBackOff +0/1 " "READY counts the app container"
    PODBOX_TIMEOUT=10 run_podbox down "$pod"
    assert_pod_gone "$pod"
}

@test "up -d: init containers that wait for ever (the Kubernetes docs' example) return at once; ps says Init:0/2" {
    local pod
    pod=$(safename)
    PODBOX_TIMEOUT=20 run_podbox up -d -f "$(render hangs-initwait.yaml "$pod")"
    assert "${lines[-1]}" == "$pod" "up -d prints the pod's name"
    run_podbox ps
    assert "$output" =~ "$pod +Init:0/2 +0/1 +0 " "ps shows the pod initializing"
    run_podbox ps -a
    assert "$output" =~ "$pod +init-myservice +Running" "the first init container runs"
    assert "$output" =~ "$pod +init-mydb +Waiting \(PodInitializing\)" "the second waits its turn"
    wait_for 10 grep -q "waiting for myservice" "$(pod_datadir "$pod")/logs/init-myservice.log"
    PODBOX_TIMEOUT=10 run_podbox down "$pod"
    assert_pod_gone "$pod"
}

@test "up -d --wait: --timeout 3s names what is not ready and exits 1; a good pod passes" {
    local pod
    pod=$(safename)
    PODBOX_TIMEOUT=20 run_podbox 1 up -d --wait --timeout 3s -f "$(render hangs-nobinary.yaml "$pod" 0 POLICY=Always)"
    assert "$output" =~ "podbox: pod \"$pod\" not ready after 3s: container app is waiting \(CrashLoopBackOff\); it could not start: " \
        "the message names the container and why"
    run_podbox down "$pod"

    pod=$(safename)
    PODBOX_TIMEOUT=20 run_podbox 1 up -d --wait --timeout 3s -f "$(render hangs-initwait.yaml "$pod")"
    assert "$output" =~ "podbox: pod \"$pod\" not ready after 3s: init container init-myservice is running but not ready"
    run_podbox down "$pod"

    pod=$(safename)
    PODBOX_TIMEOUT=30 run_podbox up -d --wait -f "$(render sleeper.yaml "$pod" 3600)"
    assert "${lines[-1]}" == "$pod" "--wait prints the pod's name once ready"
    run_podbox ps
    assert "$output" =~ "$pod +Running +1/1 " "ready when --wait returns"
    run_podbox down "$pod"
    assert_pod_gone "$pod"

    run_podbox 125 up --wait -f "$(render sleeper.yaml "$pod" 3600)"
    assert "$output" =~ "--wait goes with -d"
}

# shellcheck disable=SC2154 # bg_pid and bg_log come from run_podbox_bg
@test "up (foreground): a crash loop says each exit and the back-off; Ctrl-C stops it: message, 130, nothing left" {
    local pod
    pod=$(safename)
    run_podbox_bg up -f "$(render hangs-nobinary.yaml "$pod" 0 POLICY=Always)"
    wait_for --alive "$bg_pid" --log "$bg_log" 20 grep -q "app could not start: .*; restarting in 10 s (back-off)" "$bg_log"
    kill -INT "$bg_pid"
    bg_exit_code 15
    sed 's/^/# | /' "$bg_log"
    assert "$bg_rc" == 130 "exit code after Ctrl-C"
    assert "$(cat "$bg_log")" =~ "stopping pod $pod" "the first Ctrl-C says what it does"
    assert_pod_gone "$pod"
}

# shellcheck disable=SC2154
@test "up (foreground): init containers that wait for ever; SIGTERM stops them: message, 143, nothing left" {
    local pod
    pod=$(safename)
    run_podbox_bg up -f "$(render hangs-initwait.yaml "$pod")"
    wait_for --alive "$bg_pid" --log "$bg_log" 20 grep -qE "init-myservice +\| waiting for myservice" "$bg_log"
    grep -q "init container init-myservice is running; the next containers start once it exits 0" "$bg_log" ||
        die "the foreground does not say what it waits for: $(cat "$bg_log")"
    kill -TERM "$bg_pid"
    bg_exit_code 15
    sed 's/^/# | /' "$bg_log"
    assert "$bg_rc" == 143 "exit code after SIGTERM"
    # sh has no SIGTERM handler: it cannot get SIGTERM, so no waiting.
    assert "$(cat "$bg_log")" =~ "stopping pod $pod: killed init-myservice at once \(SIGTERM cannot reach it\)"
    assert_pod_gone "$pod"
}

# shellcheck disable=SC2154
@test "up (foreground): a container that ignores SIGTERM: the first Ctrl-C waits and says so, the second kills at once" {
    local pod
    pod=$(safename)
    run_podbox_bg up -f "$(render stops-stubborn.yaml "$pod" 300)"
    wait_for --alive "$bg_pid" --log "$bg_log" 20 grep -q "stubborn | ready" "$bg_log"
    kill -INT "$bg_pid"
    wait_for --alive "$bg_pid" --log "$bg_log" 10 grep -q "stopping pod $pod: waiting for stubborn (SIGTERM sent, 300 s grace period); Ctrl-C again to kill now" "$bg_log"
    kill -0 "$bg_pid" || die "up ended before the grace period"
    kill -INT "$bg_pid"
    bg_exit_code 10
    sed 's/^/# | /' "$bg_log"
    assert "$bg_rc" == 130 "the exit code is the first signal's"
    assert "$(cat "$bg_log")" =~ "killing pod $pod now"
    assert_pod_gone "$pod"
}

@test "up: a pod whose process dies while starting says how it died and keeps its log" {
    local pod rt real
    pod=$(safename)
    real=$(command -v runc)
    # A runtime that crashes the pod's PID 1 (a Go process: SIGABRT makes
    # it dump its goroutines and exit) when asked to create a container.
    rt=$BATS_TEST_TMPDIR/crashing-runtime
    cat >"$rt" <<EOS
#!/bin/sh
case " \$* " in *" create "*) kill -ABRT 1 ;; esac
exec $real "\$@"
EOS
    chmod +x "$rt"
    PODBOX_TIMEOUT=30 run_podbox 125 --runtime "$rt" up -d -f "$(render sleeper.yaml "$pod" 3600)"
    assert "$output" =~ "podbox: starting pod \"$pod\": the pod's process exited with code 2 without saying why: SIGABRT: abort; its log: " \
        "how it died, and the line of its log that says why"
    local log=${output##*its log: }
    [[ -f $log ]] || die "the pod's log was not kept at $log"
    grep -q "goroutine" "$log" || die "the kept log has no stack"
    rm -f "$log"
    assert_pod_gone "$pod"

    # An error the pod's process reports is the message itself.
    run_podbox 125 --runtime /nonexistent/runc up -d -f "$(render sleeper.yaml "$pod" 3600)"
    assert "$output" =~ "/nonexistent/runc.*not an executable file"
    assert_pod_gone "$pod"
}

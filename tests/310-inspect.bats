#!/usr/bin/env bats
# 310-inspect: reaching into and looking at a pod: exec (stdio by fd
# passing, exit codes, -i, -it with a terminal and its size), describe with
# events, get as v1.Pod, and the errors of each.

load helpers

# ps_field POD COLUMN: column COLUMN (awk's $N) of POD's `podbox ps` row.
ps_field() {
    "$PODBOX" ps 2>/dev/null | awk -v p="$1" -v n="$2" '$1 == p { print $n }'
}

# up_inspect POD: POD runs inspect.yaml, its containers started.
up_inspect() {
    run_podbox up -d -f "$(render inspect.yaml "$1")"
    wait_for 20 pod_status_is "$1" Running
}

# assert_no_exec_left POD: no runtime exec process, no exec file in its bundles.
assert_no_exec_left() {
    run pgrep -u "$(id -u)" -f "(runc|crun) .*exec .*$1-"
    assert "$output" == "" "runtime exec processes left"
    run find "$(pod_rundir "$1")/bundles" -name 'exec-*'
    assert "$output" == "" "exec files left in the bundles"
    run find /tmp -maxdepth 1 -user "$(id -u)" -name 'podbox-exec-*'
    assert "$output" == "" "console socket dirs left"
}

@test "exec: exit code, stdout and stderr apart, stdin only with -i, the container's user, env and cwd" {
    local pod
    pod=$(safename)
    up_inspect "$pod"
    run_podbox 3 exec "$pod" -- sh -c 'exit 3'
    "$PODBOX" exec "$pod" -- sh -c 'echo to-out; echo to-err >&2' \
        >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" </dev/null
    assert "$(cat "$BATS_TEST_TMPDIR/out")" == "to-out" "stdout"
    assert "$(cat "$BATS_TEST_TMPDIR/err")" == "to-err" "stderr"

    echo hi >"$BATS_TEST_TMPDIR/in"
    PODBOX_STDIN=$BATS_TEST_TMPDIR/in run_podbox exec -i "$pod" -- cat
    assert "$output" == "hi" "stdin with -i"
    PODBOX_STDIN=$BATS_TEST_TMPDIR/in run_podbox exec "$pod" -- cat
    assert "$output" == "" "no stdin without -i"

    # The first app container, as its spec runs it; -c picks another.
    # shellcheck disable=SC2016 # expanded in the container
    run_podbox exec "$pod" -- sh -c 'echo "$(id -u) $(pwd) $GREETING $(cat ready)"'
    assert "$output" == "1000 /work hello from the spec ready"
    run_podbox exec -c second "$pod" -- id -u
    assert "$output" == "0"
    # Killed by a signal: 128 + the signal, as a shell says.
    run_podbox 137 exec "$pod" -- sh -c 'kill -KILL $$'
    # podbox exec goes away: so does its process (SIGHUP).
    "$PODBOX" exec -c second "$pod" -- sleep 4244 </dev/null >/dev/null 2>&1 3>&- &
    local cli=$!
    defer_teardown _stop_pid "$cli"
    wait_for 10 pgrep -u "$(id -u)" -fx "sleep 4244"
    kill -TERM "$cli"
    wait_for 10 bash -c "! pgrep -u $(id -u) -fx 'sleep 4244'"
    assert_no_exec_left "$pod"
    run_podbox down "$pod"
}

@test "exec -it: a prompt, the terminal's size and its changes, the exit code" {
    local pod sock=$BATS_TEST_TMPDIR/tmux.sock
    command -v tmux >/dev/null || die "tmux is needed to drive a terminal: apt-get install tmux (scripts/install-deps.sh)"
    pod=$(safename)
    up_inspect "$pod"
    printf 'set -g status off\nset -g remain-on-exit on\n' >"$BATS_TEST_TMPDIR/tmux.conf"
    tmux -S "$sock" -f "$BATS_TEST_TMPDIR/tmux.conf" new-session -d -x 100 -y 30 \
        "'$PODBOX' exec -it '$pod' -- sh; echo exec-exit=\$?"
    defer_teardown tmux -S "$sock" kill-server
    pane() { tmux -S "$sock" capture-pane -p -J -S -100; }
    # pane_has REGEX: the pane shows a line matching REGEX; else it is printed.
    pane_has() { pane | grep -Eq "$1" || { pane | sed 's/^/# pane| /' >"$BATS_TEST_TMPDIR/pane"; false; }; }
    : >"$BATS_TEST_TMPDIR/pane"
    defer_teardown cat "$BATS_TEST_TMPDIR/pane"

    wait_for 20 pane_has '^/work \$ $'
    tmux -S "$sock" send-keys 'stty size' Enter
    wait_for 10 pane_has '^30 100$'
    tmux -S "$sock" resize-window -x 120 -y 40
    tmux -S "$sock" send-keys 'stty size; tty' Enter
    wait_for 10 pane_has '^40 120$'
    assert "$(pane)" =~ "/dev/pts/[0-9]+" "the shell has a terminal"
    tmux -S "$sock" send-keys 'exit 7' Enter
    wait_for 10 pane_has '^exec-exit=7$'
    assert_no_exec_left "$pod"
    run_podbox down "$pod"
}

@test "exec: unknown pod, unknown container, terminated container: one line, exit 125, nothing left" {
    local pod
    run_podbox 125 exec "no-such-pod-$(random_string 6)" -- true
    assert "$output" =~ "no such pod"
    assert "${#lines[@]}" == 1 "one line"

    pod=$(safename)
    up_inspect "$pod"
    run_podbox 125 exec -c nope "$pod" -- true
    assert "$output" == "podbox: pod \"$pod\": container \"nope\" not found"
    run_podbox 125 exec -c setup "$pod" -- true
    assert "$output" =~ "^podbox: pod \"$pod\": container setup is not running \(terminated: Completed, exit code 0\)$"
    run_podbox 127 exec "$pod" -- no-such-command
    assert "$output" =~ "no-such-command.*not found"
    assert "${#lines[@]}" == 1 "one line"
    assert_no_exec_left "$pod"
    run_podbox down "$pod"
    run_podbox 125 exec "$pod" -- true
    assert "$output" =~ "no such pod"
}

@test "describe: a crash-looping container shows BackOff events and its last exit code" {
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render crashloop.yaml "$pod")"
    describe_has() { "$PODBOX" describe pod "$pod" | grep -Eq "$1"; }
    wait_for 30 describe_has "Warning +BackOff .*Back-off restarting failed container failing"
    run_podbox describe pod "$pod"
    assert "$output" =~ "Name: +$pod"
    assert "$output" =~ "IP: +10\.0\.2\.100"
    assert "$output" =~ "Image ID: +[^ ]+@sha256:[0-9a-f]{64}"
    assert "$output" =~ "Container ID: +(runc|crun)://$pod-failing"
    assert "$output" =~ "Last State: +Terminated"$'\n'" +Reason: +Error"$'\n'" +Exit Code: +2"
    assert "$output" =~ "Normal +Scheduled .*Successfully assigned default/$pod"
    assert "$output" =~ "Normal +Pulled .*busybox:latest"
    assert "$output" =~ "Normal +Created .*Created container failing"
    assert "$output" =~ "Normal +Started .*Started container failing"
    assert "$output" =~ "PodScheduled +True"
    run_podbox ps
    assert "$output" =~ "$pod +CrashLoopBackOff"
    run_podbox down "$pod"
    run_podbox 125 describe pod "$pod"
    assert "$output" == "podbox: pod \"$pod\": no such pod"
}

@test "get pod: a v1.Pod in YAML and JSON whose status matches ps; table, wide, name" {
    local pod
    pod=$(safename)
    up_inspect "$pod"
    run_podbox get pod "$pod" -o yaml
    assert "$output" =~ $'^apiVersion: v1\nkind: Pod\n'
    assert "$output" =~ "phase: Running"
    assert "$output" =~ "podIP: 10\.0\.2\.100"
    assert "$output" =~ "hostIP: 127\.0\.0\.1"
    assert "$output" =~ "containerID: (runc|crun)://$pod-app"
    assert "$output" =~ "uid: [0-9a-f-]{36}"
    run_podbox get pod "$pod" -o json
    local json=$output
    assert "$(jq -r '[.status.conditions[] | .type + "=" + .status] | join(",")' <<<"$json")" == \
        "PodScheduled=True,Initialized=True,ContainersReady=True,Ready=True"
    assert "$(jq -r '.status.initContainerStatuses[0].state.terminated.reason' <<<"$json")" == "Completed"
    assert "$(jq -r '.status.podIPs[0].ip' <<<"$json")" == "10.0.2.100"
    assert "$(jq -r '.status.phase' <<<"$json") $(jq '[.status.containerStatuses[].restartCount] | add' <<<"$json")" == \
        "$(ps_field "$pod" 2) $(ps_field "$pod" 4)" "phase and restarts as ps says"

    run_podbox get pods
    assert "$output" =~ "NAME +READY +STATUS +RESTARTS +AGE"
    assert "$output" =~ "$pod +2/2 +Running +0 "
    run_podbox get pod "$pod" -o wide
    assert "$output" =~ "$pod +2/2 +Running +0 +[0-9]+s +10\.0\.2\.100 "
    run_podbox get pod "$pod" -o name
    assert "$output" == "pod/$pod"
    run_podbox 125 get pod "$pod" -o xml
    assert "${#lines[@]}" == 1 "one line"
    run_podbox down "$pod"
    run_podbox 125 get pod "$pod"
    assert "$output" == "podbox: pod \"$pod\": no such pod"
}

saved_both_running() {
    grep -q '"phase":"Running"' "$1" && grep -q "://$2-app\"" "$1" && grep -q "://$2-second\"" "$1"
}

@test "get, describe: a pod whose process died answers from its last saved status" {
    local pod
    pod=$(safename)
    up_inspect "$pod"
    # status.json is saved within a quarter second of a change. The app
    # containers are created in parallel: wait until both have started
    # there, not only the first.
    wait_for 5 saved_both_running "$(pod_rundir "$pod")/status.json" "$pod"
    kill -KILL "$(awk '{ print $1 }' "$(pod_rundir "$pod")/pid")"
    wait_for 10 pod_status_is "$pod" Gone
    run_podbox get pod "$pod"
    assert "$output" =~ "$pod +0/2 +Gone "
    run_podbox get pod "$pod" -o json
    assert "$(jq -r '.status.reason + " " + .status.phase' <<<"$output")" == "Gone Unknown"
    assert "$(jq -r '.status.containerStatuses[0].containerID' <<<"$output")" =~ "^(runc|crun)://$pod-app$"
    run_podbox describe pod "$pod"
    assert "$output" =~ "Reason: +Gone"
    assert "$output" =~ "Started container app"
    run_podbox down "$pod"
}

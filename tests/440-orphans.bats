#!/usr/bin/env bats
# 440-orphans: nothing may exist that `ps` and `down --all` cannot see, and
# podbox signals only its own pod processes (issue 9, items 2, 9, 10).

load helpers

# pod_pid POD: the pid of the pod's PID 1, as the host sees it.
pod_pid() {
    pgrep -u "$(id -u)" -fx "podbox-pod:$1"
}

# storage_containers: the names of the store's containers, one a line.
storage_containers() {
    local f=$XDG_DATA_HOME/podbox/storage/overlay-containers/containers.json
    [[ -s $f ]] || return 0
    jq -r '.[].names[]?' "$f"
}

# assert_nothing_left POD...: no directory, no storage container, no process.
assert_nothing_left() {
    local pod
    for pod in "$@"; do
        [[ ! -e $XDG_RUNTIME_DIR/podbox/pods/$pod ]] || die "the runtime dir of $pod is left"
        [[ ! -e $XDG_DATA_HOME/podbox/pods/$pod ]] || die "the data dir of $pod is left"
        ! pod_pid "$pod" >/dev/null || die "the process of $pod is left"
    done
    assert "$(storage_containers)" == "" "storage containers left"
}

@test "orphans: a pid file pointing at another process never gets it killed" {
    scratch_home --pull
    sleep 600 3>&- &
    local victim=$!
    defer_teardown _stop_pid "$victim"
    # A fake pod whose pid file names the victim, with its real start time.
    local start fake=t$BATS_SUITE_TEST_NUMBER-planted
    start=$(awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$victim/stat")
    mkdir -p "$XDG_RUNTIME_DIR/podbox/pods/$fake"
    chmod 0700 "$XDG_RUNTIME_DIR/podbox" "$XDG_RUNTIME_DIR/podbox/pods" "$XDG_RUNTIME_DIR/podbox/pods/$fake"
    echo "$victim $start" >"$XDG_RUNTIME_DIR/podbox/pods/$fake/pid"
    run_podbox ps
    assert "$output" =~ "$fake +Gone" "the fake pod is not taken for a live one"
    run_podbox down --all
    assert "$output" =~ "$fake" "down --all removes the fake pod's directory"
    kill -0 "$victim" || die "podbox killed the process $victim that the pid file named"
    [[ ! -e $XDG_RUNTIME_DIR/podbox/pods/$fake ]] || die "the fake pod's directory is left"
    kill "$victim"
}

# shellcheck disable=SC2154 # bg_pid and bg_log come from run_podbox_bg
@test "orphans: a pod killed under a foreground up leaves nothing; rmi works" {
    scratch_home --pull
    local pod pid
    pod=$(safename)
    run_podbox_bg up -f "$(render paths-volume.yaml "$pod")"
    wait_for --alive "$bg_pid" --log "$bg_log" 30 pod_status_is "$pod" Running
    assert "$(storage_containers)" == "$pod-keeper" "the pod's storage container"
    pid=$(pod_pid "$pod")
    kill -KILL "$pid"
    # up notices, cleans up and exits.
    wait_for 20 bash -c "! kill -0 $bg_pid"
    assert_nothing_left "$pod"
    run_podbox ps -a
    assert "$output" !~ "$pod"
    run_podbox rmi "$BUSYBOX"
}

@test "orphans: storage containers of a pod whose directories are gone: down NAME and down --all remove them" {
    scratch_home --pull
    local pod pod2
    pod=$(safename)
    pod2=$(safename)
    run_podbox up -d -f "$(render paths-volume.yaml "$pod")"
    run_podbox up -d -f "$(render sleeper.yaml "$pod2" 3600)"
    wait_for 20 pod_status_is "$pod" Running
    wait_for 20 pod_status_is "$pod2" Running
    kill -KILL "$(pod_pid "$pod")" "$(pod_pid "$pod2")"
    wait_for 10 pod_status_is "$pod" Gone
    wait_for 10 pod_status_is "$pod2" Gone
    # Lose their directories, as a crash at the wrong moment would.
    rm -rf "$XDG_RUNTIME_DIR/podbox/pods/$pod" "$XDG_DATA_HOME/podbox/pods/$pod"
    rm -rf "$XDG_RUNTIME_DIR/podbox/pods/$pod2" "$XDG_DATA_HOME/podbox/pods/$pod2"
    assert "$(storage_containers | sort)" == "$(printf '%s\n' "$pod-keeper" "$pod2-sleeper" | sort)"
    run_podbox ps
    assert "$output" =~ "$pod +Gone" "ps shows what is left of the pod"
    assert "$output" =~ "$pod2 +Gone"
    run_podbox down "$pod"
    assert "$output" == "$pod" "down NAME removes what is left of the pod"
    assert "$(storage_containers)" == "$pod2-sleeper"
    run_podbox down --all
    assert_nothing_left "$pod" "$pod2"
    run_podbox rmi "$BUSYBOX"
}

@test "orphans: a live pod whose pid file is empty (being written) is not taken for dead" {
    scratch_home --pull
    local pod other file
    pod=$(safename)
    other=$(safename)
    run_podbox up -d -f "$(render paths-volume.yaml "$pod")"
    wait_for 20 pod_status_is "$pod" Running
    file=$XDG_DATA_HOME/podbox/pods/$pod/volumes/scratch/file
    wait_for 10 test -s "$file"
    # What another podbox sees while the pid file is being written.
    : >"$XDG_RUNTIME_DIR/podbox/pods/$pod/pid"
    # This up collects garbage first.
    run_podbox up -d -f "$(render sleeper.yaml "$other" 3600)"
    assert "$(cat "$file")" == "kept" "the live pod's emptyDir is intact"
    run_podbox ps
    assert "$output" =~ "$pod +Running" "the pod is still listed as running"
    run_podbox down --all
    assert_nothing_left "$pod" "$other"
}

@test "orphans: pods started at once are all listed, and down --all leaves nothing" {
    scratch_home --pull
    local -a pods=() pids=()
    local i pod
    for i in 1 2 3 4 5 6; do
        pod=$(safename)
        pods+=("$pod")
        "$PODBOX" up -d -f "$(render sleeper.yaml "$pod" 3600)" </dev/null >"$BATS_TEST_TMPDIR/up-$i.log" 2>&1 3>&- &
        pids+=($!)
    done
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}" || die "up of ${pods[$i]} failed: $(cat "$BATS_TEST_TMPDIR/up-$((i + 1)).log")"
    done
    for pod in "${pods[@]}"; do
        wait_for 20 pod_status_is "$pod" Running
    done
    run_podbox down --all
    assert "${#lines[@]}" == 6 "down --all names the six pods"
    assert_nothing_left "${pods[@]}"
    assert "$(ls -A "$XDG_RUNTIME_DIR/podbox/pods")" == "" "nothing under the runtime pods dir"
    assert "$(ls "$XDG_DATA_HOME/podbox/pods")" == "" "nothing under the data pods dir"
}

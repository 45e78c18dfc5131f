#!/usr/bin/env bats
# 516-finished: a pod that finished by itself in a foreground up stays
# inspectable (ps, logs, describe) until down or the next up of it; only
# its logs and status are kept (issue 11, item 8).

load helpers

# storage_containers: the names of the store's containers, one a line.
storage_containers() {
    local f
    for f in "$XDG_DATA_HOME"/podbox/storage/*-containers/containers.json; do
        [[ -s $f ]] && jq -r '.[].names[]?' "$f"
    done
    return 0
}

@test "finished: a foreground pod that exits 0 is listed Completed, its logs and describe work; down removes it; up again works" {
    local pod
    pod=$(safename)
    run_podbox up -f "$(render init.yaml "$pod")"
    assert "$output" =~ "pod $pod Succeeded"

    run_podbox ps
    assert "$output" =~ "$pod +Completed +0/1 +0 " "kept, and listed as kubectl lists a completed pod"
    run_podbox logs "$pod" -c app
    assert "${lines[-1]}" == "app saw the file"
    run_podbox logs "$pod" -c copy
    assert "$output" == "copied"
    run_podbox describe pod "$pod"
    assert "$output" =~ "Status: +Succeeded"
    assert "$output" =~ "Reason: +Completed"
    assert "$output" =~ "Started +[^ ]+ +podbox +Started container app" "its events"

    # Only its logs and status are left: no process, no mount, no storage
    # container, no volume, no runtime directory.
    # (applied.json: what up compares a next up of the file with.)
    run ls "$(pod_datadir "$pod")"
    assert "$output" == $'applied.json\nfinished.json\nlogs'
    [[ ! -e $(pod_rundir "$pod") ]] || die "the runtime dir is left: $(ls "$(pod_rundir "$pod")")"
    run pgrep -u "$(id -u)" -f "podbox-pod:$pod\$"
    assert "$output" == "" "no process"
    if grep -q "$pod" /proc/self/mountinfo; then
        die "mounts of $pod left: $(grep "$pod" /proc/self/mountinfo)"
    fi
    assert "$(storage_containers | grep -c "^$pod-" || true)" == 0 "storage containers left"

    # Another up (with garbage collection) leaves it; an up of the same
    # name replaces it.
    local other
    other=$(safename)
    run_podbox up -f "$(render hello.yaml "$other")"
    run_podbox ps
    assert "$output" =~ "$pod +Completed " "garbage collection leaves it"
    run_podbox up -f "$(render init.yaml "$pod")"
    assert "$output" =~ "pod $pod Succeeded" "up of its name runs it again"
    run_podbox logs "$pod" -c app
    assert "${#lines[@]}" == 2 "the new run's log, not both runs'"
    assert "${lines[-1]}" == "app saw the file"

    run_podbox down "$pod" "$other"
    assert_pod_gone "$pod"
    assert_pod_gone "$other"
}

@test "finished: a foreground pod that failed is listed with its error, and describe says the exit code" {
    local pod
    pod=$(safename)
    run_podbox 1 up -f "$(render init-fails.yaml "$pod")"
    run_podbox ps
    assert "$output" =~ "$pod +Init:Error +0/1 " "kept, Init:Error"
    run_podbox logs "$pod" -c setup
    assert "$output" == "init failing"
    run_podbox describe pod "$pod"
    assert "$output" =~ "Status: +Failed"
    assert "$output" =~ "Exit Code: +3"
    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

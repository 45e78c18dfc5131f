#!/usr/bin/env bats
# 506-job-apply: a second up of a Job reconciles it as kubectl apply does
# (unchanged: nothing started; changed: recreated), and get jobs shows it.

load helpers

# job_pods JOB: the names of the Job's pods that ps lists, sorted.
job_pods() {
    "$PODBOX" ps -a | awk -v j="$1" 'index($1, j "-") == 1 { print $1 }' | sort
}

@test "job apply: a second up -d of an unchanged Job says unchanged and starts no pod; a changed completions recreates it; get jobs shows it Complete" {
    local job dir m st before
    job=$(safename)
    dir=$BATS_TEST_TMPDIR/out
    mkdir "$dir"
    m=$(render job-parallel.yaml "$job" 0 DIR="$dir")
    defer_teardown "$PODBOX" down -f "$m"
    st=$XDG_DATA_HOME/podbox/jobs/$job/status.json
    run_podbox up -d -f "$m"
    assert "${lines[-1]}" == "job/$job" "up -d names the Job"
    wait_for 60 grep -q '"type":"Complete"' "$st"
    wait_for 10 bash -c "! pgrep -u $(id -u) -fx podbox-job:$job"

    run_podbox get jobs
    assert "${lines[0]}" =~ "^NAME +STATUS +COMPLETIONS +DURATION +AGE$" "kubectl's columns"
    assert "$output" =~ "$job +Complete +3/3 +[0-9]+s +[0-9]+s" "the Job, Complete, 3/3"
    run_podbox get job "$job" -o json
    assert "$output" =~ '"kind": "Job"' "a batch/v1 Job"
    assert "$output" =~ '"succeeded": 3' "with its status"

    before=$(job_pods "$job")
    assert "$(wc -l <<<"$before")" == 3 "three pods listed: $before"
    run_podbox up -d -f "$m"
    assert "$output" == "job/$job: unchanged" "the second up"
    if pgrep -u "$(id -u)" -fx "podbox-job:$job" >/dev/null; then
        die "an unchanged Job got a new controller"
    fi
    assert "$(job_pods "$job")" == "$before" "the same pods, no new one"
    assert "$(grep -c '^start ' "$dir/marks")" == 3 "no pod ran again: $(cat "$dir/marks")"

    sed -i 's/completions: 3/completions: 2/' "$m"
    run_podbox up -d -f "$m"
    assert "${lines[-1]}" == "job/$job: recreated (spec.completions changed)" "the changed Job"
    wait_for 60 bash -c "grep -q '\"type\":\"Complete\"' '$st' && grep -q '\"succeeded\":2' '$st'"
    assert "$(grep -c '^start ' "$dir/marks")" == 5 "two pods more ran: $(cat "$dir/marks")"
    run_podbox get jobs "$job"
    assert "$output" =~ "$job +Complete +2/2 " "the new Job"

    run_podbox down -f "$m"
    run_podbox 125 get job "$job"
    assert "$output" =~ "job not found" "down removed the Job"
}

@test "job apply: a Job the files no longer have is listed, and removed with --prune" {
    local job pod dir m
    job=$(safename)
    pod=$(safename)
    dir=$BATS_TEST_TMPDIR/out
    mkdir "$dir"
    m=$BATS_TEST_TMPDIR/both.yaml
    { cat "$(render sleeper.yaml "$pod")"; echo "---"; cat "$(render job-parallel.yaml "$job" 0 DIR="$dir")"; } >"$m"
    defer_teardown "$PODBOX" down -f "$m"
    run_podbox up -d -f "$m"
    assert "$output" =~ "job/$job"
    wait_for 60 grep -q '"type":"Complete"' "$XDG_DATA_HOME/podbox/jobs/$job/status.json"
    cp "$(render sleeper.yaml "$pod")" "$m"
    run_podbox up -d -f "$m"
    assert "$output" =~ "job/$job: not in the files any more \(up --prune removes it\)" "listed"
    assert "$output" !~ "$job-[a-z0-9]+: not in the files" "its pods are not listed apart"
    run_podbox up -d --prune -f "$m"
    assert "$output" =~ "job/$job: removed \(not in the files any more\)"
    run_podbox get jobs
    assert "$output" !~ "$job" "the Job is gone"
    run_podbox ps -a
    assert "$output" !~ "$job" "with its pods"
}

@test "job apply: a foreground up of a Job up -d left Complete says unchanged, runs nothing and exits 0" {
    local job dir m
    job=$(safename)
    dir=$BATS_TEST_TMPDIR/out
    mkdir "$dir"
    m=$(render job-parallel.yaml "$job" 0 DIR="$dir")
    defer_teardown "$PODBOX" down -f "$m"
    run_podbox up -d -f "$m"
    wait_for 60 grep -q '"type":"Complete"' "$XDG_DATA_HOME/podbox/jobs/$job/status.json"
    wait_for 10 bash -c "! pgrep -u $(id -u) -fx podbox-job:$job"
    run_podbox up -f "$m"
    assert "$output" == "job/$job: unchanged" "nothing to follow"
    assert "$(grep -c '^start ' "$dir/marks")" == 3 "no pod ran again: $(cat "$dir/marks")"
}

#!/usr/bin/env bats
# 505-jobs: Jobs run as the Job controller runs them (completions,
# parallelism, backoffLimit), in the foreground and with up -d; CronJobs are
# refused.

# shellcheck disable=SC2030,SC2031 # new_job sets $job, $dir and $m for the test that calls it
load helpers

# max_active MARKS: the most "start" lines not yet matched by an "end" line,
# in the order the pods appended them.
max_active() {
    awk '$1 == "start" { n++; if (n > m) m = n } $1 == "end" { n-- } END { print m + 0 }' "$1"
}

# assert_no_job_processes JOB: no controller and no pod of the Job is left.
assert_no_job_processes() {
    run pgrep -u "$(id -u)" -f "podbox-(job|pod):$1(-|\$)"
    assert "$output" == "" "processes of job $1 left"
}

# new_job TEMPLATE [SED]: a Job from TEMPLATE whose pods append their marks
# under $dir; sets $job, $dir and $m (SED, if given, edits the manifest) and
# takes the Job down at teardown.
new_job() {
    job=$(safename)
    dir=$BATS_TEST_TMPDIR/out
    mkdir "$dir"
    m=$(render "$1" "$job" 0 DIR="$dir")
    [[ -z ${2:-} ]] || sed -i "$2" "$m"
    defer_teardown "$PODBOX" down -f "$m"
}

@test "job: completions 3, parallelism 2 in the foreground: three pods succeed, never more than 2 at once, exit 0" {
    local job dir m
    new_job job-parallel.yaml
    run_podbox up -f "$m"
    assert "$output" =~ "job $job: pod $job-[a-z0-9]+ Succeeded \(3/3\)" "the third success"
    assert "$output" =~ "job $job Complete" "the Job's result"
    assert "$(grep -c "^job $job: pod .* Succeeded" <<<"$output")" == 3 "three pods succeeded"
    assert "$output" =~ "$job-[a-z0-9]+/work +\| working on $job-" "the containers' output"
    assert "$(grep -c '^end ' "$dir/marks")" == 3 "three pods ran to their end: $(cat "$dir/marks")"
    assert "$(max_active "$dir/marks")" == 2 "two pods at once, never more: $(cat "$dir/marks")"
    run_podbox ps -a
    assert "$output" !~ "$job" "the pods went with the foreground up"
    assert_no_job_processes "$job"
}

@test "job: a failing Job with backoffLimit 1 fails after two pods, exit 1 with the reason" {
    local job m
    job=$(safename)
    m=$(render job-fail.yaml "$job")
    defer_teardown "$PODBOX" down -f "$m"
    PODBOX_JOB_BACKOFF=1s run_podbox 1 up -f "$m"
    assert "$output" =~ "job $job: pod $job-[a-z0-9]+ Failed: work exited with code 3 \(1 failed, backoffLimit 1; next pod in 1s\)" "the first failure and the back-off"
    assert "$output" =~ "job $job: pod $job-[a-z0-9]+ Failed: work exited with code 3 \(2 failed, backoffLimit 1\)" "the second failure"
    assert "${lines[-1]}" == "job $job Failed: BackoffLimitExceeded" "the Job's result, last"
    assert_no_job_processes "$job"
}

@test "job: Indexed: one pod per index, each with JOB_COMPLETION_INDEX and its hostname" {
    local job dir m
    new_job job-indexed.yaml
    run_podbox up -f "$m"
    assert "$output" =~ "job $job: pod $job-[0-2]-[a-z0-9]+ Succeeded \(3/3\)"
    assert "$(sort "$dir/marks")" == "index 0 $job-0
index 1 $job-1
index 2 $job-2" "each index once, with its hostname"
}

@test "job: restartPolicy OnFailure: a restart counts toward backoffLimit 1; the Job fails" {
    local job m
    job=$(safename)
    m=$(render job-onfailure.yaml "$job")
    defer_teardown "$PODBOX" down -f "$m"
    run_podbox 1 up -f "$m"
    assert "$output" =~ "job $job: pod $job-[a-z0-9]+: work exited with code 3; restarting in 10 s" "the restart in its pod"
    assert "${lines[-1]}" == "job $job Failed: BackoffLimitExceeded"
    assert_no_job_processes "$job"
}

@test "job: activeDeadlineSeconds fails the Job with DeadlineExceeded and stops its pod" {
    local job m
    job=$(safename)
    m=$(render job-deadline.yaml "$job")
    defer_teardown "$PODBOX" down -f "$m"
    run_podbox 1 up -f "$m"
    assert "${lines[-1]}" == "job $job Failed: DeadlineExceeded"
    assert_no_job_processes "$job"
}

# shellcheck disable=SC2154 # bg_pid and bg_log come from run_podbox_bg
@test "job: Ctrl-C of a foreground up stops the Job's pods and exits 130" {
    local job dir m rc=0
    new_job job-parallel.yaml 's/sleep 1/sleep 600/'
    run_podbox_bg up -f "$m"
    wait_for --alive "$bg_pid" --log "$bg_log" 30 bash -c "[[ \$(grep -c '^start' '$dir/marks') == 2 ]]"
    kill -INT "$bg_pid"
    wait "$bg_pid" || rc=$?
    assert "$rc" == 130 "exit code: $(cat "$bg_log")"
    run_podbox ps -a
    assert "$output" !~ "$job" "the Job's pods are gone"
    assert_no_job_processes "$job"
}

@test "job: a Pod and a Job in one file run side by side; up ends when both have, with both results" {
    local job pod dir m
    job=$(safename)
    pod=$(safename)
    dir=$BATS_TEST_TMPDIR/out
    mkdir "$dir"
    m=$BATS_TEST_TMPDIR/both.yaml
    { cat "$(render hello.yaml "$pod")"; echo "---"; cat "$(render job-indexed.yaml "$job" 0 DIR="$dir")"; } >"$m"
    defer_teardown "$PODBOX" down -f "$m"
    run_podbox up -f "$m"
    assert "$output" =~ "pod $pod Succeeded" "the pod's end"
    assert "$output" =~ "job $job Complete" "the Job's result"
    assert "$output" =~ "hello +\| hello from podbox" "the pod's output"
    # The finished pod stays listed for logs and describe, until down.
    run_podbox ps
    assert "$output" =~ "$pod +Completed "
    run_podbox down "$pod"
    assert_pod_gone "$pod"
    assert_no_job_processes "$job"
}

@test "job: up -d leaves a controller that runs the Job to its end; down -f leaves nothing" {
    local job dir m
    new_job job-parallel.yaml
    run_podbox up -d -f "$m"
    assert "$output" =~ "job/$job" "up -d names the Job"
    pgrep -u "$(id -u)" -fx "podbox-job:$job" >/dev/null || die "no controller for job $job"
    local st=$XDG_DATA_HOME/podbox/jobs/$job/status.json
    wait_for 60 grep -q '"type":"Complete"' "$st"
    run_podbox ps
    assert "$(grep -cE "^$job-[a-z0-9]+ +Completed " <<<"$output")" == 3 "ps lists the three finished pods: $output"
    assert "$(max_active "$dir/marks")" == 2 "two pods at once, never more: $(cat "$dir/marks")"
    grep -q '"succeeded":3' "$st" || die "status.json: $(cat "$st")"
    wait_for 10 bash -c "! pgrep -u $(id -u) -fx podbox-job:$job"
    run_podbox down -f "$m"
    assert "$output" =~ "job/$job"
    run_podbox ps -a
    assert "$output" !~ "$job" "down -f removed the Job's pods"
    [[ ! -e $XDG_DATA_HOME/podbox/jobs/$job ]] || die "the Job's directory is left: $(ls -la "$XDG_DATA_HOME/podbox/jobs/$job")"
    assert_no_job_processes "$job"
}

@test "job: up -d with restartPolicy OnFailure: the controller counts the pod's restarts against backoffLimit" {
    local job m
    job=$(safename)
    m=$(render job-onfailure.yaml "$job")
    defer_teardown "$PODBOX" down -f "$m"
    run_podbox up -d -f "$m"
    local st=$XDG_DATA_HOME/podbox/jobs/$job/status.json
    wait_for 30 grep -q '"reason":"BackoffLimitExceeded"' "$st"
    wait_for 20 bash -c "! pgrep -u $(id -u) -fx podbox-job:$job"
    run_podbox down -f "$m"
    [[ ! -e $XDG_DATA_HOME/podbox/jobs/$job ]] || die "the Job's directory is left"
    assert_no_job_processes "$job"
}

@test "job: down JOB stops a running Job's controller and its pods" {
    local job dir m
    new_job job-parallel.yaml 's/sleep 1/sleep 600/'
    run_podbox up -d -f "$m"
    wait_for 30 bash -c "[[ \$(grep -c '^start' '$dir/marks') == 2 ]]"
    run_podbox down "$job"
    assert "$output" =~ "job/$job"
    run_podbox ps -a
    assert "$output" !~ "$job" "down -f removed the Job's pods"
    [[ ! -e $XDG_DATA_HOME/podbox/jobs/$job ]] || die "the Job's directory is left"
    assert_no_job_processes "$job"
}

@test "job: a CronJob is refused, naming the file and line and what to do" {
    local m=$BATS_TEST_TMPDIR/cron.yaml
    cat >"$m" <<EOF
apiVersion: batch/v1
kind: CronJob
metadata:
  name: hello
spec:
  schedule: "*/1 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: hello
              image: $PODBOX_TEST_REGISTRY/busybox:latest
              command: ["echo", "hello"]
EOF
    run_podbox 125 up -f "$m"
    assert "$output" =~ "^podbox: $m:2: " "file and line"
    assert "$output" =~ "kind: Job" "what to do"
}

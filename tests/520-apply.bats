#!/usr/bin/env bats
# 520-apply: `up` again reconciles (unchanged, recreated, --prune), a
# foreground up follows pods that already run, and `up --watch` applies an
# edit (issue 12 items 1 and 2).

load helpers

# two_pods FILE A TAG_A [B TAG_B]: a file of one or two busybox pods that
# print "hello from POD" and sleep; imagePullPolicy $POLICY if set (else
# the default, which the tag decides: a change of tag would change it too).
two_pods() {
    local file=$1
    shift
    : >"$file"
    while (($# >= 2)); do
        cat >>"$file" <<EOF
---
apiVersion: v1
kind: Pod
metadata:
  name: $1
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: main
      image: $PODBOX_TEST_REGISTRY/busybox:$2
      command: ["sh", "-c", "echo hello from $1; exec sleep 3600"]
EOF
        [[ -z ${POLICY:-} ]] || echo "      imagePullPolicy: $POLICY" >>"$file"
        shift 2
    done
}

# lines_at_least FILE PATTERN N: FILE has N lines or more with PATTERN.
lines_at_least() { (($(grep -c -- "$2" "$1") >= $3)); }

# pod_pid POD: the pod's PID 1, from its pid file.
pod_pid() { awk '{ print $1 }' "$(pod_rundir "$1")/pid"; }

# started_at POD: its containers' start times, from get -o json.
started_at() {
    "$PODBOX" get pod "$1" -o json | jq -er '[.status.containerStatuses[].state.running.startedAt] | join(",")'
}

@test "up again: an unchanged pod is left alone, says so, and pulls nothing" {
    local pod file pid started
    pod=$(safename)
    file=$BATS_TEST_TMPDIR/pod.yaml
    two_pods "$file" "$pod" latest # :latest: pulled on every start, not on unchanged
    run_podbox up -d -f "$file"
    assert "$output" =~ "$pod"
    pid=$(pod_pid "$pod")
    wait_for 20 started_at "$pod"
    started=$(started_at "$pod")

    run_podbox up -d -f "$file"
    assert "$output" == "$pod: unchanged" "an unchanged pod: one line, no pull"
    assert "$(pod_pid "$pod")" == "$pid" "its PID 1 is the same"
    assert "$(started_at "$pod")" == "$started" "its containers were not restarted"
    [[ -s $(pod_datadir "$pod")/applied.json ]] || die "no applied.json"
    jq -e --arg f "$file" '.files == [$f] and (.hash | startswith("sha256:"))' "$(pod_datadir "$pod")/applied.json"

    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

@test "up again: a changed image tag recreates only that pod and names the field" {
    local a b file pida pidb
    a=$(safename)
    b=$(safename)
    file=$BATS_TEST_TMPDIR/pods.yaml
    local POLICY=IfNotPresent
    two_pods "$file" "$a" latest "$b" latest
    run_podbox up -d -f "$file"
    pida=$(pod_pid "$a")
    pidb=$(pod_pid "$b")

    two_pods "$file" "$a" latest "$b" 1.0
    run_podbox up -d -f "$file"
    assert "$output" =~ "$a: unchanged"
    assert "$output" =~ "$b: recreated \(containers\[0\]\.image changed\)"
    assert "$(pod_pid "$a")" == "$pida" "the unchanged pod's PID 1 is the same"
    assert "$(pod_pid "$b")" != "$pidb" "the changed pod has a new PID 1"
    run_podbox get pod "$b" -o json
    assert "$(jq -r '.spec.containers[0].image' <<<"$output")" == "$PODBOX_TEST_REGISTRY/busybox:1.0"
    wait_for 20 pod_status_is "$b" Running

    run_podbox down "$a" "$b"
}

@test "up again: a pod dropped from the file is listed, and removed with --prune" {
    local a b file
    a=$(safename)
    b=$(safename)
    file=$BATS_TEST_TMPDIR/pods.yaml
    two_pods "$file" "$a" 1.0 "$b" 1.0
    run_podbox up -d -f "$file"

    two_pods "$file" "$a" 1.0
    run_podbox up -d -f "$file"
    assert "$output" =~ "$b: not in the files any more \(up --prune removes it\)"
    wait_for 10 pod_status_is "$b" Running

    run_podbox up -d --prune -f "$file"
    assert "$output" =~ "$b: removed"
    assert "$output" =~ "$a: unchanged"
    assert_pod_gone "$b"

    run_podbox down "$a"
}

# shellcheck disable=SC2154 # bg_pid and bg_log come from run_podbox_bg
@test "foreground up of a pod that runs already follows its logs; SIGTERM stops it" {
    local pod file
    pod=$(safename)
    file=$BATS_TEST_TMPDIR/pod.yaml
    two_pods "$file" "$pod" 1.0
    run_podbox up -d -f "$file"

    run_podbox_bg up -f "$file"
    wait_for --alive "$bg_pid" --log "$bg_log" 20 grep -q "hello from $pod" "$bg_log"
    grep -q "$pod: unchanged" "$bg_log" || die "no 'unchanged' in $(cat "$bg_log")"
    kill -TERM "$bg_pid"
    local rc=0
    wait "$bg_pid" || rc=$?
    assert "$rc" == 143 "exit code 128+SIGTERM, as for its own pods"
    assert_pod_gone "$pod"
}

# shellcheck disable=SC2154 # bg_pid and bg_log come from run_podbox_bg
@test "up --watch applies an edit within 2 s; a YAML error leaves the pods; SIGTERM stops them" {
    local a b file t0
    a=$(safename)
    b=$(safename)
    file=$BATS_TEST_TMPDIR/pods.yaml
    local POLICY=IfNotPresent
    two_pods "$file" "$a" 1.0 "$b" 1.0
    run_podbox_bg up --watch -f "$file"
    wait_for --alive "$bg_pid" --log "$bg_log" 60 grep -q "watching" "$bg_log"
    grep -q "$a: created" "$bg_log" || die "no '$a: created' in $(cat "$bg_log")"
    wait_for --alive "$bg_pid" --log "$bg_log" 20 grep -q "hello from $b" "$bg_log"

    echo "not: [valid" >>"$file"
    wait_for --alive "$bg_pid" --log "$bg_log" 5 grep -q "the pods run on as they are" "$bg_log"
    pod_status_is "$a" Running || die "a YAML error stopped $a"

    # Written beside it and renamed over it, as many editors save.
    two_pods "$file.new" "$a" 1.0 "$b" latest
    t0=$SECONDS
    mv "$file.new" "$file"
    wait_for --alive "$bg_pid" --log "$bg_log" 2 lines_at_least "$bg_log" "the files changed" 2
    wait_for --alive "$bg_pid" --log "$bg_log" 20 grep -q "$b: recreated (containers\[0\]\.image changed)" "$bg_log"
    grep -q "$a: unchanged" "$bg_log" || die "no '$a: unchanged' in $(cat "$bg_log")"
    echo "# applied after $((SECONDS - t0)) s"

    kill -TERM "$bg_pid"
    local rc=0
    wait "$bg_pid" || rc=$?
    assert "$rc" == 143
    assert_pod_gone "$a"
    assert_pod_gone "$b"
}

@test "up again: a pod that finished (kept for inspection) is created anew" {
    local pod file pid
    pod=$(safename)
    file=$BATS_TEST_TMPDIR/done.yaml
    cat >"$file" <<EOF2
apiVersion: v1
kind: Pod
metadata:
  name: $pod
spec:
  restartPolicy: Never
  containers:
    - name: main
      image: $PODBOX_TEST_REGISTRY/busybox:1.0
      imagePullPolicy: IfNotPresent
      command: ["sh", "-c", "echo run \$\$"]
EOF2
    run_podbox up -d -f "$file"
    wait_for 20 pod_status_is "$pod" Completed
    pid=$(pod_pid "$pod")

    run_podbox up -d -f "$file"
    assert "$output" == "$pod: recreated (it had finished)"
    assert "$(pod_pid "$pod")" != "$pid" "a new PID 1"
    wait_for 20 pod_status_is "$pod" Completed
    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

@test "up again: the pods of an older template of a workload are replaced, --prune or not" {
    local old new file
    old=$(safename)
    new=$(safename)
    file=$BATS_TEST_TMPDIR/rollout.yaml
    # What a Deployment's pods look like once expanded: another template,
    # another name, the same controller.
    owned() {
        cat >"$file" <<EOF2
apiVersion: v1
kind: Pod
metadata:
  name: $1
  ownerReferences:
    - apiVersion: apps/v1
      kind: Deployment
      name: web-$old
      uid: 00000000-0000-0000-0000-000000000001
      controller: true
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: main
      image: $PODBOX_TEST_REGISTRY/busybox:1.0
      imagePullPolicy: IfNotPresent
      command: ["sleep", "3600"]
EOF2
    }
    owned "$old"
    run_podbox up -d -f "$file"
    owned "$new"
    run_podbox up -d -f "$file"
    assert "$output" =~ "$old: removed \(Deployment web-$old changed: its pods are new\)"
    assert_pod_gone "$old"
    wait_for 20 pod_status_is "$new" Running
    run_podbox down "$new"
}

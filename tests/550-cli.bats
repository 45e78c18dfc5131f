#!/usr/bin/env bats
# 550-cli: issue 12 items 3, 7 and 8: a pull of an unchanged image says
# "up to date" and copies nothing, an unreachable registry with the image
# present is a warning, shell completion, ps/get -o and --watch.
#
# Every test uses a store of its own (PODBOX_ROOT and PODBOX_RUNROOT, wiped
# from inside the user namespace at teardown), so a first pull copies.

load helpers

REG=${PODBOX_TEST_REGISTRY:-}

setup() {
    basic_setup
    export PODBOX_ROOT=$BATS_TEST_TMPDIR/storage
    export PODBOX_RUNROOT=$BATS_TEST_TMPDIR/runroot
    defer_teardown "$PODBOX" system reset --force
}

teardown() {
    basic_teardown
}

# start_registry2: a second registry with a copy of the suite registry's
# images, that the test may stop; sets $reg2 (127.0.0.1:PORT) and $reg2_dir.
start_registry2() {
    reg2_dir=$BATS_TEST_TMPDIR/registry2
    mkdir -p "$reg2_dir"
    cp -a "$PODBOX_TEST_REGISTRY_DIR/data" "$reg2_dir/data"
    defer_teardown "$BATS_TEST_DIRNAME/../scripts/registry.sh" stop "$reg2_dir"
    reg2=$("$BATS_TEST_DIRNAME/../scripts/registry.sh" start "$reg2_dir" 3>&-)
}

@test "pull: a second pull of an unchanged :latest image says up to date and copies nothing" {
    run_podbox pull "$REG/busybox:latest"
    local id=${lines[-1]}
    assert "$output" =~ "Copying blob" "the first pull copies"
    run_podbox pull "$REG/busybox:latest"
    assert "${#lines[@]}" == 2 "one line and the ID"
    assert "${lines[0]}" == "$REG/busybox:latest: up to date" "status line"
    assert "${lines[1]}" == "$id" "same image"
    # -q: only the ID.
    run_podbox pull -q "$REG/busybox:latest"
    assert "$output" == "$id" "pull -q"
}

@test "up: a pod (re)created with an unchanged :latest image says up to date, without progress" {
    local pod
    pod=$(safename)
    local yaml
    yaml=$(render sleeper.yaml "$pod" 600)
    run_podbox up -d -f "$yaml"
    assert "$output" =~ "Copying blob" "the first up pulls"
    run_podbox down "$pod"
    run_podbox up -d -f "$yaml"
    assert "$output" =~ "$REG/busybox:latest: up to date" "second up"
    assert "$output" !~ "Copying|Pulling" "no progress on the second up"
    run_podbox down "$pod"
}

@test "up: registry unreachable with the image present: one warning line, the pod starts" {
    start_registry2
    run_podbox pull -q "$reg2/busybox:latest"
    "$BATS_TEST_DIRNAME/../scripts/registry.sh" stop "$reg2_dir"
    local digest
    digest=$(jq -er '.images["busybox:latest"].digest' "$PODBOX_TEST_ARCHIVES/images.json")

    local pod yaml
    pod=$(safename)
    yaml=$(PODBOX_TEST_REGISTRY=$reg2 render sleeper.yaml "$pod" 600)
    run_podbox up -d -f "$yaml"
    assert "${lines[0]}" == "warning: registry $reg2 unreachable; using the local $reg2/busybox:latest ($digest)" "warning line"
    assert "$output" !~ "Copying|Pulling" "no progress"
    wait_for 20 pod_status_is "$pod" Running
    run_podbox down "$pod"

    # Not present and unreachable: the pull fails as before.
    run_podbox 125 pull "$reg2/busybox:1.0"
    assert "$output" =~ "registry unreachable" "absent image"
}

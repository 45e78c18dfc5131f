#!/usr/bin/env bats
# 450-images: the image items of issue 9 (safety): a stalled registry ends
# the pull in bounded time (7), removals that fail say so (11), pull racing
# rmi speaks in words (16), an oci-archive's own name is kept (19).
#
# Every test uses a store of its own (PODBOX_ROOT and PODBOX_RUNROOT, wiped
# from inside the user namespace at teardown).

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

@test "pull: an oci-archive whose index names the image stores it as localhost/NAME:TAG" {
    local tar=$BATS_TEST_TMPDIR/named.tar
    run skopeo copy -q --src-tls-verify=false "docker://$REG/busybox:1.0" "oci-archive:$tar:myname:1.0"
    assert "$status" == 0 "skopeo copy to oci-archive: $output"

    # (skopeo converts the image to OCI, so its ID is not the registry's.)
    run_podbox pull -q "oci-archive:$tar"
    local id=$output
    run_podbox images
    assert "$output" =~ "localhost/myname +1.0 +${id:0:12}" "images lists the archive's name"
    run_podbox image inspect myname:1.0
    assert "$(jq -r '.[0].Names[0]' <<<"$output")" == "localhost/myname:1.0" "found by the short name"
}

# start_stallreg MODE: the testimages registry that stops answering (at the
# blob or at the manifest, see tests/testimages/stallreg.go); sets $stallreg
# (127.0.0.1:PORT) and kills it by PID at teardown.
start_stallreg() {
    local log=$BATS_TEST_TMPDIR/stallreg.$1
    "$BATS_TEST_DIRNAME/../bin/testimages" stallreg -stall "$1" >"$log" 2>&1 3>&- &
    local pid=$!
    defer_teardown kill "$pid"
    wait_for --alive "$pid" --log "$log" 10 test -s "$log"
    stallreg=$(head -n1 "$log")
}

@test "pull: a registry that stops sending a blob fails after --stall-timeout, naming it" {
    start_stallreg blob
    local t0=$SECONDS
    run_podbox 125 pull --stall-timeout 2s "$stallreg/stalled:1"
    local took=$((SECONDS - t0))
    # shellcheck disable=SC2154 # stallreg comes from start_stallreg
    assert "${lines[-2]}" =~ "^podbox: pulling $stallreg/stalled:1 from $stallreg: registry $stallreg sent nothing for 2s while podbox was fetching blob sha256:1111" "error line"
    assert "${lines[-1]}" =~ "^hint: .*--stall-timeout" "hint"
    ((took < 20)) || die "pull took ${took}s with a 2 s stall timeout"
    run_podbox images -q
    assert "$output" == "" "no image stored"
}

@test "pull: a registry that never answers the manifest fails after PODBOX_PULL_STALL_TIMEOUT" {
    start_stallreg manifest
    local t0=$SECONDS
    PODBOX_PULL_STALL_TIMEOUT=2s run_podbox 125 pull "$stallreg/stalled:1"
    local took=$((SECONDS - t0))
    assert "$output" =~ "podbox: pulling $stallreg/stalled:1 from $stallreg: registry $stallreg sent nothing for 2s while podbox was fetching the manifest of" "error line"
    ((took < 20)) || die "pull took ${took}s with a 2 s stall timeout"
}

@test "up: --stall-timeout ends the pull of a pod's image from a stalled registry" {
    start_stallreg blob
    local pod m=$BATS_TEST_TMPDIR/stalled.yaml
    pod=$(safename)
    cat >"$m" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $pod
spec:
  containers:
    - name: app
      image: $stallreg/stalled:1
EOF
    local t0=$SECONDS
    run_podbox 125 up -d --stall-timeout 2s -f "$m"
    local took=$((SECONDS - t0))
    assert "$output" =~ "registry $stallreg sent nothing for 2s while podbox was fetching blob sha256:1111" "error line"
    ((took < 20)) || die "up took ${took}s with a 2 s stall timeout"
    run_podbox ps -a
    assert "$output" !~ "$pod" "no pod left"
}

@test "pull: Ctrl-C still interrupts a pull from a stalled registry" {
    start_stallreg blob
    run_podbox_bg pull --stall-timeout 1h "$stallreg/stalled:1"
    # shellcheck disable=SC2154 # bg_pid and bg_log come from run_podbox_bg
    wait_for --alive "$bg_pid" --log "$bg_log" 20 grep -q "Copying blob" "$bg_log"
    kill -INT "$bg_pid"
    local rc=0
    wait "$bg_pid" || rc=$?
    cat "$bg_log"
    assert "$rc" == 130 "an interrupted pull exits 130"
}

@test "pull racing rmi of the same image: every failure is said in words" {
    local ref=$REG/layers:1 i rmis pull_pid rc log failures=0 rounds=8
    for ((i = 0; i < rounds; i++)); do
        run_podbox pull -q "$ref"
        log=$BATS_TEST_TMPDIR/race.$i
        "$PODBOX" pull -q "$ref" >"$log.pull" 2>&1 3>&- &
        pull_pid=$!
        # rmi again and again while the pull runs.
        rmis=0
        while kill -0 "$pull_pid" 2>/dev/null && ((rmis < 50)); do
            "$PODBOX" rmi "$ref" >>"$log.rmi" 2>&1 3>&- || true
            rmis=$((rmis + 1))
        done
        rc=0
        wait "$pull_pid" || rc=$?
        echo "# round $i: pull exit code $rc, $rmis rmi"
        sed 's/^/#   pull: /' "$log.pull"
        sort "$log.rmi" | uniq -c | sed 's/^/#   rmi: /'
        if ((rc != 0)); then
            failures=$((failures + 1))
            assert "$rc" == 125 "a failed pull exits 125"
            assert "$(cat "$log.pull")" == "podbox: pulling $ref from $REG: the image was removed while it was being pulled; pull again" "the pull says what happened"
        fi
        assert "$(grep -v -e '^Untagged: ' -e '^Deleted: ' "$log.rmi" | sort -u)" =~ "^(podbox: image not known: $ref)?$" "rmi: deleted, or not there"
    done
    echo "# $failures of $rounds pulls failed"
}

@test "down: a storage removal that fails is an error naming the container; the next down frees it" {
    local pod pid m
    pod=$(safename)
    m=$(render sleeper.yaml "$pod" 4545)
    run_podbox up -d -f "$m"
    pid=$(awk '{ print $1 }' "$XDG_RUNTIME_DIR/podbox/pods/$pod/pid")
    kill -KILL "$pid"
    wait_for 10 bash -c "! pgrep -u $(id -u) -fx 'sleep 4545'"

    # No file may grow (RLIMIT_FSIZE 0), so the store cannot save its
    # metadata, as on a full disk without a reserve.
    local rc=0
    output=$( (ulimit -f 0 && timeout -k 5 60 "$PODBOX" down "$pod") 2>&1 3>&-) || rc=$?
    echo "$output"
    assert "$rc" == 125 "down exits 125"
    assert "$output" =~ "removing pod \"$pod\": removing the root file system of container \"sleeper\"" "names what could not be removed"
    run_podbox ps -a
    assert "$output" =~ "$pod" "the pod stays visible"

    run_podbox down "$pod"
    run_podbox ps -a
    assert "$output" !~ "$pod" "the next down removes it"
    run_podbox rmi "$REG/busybox:latest"
    assert "$output" =~ "Deleted: " "no container holds the image any more"
}

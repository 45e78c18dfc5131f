#!/usr/bin/env bats
# 010-info: `podbox info` finds what this machine has, names what is missing
# and how to fix it, and exits non-zero only when no pod could run.

load helpers

@test "info: all good here, with the runtime that works" {
    run_podbox info
    assert "$output" =~ "podbox can run pods here" "verdict"
    assert "$output" =~ "subuid: +[0-9]+:[0-9]+" "the user's subuid range"
    assert "$output" =~ "newuidmap: +/[^ ]*newuidmap \((setuid root|file capabilities)\)" "newuidmap"
    assert "$output" =~ "slirp4netns: +/[^ ]*slirp4netns [0-9]" "slirp4netns"
    assert "$output" =~ "/dev/net/tun: +can be opened" "/dev/net/tun"
    assert "$output" =~ "runtime: +using (runc|crun) " "a runtime that ran a container"
    assert "$output" !~ "missing:" "nothing missing"
}

@test "info: --format json" {
    run_podbox info --format json
    run jq -r '.ready, (.checks[] | select(.name == "runtime") | .status)' <<<"$output"
    assert "$status" == 0 "jq parses podbox info --format json"
    assert "${lines[0]}" == "true" ".ready"
    assert "${lines[1]}" == "ok" "runtime check"
}

@test "info: a user without /etc/subuid lines is told the line that fixes it" {
    local empty=$BATS_TEST_TMPDIR/subid
    : >"$empty"
    PODBOX_SUBUID_FILE=$empty PODBOX_SUBGID_FILE=$empty run_podbox info
    local user
    user=$(id -un)
    assert "$output" =~ "no range for $user in $empty" "says what is missing"
    assert "$output" =~ "fix: echo $user:[0-9]+:65536 \| sudo tee -a /etc/subuid" "the /etc/subuid fix"
    assert "$output" =~ "fix: echo $user:[0-9]+:65536 \| sudo tee -a /etc/subgid" "the /etc/subgid fix"
    # podbox still runs pods, mapping only the user's own id.
    assert "$output" =~ "user namespace: +created, ids 0-0 mapped" "single-id mapping"
}

@test "info: slirp4netns not on PATH names the package and fails" {
    # A PATH with everything but slirp4netns.
    local bin=$BATS_TEST_TMPDIR/bin f
    mkdir -p "$bin"
    for f in /usr/bin/* /bin/*; do
        [[ ${f##*/} == slirp4netns || -d $f || -e $bin/${f##*/} ]] || ln -s "$f" "$bin/${f##*/}"
    done
    PATH=$bin run_podbox 125 info
    assert "$output" =~ "missing: slirp4netns: not found on PATH" "names what is missing"
    assert "$output" =~ "sudo apt-get install slirp4netns" "names the package"
    assert "$output" =~ "cannot run pods here" "verdict"
}

@test "info: which program runs the pods: podbox-pod beside podbox, else podbox itself, saying why" {
    run_podbox info
    assert "$output" =~ "pod process: +${PODBOX%/*}/podbox-pod \(lean\)" "the podbox-pod beside it"

    local dir=$BATS_TEST_TMPDIR/alone
    mkdir -p "$dir"
    cp "$PODBOX" "$dir/podbox"
    PODBOX=$dir/podbox run_podbox info
    assert "$output" =~ "pod process: +podbox itself \(podbox-pod not found next to $dir/podbox\)" "none beside it"
    assert "$output" =~ "podbox can run pods here" "it still runs pods"

    printf '#!/bin/sh\n' >"$dir/podbox-pod"
    chmod +x "$dir/podbox-pod"
    PODBOX=$dir/podbox run_podbox info
    assert "$output" =~ "pod process: +podbox itself \($dir/podbox-pod is not a Go program of podbox's" "one of another build"
    assert "$output" =~ "warning: pod process: " "a warning"
}

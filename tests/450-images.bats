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

#!/usr/bin/env bats
# 000-basics: the suite's own ground (user, registry, images, archives) and
# the podbox commands that need nothing else.

load helpers

@test "basics: the suite runs as an ordinary user" {
    run id -u
    assert "$output" != "0" "tests must not run as root"
    is_rootless
}

@test "basics: podbox version" {
    run_podbox version
    assert "${lines[0]}" =~ "^podbox version [^ ]+" "first line of podbox version"
}

@test "basics: podbox --help" {
    run_podbox --help
    assert "$output" =~ "podbox" "--help output"
}

@test "basics: the registry serves every test image" {
    run curl -sf "http://$PODBOX_TEST_REGISTRY/v2/_catalog"
    assert "$status" == 0 "curl _catalog"
    local repo
    for repo in arm64only busybox config layers sample; do
        assert "$(jq -r '.repositories | join(" ")' <<<"$output")" =~ "(^| )$repo( |$)" "repository $repo in the catalog"
    done

    local ref tags
    for ref in busybox:latest busybox:1.0 sample:v2 config:1 layers:1 arm64only:1; do
        tags=$(curl -sf "http://$PODBOX_TEST_REGISTRY/v2/${ref%%:*}/tags/list" | jq -r '.tags | join(" ")')
        assert "$tags" =~ "(^| )${ref#*:}( |$)" "tag of $ref"
    done
}

@test "basics: the test images are what the tests expect" {
    local reg=docker://$PODBOX_TEST_REGISTRY
    run skopeo inspect --tls-verify=false --config "$reg/config:1"
    assert "$status" == 0 "skopeo inspect config:1: $output"
    assert "$(jq -c .config.Entrypoint <<<"$output")" == '["/bin/echo","entry"]'
    assert "$(jq -c .config.Cmd <<<"$output")" == '["cmd1","cmd2"]'
    assert "$(jq -r .config.User <<<"$output")" == "www-data"
    assert "$(jq -r .config.WorkingDir <<<"$output")" == "/work"

    run skopeo inspect --tls-verify=false "$reg/layers:1"
    assert "$status" == 0 "skopeo inspect layers:1: $output"
    assert "$(jq '.Layers | length' <<<"$output")" == 4 "layers in layers:1"

    run skopeo inspect --tls-verify=false --raw "$reg/arm64only:1"
    assert "$(jq -r .mediaType <<<"$output")" =~ "manifest\.v2\+json$" "arm64only is a single manifest"
    run skopeo inspect --tls-verify=false --config --raw "$reg/arm64only:1"
    assert "$(jq -r .architecture <<<"$output")" == "arm64"

    assert "$(image_id busybox:latest)" =~ "^sha256:[0-9a-f]{64}$" "image ID recorded in images.json"
    assert "$(image_id busybox:1.0)" == "$(image_id busybox:latest)" "busybox:1.0 is busybox:latest"
}

@test "basics: the image archives are readable" {
    local id
    id=$(image_id busybox:latest)

    assert "$(skopeo inspect --config "oci-archive:$PODBOX_TEST_ARCHIVES/busybox-oci.tar" | jq -r .os)" == linux
    run skopeo inspect "docker-archive:$PODBOX_TEST_ARCHIVES/busybox-docker.tar"
    assert "$status" == 0 "skopeo inspect docker-archive: $output"
    run skopeo inspect "oci:$PODBOX_TEST_ARCHIVES/busybox-oci:latest"
    assert "$status" == 0 "skopeo inspect oci layout: $output"

    # Same config in all three: the same image ID as in the registry.
    local src
    for src in "oci-archive:$PODBOX_TEST_ARCHIVES/busybox-oci.tar" \
        "docker-archive:$PODBOX_TEST_ARCHIVES/busybox-docker.tar" \
        "oci:$PODBOX_TEST_ARCHIVES/busybox-oci"; do
        assert "sha256:$(skopeo inspect --raw --config "$src" | sha256sum | cut -d' ' -f1)" == "$id" "image ID of $src"
    done
}

@test "basics: flags may follow arguments (logs POD -c CTR -f)" {
    local pod
    pod=$(safename)
    run_podbox 125 logs "$pod" -c x -f
    assert "$output" !~ "flag provided but not defined|Incorrect Usage" "no flag-parsing error"
    assert "$output" =~ "$pod.*(not found|no such pod)" "the pod is what is missing"
}

#!/usr/bin/env bats
# 100-image: pull, images, image inspect, rmi and system reset against the
# suite's registry and archives, and the fault cases of issue 3.
#
# Tests that measure or break the store use one of their own (PODBOX_ROOT
# and PODBOX_RUNROOT, see use_own_store); the others share the suite's.

load helpers

REG=${PODBOX_TEST_REGISTRY:-}

setup() {
    basic_setup
}

teardown() {
    basic_teardown
}

# teardown_file: the suite's store holds files owned by subordinate ids,
# which only podbox (inside its user namespace) can delete.
teardown_file() {
    "$PODBOX" system reset --force
}

# use_own_store: point podbox at a store of this test's own, wiped (from
# inside the user namespace, so subuid-owned files go too) at teardown.
use_own_store() {
    export PODBOX_ROOT=$BATS_TEST_TMPDIR/storage
    export PODBOX_RUNROOT=$BATS_TEST_TMPDIR/runroot
    defer_teardown "$PODBOX" system reset --force
}

# subuid_start: the first host uid of this user's subordinate range.
subuid_start() {
    awk -F: -v u="$(id -un)" -v id="$(id -u)" '$1 == u || $1 == id { print $2; exit }' /etc/subuid
}

# goarch: this machine's architecture as OCI names it.
goarch() {
    case "$(uname -m)" in
        x86_64) echo amd64 ;;
        aarch64) echo arm64 ;;
        *) uname -m ;;
    esac
}

# make_random_image DIR KIB [LAYERS]: a dir: image with LAYERS (default 1)
# uncompressed layers of KIB KiB of random data each (/rand1, /rand2 …), so
# that its blobs are its own in the registry.
make_random_image() {
    local dir=$1 kib=$2 n=${3:-1} work=$BATS_TEST_TMPDIR/mkimage.$RANDOM
    mkdir -p "$dir" "$work"
    local i layer size diffids="" layers=""
    for ((i = 1; i <= n; i++)); do
        mkdir -p "$work/root$i"
        head -c $((kib * 1024)) /dev/urandom >"$work/root$i/rand$i"
        tar -C "$work/root$i" --owner=0 --group=0 -cf "$work/layer.tar" "rand$i"
        layer=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
        size=$(stat -c %s "$work/layer.tar")
        mv "$work/layer.tar" "$dir/$layer"
        diffids+="${diffids:+,}\"sha256:$layer\""
        layers+="${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:$layer\",\"size\":$size}"
    done
    printf '{"architecture":"%s","os":"linux","config":{"Cmd":["/rand1"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
        "$(goarch)" "$diffids" >"$work/config"
    local cfg csize
    cfg=$(sha256sum "$work/config" | cut -d' ' -f1)
    csize=$(stat -c %s "$work/config")
    mv "$work/config" "$dir/$cfg"
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[%s]}' \
        "$cfg" "$csize" "$layers" >"$dir/manifest.json"
    echo "Directory Transport Version: 1.1" >"$dir/version"
    rm -rf "$work"
}

# push_random_image REPO:TAG KIB [LAYERS]: make_random_image, pushed to the
# registry.
push_random_image() {
    local dir=$BATS_TEST_TMPDIR/img.$RANDOM
    make_random_image "$dir" "$2" "${3:-1}"
    run skopeo copy -q --dest-tls-verify=false "dir:$dir" "docker://$REG/$1"
    assert "$status" == 0 "skopeo copy to $REG/$1: $output"
}

# registry_blob REPO:TAG [N]: the path of layer N (default 0) in the registry.
registry_blob() {
    local repo=${1%%:*} tag=${1#*:} digest
    digest=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        "http://$REG/v2/$repo/manifests/$tag" | jq -er --argjson n "${2:-0}" '.layers[$n].digest') || die "no manifest for $1"
    digest=${digest#sha256:}
    echo "$PODBOX_TEST_REGISTRY_DIR/data/docker/registry/v2/blobs/sha256/${digest:0:2}/$digest/data"
}

# start_slow_proxy BYTES_PER_SEC: a TCP proxy to the registry that sends at
# most that many bytes a second per connection; sets $proxy (127.0.0.1:PORT).
start_slow_proxy() {
    command -v python3 >/dev/null || skip "python3 is not installed (it runs the throttling proxy)"
    local log=$BATS_TEST_TMPDIR/proxy.log
    python3 - "$REG" "$1" >"$log" 2>&1 3>&- <<'EOF' &
import socket, sys, threading, time
host, port = sys.argv[1].rsplit(":", 1)
rate = int(sys.argv[2])
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(16)
print(ls.getsockname()[1], flush=True)
def pipe(a, b, slow):
    try:
        while True:
            d = a.recv(8192)
            if not d:
                break
            b.sendall(d)
            if slow:
                time.sleep(len(d) / rate)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
def handle(c):
    u = socket.create_connection((host, int(port)))
    threading.Thread(target=pipe, args=(c, u, False), daemon=True).start()
    pipe(u, c, True)
while True:
    c, _ = ls.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
EOF
    local pid=$!
    defer_teardown kill "$pid"
    wait_for 10 test -s "$log"
    proxy=127.0.0.1:$(head -n1 "$log")
}

###############################################################################
# Pull, list, inspect

@test "pull: each test image by tag; images lists them with the registry's IDs" {
    local ref id
    for ref in busybox:latest busybox:1.0 sample:v2 config:1 layers:1; do
        run_podbox pull -q "$REG/$ref"
        id=$(image_id "$ref")
        assert "$output" == "${id#sha256:}" "pull -q $ref prints the image ID"
    done

    run_podbox images --no-trunc
    for ref in busybox:latest busybox:1.0 sample:v2 config:1 layers:1; do
        id=$(image_id "$ref")
        assert "$output" =~ "$REG/${ref%%:*} +${ref#*:} +$id " "images lists $ref"
    done
    assert "${lines[0]}" =~ "^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$" "images header"

    # The ID is the config digest the registry serves.
    local cfg
    cfg=$(curl -sf -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        "http://$REG/v2/sample/manifests/v2" | jq -r .config.digest)
    run_podbox images --format json
    assert "$(jq -r --arg n "$REG/sample:v2" '.[] | select(.names | index($n)) | .id' <<<"$output")" == "${cfg#sha256:}" "sample:v2 ID is its config digest"

    run_podbox images -q
    [[ ${#lines[@]} -ge 4 ]] || die "images -q lists ${#lines[@]} images, expected at least 4"
    assert "${lines[0]}" =~ "^[0-9a-f]{12}$" "images -q prints short IDs"
}

@test "pull: each test image by digest" {
    local ref digest id
    for ref in busybox:1.0 sample:v2 config:1 layers:1; do
        digest=$(jq -er --arg r "$ref" '.images[$r].digest' "$PODBOX_TEST_ARCHIVES/images.json")
        run_podbox pull -q "$REG/${ref%%:*}@$digest"
        id=$(image_id "$ref")
        assert "$output" == "${id#sha256:}" "pull by digest of $ref"
    done
    run_podbox images --digests
    assert "$output" =~ "$REG/layers +[^ ]+ +$digest" "images --digests shows the manifest digest"
    run_podbox image inspect "$REG/layers@$digest"
    assert "$(jq -r '.[0].Id' <<<"$output")" == "$(image_id layers:1 | cut -d: -f2)" "found by name@digest"
}

@test "pull: progress lines when not a terminal; --quiet prints only the ID" {
    use_own_store # a first pull: a stored image is only checked (550-cli)
    run_podbox pull "$REG/busybox:1.0"
    assert "$output" =~ "Pulling $REG/busybox:1.0" "pulling line"
    assert "$output" =~ "Copying (blob|config)" "copy lines"
    assert "${lines[-1]}" == "$(image_id busybox:1.0 | cut -d: -f2)" "the ID comes last"
    run_podbox pull --quiet "$REG/busybox:1.0"
    assert "${#lines[@]}" == 1 "--quiet prints one line"
}

@test "pull: without subordinate ids, files of other owners become the user's" {
    use_own_store
    export PODBOX_SUBUID_FILE=/dev/null PODBOX_SUBGID_FILE=/dev/null
    run_podbox pull -q "$REG/layers:1"
    assert "$output" =~ "no range in /etc/subuid" "says so"
    assert "${lines[-1]}" == "$(image_id layers:1 | cut -d: -f2)" "the pull works"
    local f
    f=$(find "$PODBOX_ROOT" -path '*/diff/data/owned33' -print -quit)
    assert "$(stat -c %u:%g "$f")" == "$(id -u):$(id -g)" "owned33 belongs to the user"
}

@test "image inspect: shows the config, layers, digest and names" {
    run_podbox pull -q "$REG/config:1"
    run_podbox image inspect "$REG/config:1"
    local j=$output
    assert "$(jq -r '.[0].Id' <<<"$j")" == "$(image_id config:1 | cut -d: -f2)" "Id"
    assert "$(jq -c '.[0].Config.config.Entrypoint' <<<"$j")" == '["/bin/echo","entry"]' "Entrypoint"
    assert "$(jq -c '.[0].Config.config.Cmd' <<<"$j")" == '["cmd1","cmd2"]' "Cmd"
    assert "$(jq -r '.[0].Config.config.Env | join(" ")' <<<"$j")" =~ "(^| )FOO=bar( |$)" "Env"
    assert "$(jq -r '.[0].Config.config.WorkingDir' <<<"$j")" == "/work" "WorkingDir"
    assert "$(jq -r '.[0].Config.config.User' <<<"$j")" == "www-data" "User"
    assert "$(jq -r '.[0].Names[0]' <<<"$j")" == "$REG/config:1" "Names"
    assert "$(jq -r '.[0].Digest' <<<"$j")" == "$(jq -r '.images["config:1"].digest' "$PODBOX_TEST_ARCHIVES/images.json")" "Digest"
    assert "$(jq '.[0].Layers | length' <<<"$j")" =~ "^[1-9]" "Layers"
    assert "$(jq -r '.[0].Architecture' <<<"$j")" == "$(goarch)" "Architecture"

    # By ID prefix too.
    run_podbox image inspect "$(image_id config:1 | cut -c8-19)"
    assert "$(jq -r '.[0].Names[0]' <<<"$output")" == "$REG/config:1" "inspect by short ID"

    run_podbox 125 image inspect "$REG/config:nope"
    assert "$output" =~ "image not known" "unknown image"
}

@test "layers: uid 33 is the user's subuid+32 on disk; whiteout hides; hard link kept" {
    run_podbox pull -q "$REG/layers:1"
    local storage=$XDG_DATA_HOME/podbox/storage start f
    start=$(subuid_start)
    [[ -n $start ]] || skip "$(id -un) has no range in /etc/subuid"

    # From the host side, in the layer directories of the store.
    f=$(find "$storage" -path '*/diff/data/owned33' -print -quit)
    [[ -n $f ]] || die "no data/owned33 in any layer under $storage"
    assert "$(stat -c %u:%g "$f")" == "$((start + 32)):$((start + 32))" "host owner of /data/owned33"
    f=$(find "$storage" -path '*/diff/data/dir33' -print -quit)
    assert "$(stat -c %u:%g "$f")" == "$((start + 32)):$((start + 32))" "host owner of /data/dir33"
    f=$(find "$storage" -path '*/diff/data/keep.txt' -print -quit)
    assert "$(stat -c %u "$f")" == "$(id -u)" "uid 0 in the image is the user"

    local target hard
    target=$(find "$storage" -path '*/diff/data/target' -print -quit)
    hard=$(dirname "$target")/hard
    assert "$(stat -c %i "$hard")" == "$(stat -c %i "$target")" "/data/hard and /data/target share an inode on disk"

    # As a container sees the image: the merged root file system.
    run_podbox image ls-rootfs "$REG/layers:1" /data
    assert "$output" =~ "keep.txt" "keep.txt is there"
    assert "$output" !~ "gone.txt" "the whiteout hides gone.txt"
    assert "$output" =~ " 33:33 [0-9]+ [0-9]+ owned33" "owned33 is 33:33 inside"
    local ih it
    ih=$(awk '$NF == "hard" { print $3 }' <<<"$output")
    it=$(awk '$NF == "target" { print $3 }' <<<"$output")
    assert "$ih" == "$it" "hard link in the merged view"
}

@test "pull: oci-archive:, docker-archive: and oci: work without a registry" {
    use_own_store
    local id
    id=$(image_id busybox:latest | cut -d: -f2)
    run_podbox pull -q "oci-archive:$PODBOX_TEST_ARCHIVES/busybox-oci.tar"
    assert "$output" == "$id" "oci-archive: image ID"
    run_podbox pull -q "docker-archive:$PODBOX_TEST_ARCHIVES/busybox-docker.tar"
    assert "$output" == "$id" "docker-archive: image ID"
    run_podbox pull -q "oci:$PODBOX_TEST_ARCHIVES/busybox-oci"
    assert "$output" == "$id" "oci: image ID"
    run_podbox images
    assert "$output" =~ "localhost/busybox +latest +${id:0:12}" "docker-archive's name"
    run_podbox image inspect localhost/busybox
    assert "$(jq -r '.[0].Id' <<<"$output")" == "$id" "found by its short name"
}

@test "rmi: frees the space; untags a name of an image that has others" {
    use_own_store
    run_podbox pull -q "$REG/busybox:latest" "$REG/busybox:1.0" "$REG/sample:v2"
    local before after
    # (podbox-reserve: the store's room for a full disk, see image/reserve.go)
    before=$(du -sk --exclude=podbox-reserve "$PODBOX_ROOT" | cut -f1)

    run_podbox rmi "$REG/busybox:latest"
    assert "$output" == "Untagged: $REG/busybox:latest" "busybox:1.0 still names the image"
    run_podbox rmi "$REG/sample:v2"
    assert "$output" =~ "Deleted: $(image_id sample:v2 | cut -d: -f2)" "sample:v2 deleted"
    after=$(du -sk --exclude=podbox-reserve "$PODBOX_ROOT" | cut -f1)
    # sample:v2 adds 100 KiB of its own on top of busybox.
    ((before - after >= 90)) || die "rmi freed $((before - after))K of sample's 100K layer (before ${before}K, after ${after}K)"

    run_podbox rmi "$(image_id busybox:1.0 | cut -c8-19)"
    run_podbox images -q
    assert "$output" == "" "no image left"
    after=$(du -sk --exclude=podbox-reserve "$PODBOX_ROOT" | cut -f1)
    ((after < 200)) || die "the layers are not gone: ${after}K left"

    run_podbox 125 rmi "$REG/busybox:latest"
    assert "$output" =~ "image not known" "rmi of a missing image"
}

@test "rmi: refuses an image a running pod uses; --force removes its containers" {
    use_own_store
    local pod m
    pod=$(safename)
    m=$BATS_TEST_TMPDIR/sleeper.yaml
    sed -e "s|@REGISTRY@|$REG|g" -e "s|@POD@|$pod|g" -e "s|@PORT@|300|g" "$MANIFESTS/sleeper.yaml" >"$m"
    run_podbox '?' up -d -f "$m"
    if [[ $status -ne 0 ]]; then
        [[ $output =~ "not implemented"|"flag provided but not defined" ]] && skip "podbox up -d is not there yet"
        die "up -d failed"
    fi
    defer_teardown "$PODBOX" down "$pod"

    run_podbox 125 rmi "$REG/busybox:latest"
    assert "$output" =~ "image $REG/busybox:latest is in use by container" "rmi refuses"
    assert "$output" =~ "hint: .*--force" "hint"
    run_podbox images
    assert "$output" =~ "$REG/busybox +latest" "the image stays"

    run_podbox rmi --force "$REG/busybox:latest"
    assert "$output" =~ "Deleted: $(image_id busybox:latest | cut -d: -f2)" "rmi --force"
}

@test "system reset: refuses without a terminal; --force leaves nothing behind" {
    # podbox's whole data and runtime dirs, of this test only.
    export XDG_DATA_HOME=$BATS_TEST_TMPDIR/data XDG_RUNTIME_DIR=$BATS_TEST_TMPDIR/run
    mkdir -p "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR"
    chmod 0700 "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR"
    run_podbox pull -q "$REG/layers:1"
    [[ -d $XDG_DATA_HOME/podbox/storage ]] || die "no store at $XDG_DATA_HOME/podbox/storage"

    run_podbox 125 system reset
    assert "$output" =~ "no terminal" "reset without --force and without a terminal"
    assert "$output" =~ "--force" "the hint names --force"
    run_podbox images -q
    assert "$output" != "" "the store is untouched"

    run_podbox system reset --force
    assert "$(find "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR" -mindepth 1 | head)" == "" "nothing left under the data and runtime dirs"
    # And what the user owns, the user can delete.
    rm -rf "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR"
}

@test "pull: a short name resolves through registries.conf; ambiguous without a terminal lists the candidates" {
    local conf=$BATS_TEST_TMPDIR/registries.conf
    cat >"$conf" <<EOF
unqualified-search-registries = ["$REG"]
[[registry]]
location = "$REG"
insecure = true
EOF
    CONTAINERS_REGISTRIES_CONF=$conf run_podbox pull -q busybox:1.0
    assert "$output" == "$(image_id busybox:1.0 | cut -d: -f2)" "busybox:1.0 from $REG"

    cat >"$conf" <<EOF
unqualified-search-registries = ["$REG", "127.0.0.1:1"]
EOF
    CONTAINERS_REGISTRIES_CONF=$conf run_podbox 125 pull busybox:1.0
    assert "$output" =~ "ambiguous" "ambiguous short name"
    assert "$output" =~ "$REG/busybox:1.0, 127.0.0.1:1/busybox:1.0" "the candidates"
}

@test "pull: a loopback registry may be plain HTTP without configuration; --tls-verify=true refuses it" {
    use_own_store
    : >"$BATS_TEST_TMPDIR/empty.conf"
    CONTAINERS_REGISTRIES_CONF=$BATS_TEST_TMPDIR/empty.conf run_podbox pull -q "$REG/busybox:1.0"
    assert "$output" == "$(image_id busybox:1.0 | cut -d: -f2)" "plain HTTP on 127.0.0.1, no insecure in registries.conf"

    run_podbox 125 pull --tls-verify=true "$REG/busybox:1.0"
    assert "$output" =~ "https://$REG/v2/.*HTTP response to HTTPS client" "--tls-verify=true insists on TLS"
}

###############################################################################
# Faults: one clear line, exit code non-zero, store unchanged

@test "fault: unknown tag" {
    run_podbox images -q
    local before=$output
    run_podbox 125 pull "$REG/busybox:no-such-tag"
    assert "${lines[-1]}" =~ "^podbox: pulling $REG/busybox:no-such-tag from $REG: no such image or tag" "error line"
    run_podbox images -q
    assert "$output" == "$before" "store unchanged"
}

@test "fault: malformed reference" {
    local ref
    for ref in "BusyBox" "$REG/busy box" "$REG//busybox" "busybox:a:b:c" "$REG/busybox@sha256:123"; do
        run_podbox 125 pull "$ref"
        assert "${#lines[@]}" == 1 "one line for '$ref'"
        assert "$output" =~ "^podbox: invalid image reference" "error for '$ref'"
    done
}

@test "fault: unreachable registry (a closed port on 127.0.0.1)" {
    local port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 1)
    run_podbox 125 pull "127.0.0.1:$port/busybox:1.0"
    assert "$output" =~ "podbox: pulling 127.0.0.1:$port/busybox:1.0 from 127.0.0.1:$port: registry unreachable" "error line"
    assert "$output" =~ "connection refused" "says why"
    assert "$output" =~ "hint: " "with a hint"
}

@test "fault: a registry that needs authentication; auth.json lets the pull in" {
    [[ -x /usr/bin/htpasswd ]] || skip "htpasswd is not installed (package apache2-utils)"
    local dir=$BATS_TEST_TMPDIR/authreg areg
    mkdir -p "$dir"
    htpasswd -Bbn tester s3cret >"$dir/htpasswd"
    areg=$("$BATS_TEST_DIRNAME/../scripts/registry.sh" start --auth "$dir/htpasswd" "$dir") || die "cannot start a registry with auth"
    defer_teardown "$BATS_TEST_DIRNAME/../scripts/registry.sh" stop "$dir"
    run skopeo copy -q --src-tls-verify=false --dest-tls-verify=false --dest-creds tester:s3cret \
        "docker://$REG/busybox:1.0" "docker://$areg/busybox:1.0"
    assert "$status" == 0 "push to the auth registry: $output"

    use_own_store
    export REGISTRY_AUTH_FILE=$BATS_TEST_TMPDIR/auth.json
    run_podbox 125 pull "$areg/busybox:1.0"
    assert "$output" =~ "podbox: pulling $areg/busybox:1.0 from $areg: registry requires authentication" "error line"
    assert "$output" =~ "hint: log in" "hint"
    run_podbox images -q
    assert "$output" == "" "store unchanged"

    printf '{"auths":{"%s":{"auth":"%s"}}}' "$areg" "$(printf tester:s3cret | base64)" >"$REGISTRY_AUTH_FILE"
    run_podbox pull -q "$areg/busybox:1.0"
    assert "$output" == "$(image_id busybox:1.0 | cut -d: -f2)" "pull with credentials"
}

@test "fault: an image for another architecture" {
    run_podbox images -q
    local before=$output
    run_podbox 125 pull "$REG/arm64only:1"
    assert "$output" =~ "image is for another platform: it is linux/arm64, this machine runs linux/$(goarch)" "error line"
    run_podbox images -q
    assert "$output" == "$before" "store unchanged"
}

@test "fault: a corrupt layer (digest mismatch)" {
    use_own_store
    run_podbox pull -q "$REG/busybox:1.0"
    local repo layers_before
    layers_before=$(jq -r '.[].id' "$PODBOX_ROOT"/*-layers/layers.json | sort)
    repo=corrupt-$(random_string 6)
    push_random_image "$repo:1" 64 2
    # The second layer: the first is stored by then, and must go again.
    local blob
    blob=$(registry_blob "$repo:1" 1)
    [[ -f $blob ]] || die "no blob file $blob"
    # Same length, other bytes.
    printf 'corrupt!' | dd of="$blob" bs=1 seek=100 conv=notrunc status=none

    run_podbox 125 pull "$REG/$repo:1"
    assert "${lines[-1]}" =~ "^podbox: pulling $REG/$repo:1 from $REG: .*[Dd]igest did not match" "error line"
    run_podbox images -q
    assert "$output" == "$(image_id busybox:1.0 | cut -c8-19)" "no new image"
    assert "$(jq -r '.[].id' "$PODBOX_ROOT"/*-layers/layers.json | sort)" == "$layers_before" "no new layer left in the store"
}

@test "fault: Ctrl-C during a pull leaves a usable store, no half image" {
    use_own_store
    local repo
    repo=big-$(random_string 6)
    push_random_image "$repo:1" 6144
    start_slow_proxy $((2 * 1024 * 1024))

    run_podbox_bg pull "$proxy/$repo:1"
    # shellcheck disable=SC2154 # bg_pid and bg_log come from run_podbox_bg
    wait_for --alive "$bg_pid" --log "$bg_log" 20 grep -q "Copying blob" "$bg_log"
    sleep 0.5
    kill -INT "$bg_pid"
    local rc=0
    wait "$bg_pid" || rc=$?
    cat "$bg_log"
    assert "$rc" == 130 "an interrupted pull exits 130"
    assert "$(cat "$bg_log")" =~ "interrupted" "says so"

    run_podbox images -q
    assert "$output" == "" "no half image listed"

    # The same after SIGKILL (the child in the user namespace dies with it).
    run_podbox_bg pull "$proxy/$repo:1"
    wait_for --alive "$bg_pid" --log "$bg_log" 20 grep -q "Copying blob" "$bg_log"
    sleep 0.5
    kill -KILL "$bg_pid"
    wait "$bg_pid" || true
    run_podbox images -q
    assert "$output" == "" "no half image listed after SIGKILL"

    run_podbox pull -q "$REG/$repo:1"
    run_podbox images
    assert "$output" =~ "$REG/$repo +1 " "the pull works afterwards"
    # The killed pull's blobs in transit are gone too (the store's data dir
    # is the parent of its root, here the test's tmpdir).
    assert "$(find "$BATS_TEST_TMPDIR/tmp" -mindepth 1 2>/dev/null)" == "" "no blobs left in transit"
}

@test "pull: two pulls of the same image at once both succeed, one copy stored" {
    use_own_store
    local log1=$BATS_TEST_TMPDIR/p1 log2=$BATS_TEST_TMPDIR/p2 rc1=0 rc2=0
    "$PODBOX" pull -q "$REG/layers:1" >"$log1" 2>&1 3>&- &
    local p1=$!
    "$PODBOX" pull -q "$REG/layers:1" >"$log2" 2>&1 3>&- &
    local p2=$!
    wait "$p1" || rc1=$?
    wait "$p2" || rc2=$?
    cat "$log1" "$log2"
    assert "$rc1:$rc2" == "0:0" "both pulls succeed"
    run_podbox images -q
    assert "$output" == "$(image_id layers:1 | cut -c8-19)" "one image"
    assert "$(find "$PODBOX_ROOT" -path '*/diff/data/owned33' | wc -l)" == 1 "one copy of the layer"
}

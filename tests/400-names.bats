#!/usr/bin/env bats
# 400-names: names are never paths; podbox's directories are the user's
# own; every valid name works; one pod, whatever the environment (issue 9,
# items 1, 2, 3, 13, 15).

load helpers

@test "names: a name that is a path is refused by every command, one line, exit 125, nothing touched" {
    scratch_home
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render sleeper.yaml "$pod" 3600)"
    wait_for 20 pod_status_is "$pod" Running
    local store=$XDG_DATA_HOME/podbox/storage
    local before
    before=$(ls "$store")

    local name
    for name in .. . ../../../.. a/b ../ "$pod/.." "../$pod" Upper; do
        run_podbox 125 down "$name"
        assert "${#lines[@]}" == 1 "down $name: one line"
        assert "$output" =~ "^podbox: pod name \"" "down $name: names the pod name"
        assert "$output" =~ "DNS-1123 subdomain" "down $name: says what a name is"
    done
    for name in .. a/b; do
        run_podbox 125 logs "$name"
        assert "$output" =~ "^podbox: pod name \".*DNS-1123" "logs $name"
        run_podbox 125 exec "$name" -- true
        assert "$output" =~ "^podbox: pod name \".*DNS-1123" "exec $name"
        run_podbox 125 describe pod "$name"
        assert "$output" =~ "^podbox: pod name \".*DNS-1123" "describe $name"
        run_podbox 125 get pod "$name"
        assert "$output" =~ "^podbox: pod name \".*DNS-1123" "get pod $name"
        assert "${#lines[@]}" == 1 "get pod $name: one line"
    done
    # A name of 254 characters is one too many.
    run_podbox 125 down "$(printf 'a%.0s' {1..254})"
    assert "$output" =~ "DNS-1123 subdomain"

    assert_scratch_intact
    assert "$(ls "$store")" == "$before" "the image store is intact"
    run_podbox ps
    assert "$output" =~ "$pod +Running" "the pod still runs"
    run_podbox down "$pod"
}

@test "names: a pod name of 253 characters runs; ps, logs, exec, get and down work" {
    local name
    name=$(long_name)
    assert "${#name}" == 253
    run_podbox up -d -f "$(render paths-volume.yaml "$name")"
    wait_for 20 pod_status_is "$name" Running
    wait_for 10 grep -q ready "$XDG_DATA_HOME/podbox/pods/$name/logs/keeper.log"
    run_podbox logs "$name"
    assert "$output" == "ready"
    run_podbox exec "$name" -- cat /data/file
    assert "$output" == "kept"
    run_podbox exec "$name" -- hostname
    assert "$output" == "${name:0:63}" "the hostname is the name cut to 63 characters, as Kubernetes does"
    run_podbox get pod "$name" -o name
    assert "$output" == "pod/$name"
    run_podbox down "$name"
    assert "$output" == "$name"
    run_podbox ps
    assert "$output" !~ "${name:0:40}"
}

# long_name: a valid pod name of 253 characters (three 63-character labels
# and one of 61), starting with a safename, taken down at teardown.
long_name() {
    local base name
    base=$(safename)
    name=$base$(printf 'a%.0s' $(seq $((63 - ${#base}))))
    name=$name.$(printf 'b%.0s' {1..63}).$(printf 'c%.0s' {1..63}).$(printf 'd%.0s' {1..61})
    echo "$name" >>"$BATS_TEST_TMPDIR/.podnames"
    echo "$name" >>"$BATS_SUITE_TMPDIR/podnames"
    echo "$name"
}

@test "names: a pod of 253 characters serves its hostPort with either port driver" {
    local name port driver
    for driver in builtin slirp4netns; do
        name=$(long_name)
        port=$(free_port)
        run_podbox up -d --port-driver "$driver" -f "$(render paths-port.yaml "$name" "$port")"
        wait_for 20 curl -sf --max-time 2 "http://127.0.0.1:$port/"
        run curl -sf --max-time 2 "http://127.0.0.1:$port/"
        assert "$output" == "served" "$driver"
        run_podbox down "$name"
    done
}

@test "dirs: a runtime directory others may write to, or a link, is refused, naming it" {
    scratch_home
    local open=$SCRATCH/open
    mkdir -m 0777 "$open"
    chmod 0777 "$open"
    XDG_RUNTIME_DIR=$open run_podbox 125 ps
    assert "$output" =~ "^podbox: $open: is writable by group or others \(mode 0777\)"
    XDG_RUNTIME_DIR=$open run_podbox 125 down --all
    assert "$output" =~ "$open: is writable by group or others"
    [[ ! -e $open/podbox ]] || die "podbox made $open/podbox"

    # podbox's own directory, made writable for others: something may have
    # been planted in it.
    mkdir -m 0700 "$SCRATCH/run2"
    mkdir -m 0700 "$SCRATCH/run2/podbox"
    chmod 0777 "$SCRATCH/run2/podbox"
    XDG_RUNTIME_DIR=$SCRATCH/run2 run_podbox 125 ps
    assert "$output" =~ "$SCRATCH/run2/podbox: is writable by group or others"

    # A link to a directory of someone else's.
    mkdir -m 0700 "$SCRATCH/run3"
    ln -s /tmp "$SCRATCH/run3/podbox"
    XDG_RUNTIME_DIR=$SCRATCH/run3 run_podbox 125 ps
    assert "$output" =~ "$SCRATCH/run3/podbox: is a symbolic link"
    XDG_RUNTIME_DIR=$SCRATCH/run3 run_podbox 125 up -d -f "$(render sleeper.yaml "$(safename)" 3600)"
    assert "$output" =~ "$SCRATCH/run3/podbox: is a symbolic link"
    assert_scratch_intact
}

@test "dirs: another user's directory is permission denied, named, exit 125, for every command" {
    [[ ! -r /root ]] || skip "/root is readable by $(id -un)"
    scratch_home
    local cmd
    for cmd in ps "down --all" "logs web" "exec web -- true" "get pods" "describe pod web"; do
        # shellcheck disable=SC2086 # the command's words
        XDG_RUNTIME_DIR=/root run_podbox 125 $cmd
        assert "$output" =~ "^podbox: /root/podbox: permission denied" "$cmd, runtime dir"
        # shellcheck disable=SC2086
        XDG_DATA_HOME=/root run_podbox 125 $cmd
        assert "$output" =~ "^podbox: /root/podbox: permission denied" "$cmd, data dir"
    done
}

@test "dirs: a pod started with one XDG_RUNTIME_DIR is seen, kept and removed from another" {
    scratch_home
    local a=$XDG_RUNTIME_DIR b=$SCRATCH/run-b pod other
    mkdir -m 0700 "$b"
    pod=$(safename)
    other=$(safename)
    run_podbox up -d -f "$(render paths-volume.yaml "$pod")"
    wait_for 20 pod_status_is "$pod" Running
    local file=$XDG_DATA_HOME/podbox/pods/$pod/volumes/scratch/file
    wait_for 10 test -s "$file"

    XDG_RUNTIME_DIR=$b run_podbox ps
    assert "$output" =~ "$pod +Running" "the pod runs, seen from B"
    # An up from B collects garbage: it must not take the pod for dead.
    XDG_RUNTIME_DIR=$b run_podbox up -d -f "$(render sleeper.yaml "$other" 3600)"
    assert "$(cat "$file")" == "kept" "the emptyDir file is intact"
    XDG_RUNTIME_DIR=$b run_podbox exec "$pod" -- cat /data/file
    assert "$output" == "kept"
    run_podbox ps
    assert "$output" =~ "$other +Running" "the pod from B, seen from A"
    XDG_RUNTIME_DIR=$b run_podbox down "$pod"
    assert "$output" == "$pod"
    [[ ! -e $a/podbox/pods/$pod ]] || die "the runtime dir of $pod is left"
    [[ ! -e $XDG_DATA_HOME/podbox/pods/$pod ]] || die "the data dir of $pod is left"
    run_podbox down "$other"
}

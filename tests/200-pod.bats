#!/usr/bin/env bats
# 200-pod: running pods: namespaces, the in-process infra, containers,
# volumes, init containers, restart policies, up/down/ps/logs.

load helpers

# assert_no_pod_processes POD...: no process of these pods is left: their
# PID 1, their slirp4netns, their containers. (Other runs as the same user
# may have pods of their own: those are not ours to count.)
assert_no_pod_processes() {
    local pod pid left=""
    for pod in "$@"; do
        for pid in $(pgrep -u "$(id -u)" -f "podbox-pod:$pod\$"); do
            left+="$(ps -o pid=,args= -p "$pid")"$'\n'
            left+="$(pgrep -a -P "$pid")"$'\n'
        done
    done
    assert "${left//$'\n'/}" == "" "processes of pods $* left: $left"
}

@test "pod: one container in the foreground, its output, exit code 0, nothing left" {
    local pod
    pod=$(safename)
    run_podbox up -f "$(render hello.yaml "$pod")"
    assert "$output" =~ "hello \| hello from podbox" "prefixed stdout"
    assert "$output" =~ "hello \| to stderr" "prefixed stderr"
    assert "$output" =~ "pod $pod Succeeded" "the pod's end"
    # A pod that finished in the foreground stays for logs and describe until down.
    run_podbox down "$pod"
    assert_pod_gone "$pod"
    assert_no_pod_processes "$pod"
}

@test "pod: two containers share a volume and localhost (the Kubernetes example)" {
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render shared-volume.yaml "$pod")"
    assert "$output" =~ "$pod" "up -d prints the pod name"
    wait_for 20 grep -q "fetched: Hello from the debian container" "$(pod_datadir "$pod")/logs/fetcher.log"
    run_podbox logs "$pod" -c fetcher
    assert "$output" == "fetched: Hello from the debian container"
    run_podbox logs "$pod" --timestamps -c fetcher
    assert "$output" =~ "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[^ ]+ fetched: Hello" "--timestamps"
    # CRI format on disk.
    run cat "$(pod_datadir "$pod")/logs/fetcher.log"
    assert "$output" =~ "^[0-9T:.Z+-]+ stdout F fetched: Hello from the debian container$" "CRI log line"

    # -f ends by itself: the writer has terminated and will not restart.
    run_podbox logs -f "$pod" -c writer
    assert "$output" == ""

    run_podbox ps -a
    assert "$output" =~ "$pod +writer +Terminated \(Completed\) +0 " "writer terminated with 0"
    assert "$output" =~ "$pod +server +Running " "server running"
    run_podbox ps
    # kubectl's STATUS: two containers completed, one runs, not all ready.
    assert "$output" =~ "$pod +NotReady +1/3 +0 " "pod line"
    run_podbox ps --format json
    assert "$(jq -r --arg p "$pod" '.items[] | select(.metadata.name == $p) | .status.phase' <<<"$output")" == "Running"

    run_podbox down "$pod"
    assert_pod_gone "$pod"
    assert_no_pod_processes "$pod"
}

@test "pod: an init container fills an emptyDir for the app" {
    local pod
    pod=$(safename)
    run_podbox up -f "$(render init.yaml "$pod")"
    assert "$output" =~ "copy +\| copied" "init container output"
    assert "$output" =~ "app +\| .*/app/app.war" "the app sees the file"
    assert "$output" =~ "app +\| app saw the file"
    # A pod that finished in the foreground stays for logs and describe until down.
    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

@test "pod: a failing init container with restartPolicy Never fails the pod; the app never starts" {
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render init-fails.yaml "$pod")"
    wait_for 20 pod_status_is "$pod" Init:Error
    run_podbox ps -a
    assert "$output" =~ "$pod +setup +Terminated \(Error\) +3 " "init container exit code"
    assert "$output" =~ "$pod +app +Waiting \(PodInitializing\)" "app never started"
    run_podbox logs "$pod"
    assert "$output" =~ "init failing"
    assert "$output" !~ "APP STARTED"
    run_podbox down "$pod"
    assert_pod_gone "$pod"

    # In the foreground the failure is the exit code.
    run_podbox 1 up -f "$(render init-fails.yaml "$pod")"
    assert "$output" =~ "pod $pod Failed: init container setup exited with code 3" "the pod's end"
    assert "$output" !~ "APP STARTED"
    # A pod that finished in the foreground stays for logs and describe until down.
    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

@test "pod: a sidecar init container runs beside the app and stops when the app is done" {
    local pod
    pod=$(safename)
    run_podbox up -f "$(render sidecar.yaml "$pod")"
    assert "$output" =~ "app +\| from the sidecar"
    # A pod that finished in the foreground stays for logs and describe until down.
    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

@test "pod: restartPolicy OnFailure restarts a failed container and counts it" {
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render onfailure.yaml "$pod")"
    # The kubelet's back-off: the restart comes after 10 s.
    wait_for 40 pod_status_is "$pod" Completed
    run_podbox ps -a
    assert "$output" =~ "$pod +flaky +Terminated \(Completed\) +0 +1 " "one restart, then exit 0"
    # As kubectl: the current run's log; --previous, the run before.
    run_podbox logs "$pod"
    assert "$output" == "second run"
    run_podbox logs "$pod" --previous
    assert "$output" == "first run"
    run_podbox ps
    assert "$output" =~ "$pod +Completed +0/1 +1 " "finished pods stay listed"
    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

@test "pod: egress to the host's 127.0.0.1 through 10.0.2.2 when the pod allows host loopback" {
    local pod port www
    pod=$(safename)
    port=$(free_port)
    www=$BATS_TEST_TMPDIR/www
    mkdir -p "$www"
    echo "egress works" >"$www/egress.txt"
    busybox httpd -f -p "127.0.0.1:$port" -h "$www" 3>&- &
    local httpd=$!
    defer_teardown kill "$httpd"
    wait_for 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
    run_podbox up -f "$(render egress.yaml "$pod" "$port")"
    assert "$output" =~ "fetch +\| egress works"

    # Without the annotation, the host's loopback stays out of reach.
    local f
    f=$(render egress.yaml "$pod" "$port")
    sed -i '/annotations:/d; /allow-host-loopback/d' "$f"
    run_podbox 1 up -f "$f"
    assert "$output" !~ "egress works"
}

@test "pod: inside a container: uid 0, the user's mapping, own pid namespace, hostname, tmpfs, read-only hostPath" {
    local pod host
    pod=$(safename)
    host=$BATS_TEST_TMPDIR/host
    mkdir -p "$host"
    echo "from the host" >"$host/hello.txt"
    run_podbox up -f "$(render inside.yaml "$pod" 0 HOSTDIR="$host")"
    assert "$output" =~ "probe \| uid=0"
    assert "$output" =~ "probe \| hostname=$pod"
    assert "$output" =~ "uid_map: 0 +$(id -u) +1"
    local sub
    sub=$(awk -F: -v u="$(id -un)" '$1 == u { print $2 " +" $3 }' /etc/subuid)
    assert "$output" =~ "uid_map: 1 +$sub" "the subuid range is mapped"
    assert "$output" =~ "pid1=sh -c " "PID 1 is the container's own command"
    assert "$output" =~ "nprocs=[1-9]"$'\n' "host processes are not visible"
    assert "$output" =~ "mount: tmpfs /cache tmpfs [^ ]*size=16384k" "medium Memory is a sized tmpfs"
    assert "$output" =~ "probe \| from the host"
    assert "$output" =~ "hostPath: read-only"
    [[ ! -e $host/written ]] || die "a read-only hostPath was written"
    # A pod that finished in the foreground stays for logs and describe until down.
    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

@test "pod: a hostPath that does not exist is an error naming it, before anything starts" {
    local pod
    pod=$(safename)
    run_podbox 125 up -f "$(render inside.yaml "$pod" 0 HOSTDIR="$BATS_TEST_TMPDIR/missing")"
    assert "$output" =~ "$BATS_TEST_TMPDIR/missing"
    assert_pod_gone "$pod"
}

# shellcheck disable=SC2154 # bg_pid and bg_log come from run_podbox_bg
@test "pod: Ctrl-C of a foreground up stops and removes the pod" {
    local pod
    pod=$(safename)
    run_podbox_bg up -f "$(render sleeper.yaml "$pod" 4242)"
    wait_for --alive "$bg_pid" --log "$bg_log" 30 pod_status_is "$pod" Running
    kill -INT "$bg_pid"
    wait_for 20 bash -c "! kill -0 $bg_pid"
    assert_pod_gone "$pod"
    assert_no_pod_processes "$pod"
}

@test "pod: SIGKILL of the pod's process leaves no container behind; down cleans up" {
    local pod pid
    pod=$(safename)
    run_podbox up -d -f "$(render sleeper.yaml "$pod" 4343)"
    pgrep -u "$(id -u)" -fx "sleep 4343" >/dev/null || die "the container does not run"
    pid=$(awk '{ print $1 }' "$(pod_rundir "$pod")/pid")
    local slirp
    slirp=$(pgrep -u "$(id -u)" -f "slirp4netns .* $pid tap0\$") || die "no slirp4netns for pid $pid"
    kill -KILL "$pid"
    wait_for 10 bash -c "! pgrep -u $(id -u) -fx 'sleep 4343'"
    wait_for 10 bash -c "! ps -o stat= -p $slirp | grep -qv Z"
    run_podbox ps
    assert "$output" =~ "$pod +Gone" "a dead pod is reported"
    local ctrs=$XDG_DATA_HOME/podbox/storage/overlay-containers/containers.json
    grep -q "\"$pod-sleeper\"" "$ctrs" || die "the storage container of $pod should still be there"
    run_podbox down "$pod"
    assert_pod_gone "$pod"
    run grep -c "\"$pod-" "$ctrs"
    assert "$output" == "0" "storage containers of the dead pod removed"

    # The next up cleans a dead pod's leftovers by itself.
    run_podbox up -d -f "$(render sleeper.yaml "$pod" 4343)"
    kill -KILL "$(awk '{ print $1 }' "$(pod_rundir "$pod")/pid")"
    wait_for 10 bash -c "! pgrep -u $(id -u) -fx 'sleep 4343'"
    run_podbox up -d -f "$(render sleeper.yaml "$pod" 4343)"
    run_podbox down "$pod"
    assert_pod_gone "$pod"
    assert_no_pod_processes "$pod"
}

@test "pod: its PID 1 is podbox-pod beside podbox, else podbox itself" {
    local pod pid
    pod=$(safename)
    run_podbox up -d -f "$(render sleeper.yaml "$pod" 4344)"
    pid=$(awk '{ print $1 }' "$(pod_rundir "$pod")/pid")
    assert "$(readlink "/proc/$pid/exe")" == "${PODBOX%/*}/podbox-pod" "the pod's program"
    run_podbox down "$pod"
    assert_pod_gone "$pod"

    # A podbox without podbox-pod beside it runs the pod itself.
    local dir=$BATS_TEST_TMPDIR/alone
    mkdir -p "$dir"
    cp "$PODBOX" "$dir/podbox"
    PODBOX=$dir/podbox run_podbox up -d -f "$(render sleeper.yaml "$pod" 4344)"
    pid=$(awk '{ print $1 }' "$(pod_rundir "$pod")/pid")
    assert "$(readlink "/proc/$pid/exe")" == "$dir/podbox" "the pod's program without podbox-pod"
    pgrep -u "$(id -u)" -fx "sleep 4344" >/dev/null || die "the container does not run"
    PODBOX=$dir/podbox run_podbox down "$pod"
    assert_pod_gone "$pod"
    assert_no_pod_processes "$pod"
}

@test "pod: a second up of a running pod leaves it (unchanged: tests/520-apply.bats); two pods run side by side" {
    local a b
    a=$(safename)
    b=$(safename)
    run_podbox up -d -f "$(render web.yaml "$a")"
    run_podbox up -d -f "$(render web.yaml "$a")"
    assert "$output" == "$a: unchanged"
    run_podbox up -d -f "$(render web.yaml "$b")"
    # Each client sees its own pod's server on localhost:80.
    wait_for 20 grep -q "this is $a" "$(pod_datadir "$a")/logs/client.log"
    wait_for 20 grep -q "this is $b" "$(pod_datadir "$b")/logs/client.log"
    run_podbox logs "$a" -c client
    assert "$output" !~ "this is $b"
    run_podbox logs "$a" -c client --tail 1
    assert "${#lines[@]}" == 1 "--tail 1 prints one line"
    assert "$output" == "this is $a"
    run_podbox down "$a" "$b"
    assert_pod_gone "$a"
    assert_pod_gone "$b"
    assert_no_pod_processes "$a" "$b"
}

@test "pod: down of an unknown pod is an error naming it" {
    run_podbox 125 down no-such-pod
    assert "$output" =~ "no-such-pod"
}

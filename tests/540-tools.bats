#!/usr/bin/env bats
# 540-tools: port-forward (a port without hostPort, reached from 127.0.0.1;
# ends by signal or when the pod goes) and cp (a directory in and out, no
# tar in the way; symbolic links never lead out of the container). Traffic
# only to 127.0.0.1.

load helpers

# start_tools_pod: a running tools.yaml pod whose httpd answers inside
# (checked with wget in the pod); sets $pod.
start_tools_pod() {
    pod=$(safename)
    run_podbox up -d -f "$(render tools.yaml "$pod")"
    wait_for 20 "$PODBOX" exec "$pod" -- wget -qO- http://127.0.0.1:8080/
}

# forwarded_port LOG REMOTE: the local port of the "Forwarding from
# 127.0.0.1:L -> REMOTE" line in LOG.
forwarded_port() {
    sed -n "s/^Forwarding from 127\.0\.0\.1:\([0-9]*\) -> $2\$/\1/p" "$1" | head -n1
}

@test "port-forward: a port without hostPort answers on 127.0.0.1; a refused port is one error; SIGTERM ends it with 0" {
    local pod local_port refused_port rc=0
    start_tools_pod
    refused_port=$(free_port)
    run_podbox_bg port-forward "$pod" :http "$refused_port:9"
    # shellcheck disable=SC2154 # bg_pid and bg_log come from run_podbox_bg
    wait_for --alive "$bg_pid" --log "$bg_log" 20 grep -q "^Forwarding from 127.0.0.1:$refused_port -> 9\$" "$bg_log"
    local_port=$(forwarded_port "$bg_log" 8080)
    assert "$local_port" =~ "^[0-9]+$" "a free local port for :http"
    run curl -sf --max-time 5 "http://127.0.0.1:$local_port/"
    assert "$status" == 0 "curl through the forward"
    assert "$output" == "served by $pod" "the pod's page"
    assert "$(cat "$bg_log")" =~ "Handling connection for $local_port" "kubectl's line per connection"

    # Nothing listens on the pod's port 9: that connection fails, the
    # forward goes on.
    run curl -s --max-time 5 "http://127.0.0.1:$refused_port/"
    assert "$status" != 0 "a refused connection in the pod fails the client's"
    wait_for --alive "$bg_pid" --log "$bg_log" 10 grep -q "an error occurred forwarding $refused_port -> 9: .*connection refused" "$bg_log"
    run curl -sf --max-time 5 "http://127.0.0.1:$local_port/"
    assert "$output" == "served by $pod" "still forwarding after a refused connection"

    kill -TERM "$bg_pid"
    wait "$bg_pid" || rc=$?
    assert "$rc" == 0 "port-forward ends with 0 on SIGTERM"
    run curl -s --max-time 5 "http://127.0.0.1:$local_port/"
    assert "$status" != 0 "nothing listens on $local_port after"
    run_podbox down "$pod"
}

@test "port-forward: ends with 1 when the pod goes down" {
    local pod lport rc=0
    start_tools_pod
    lport=$(free_port)
    run_podbox_bg port-forward "$pod" "$lport:8080" --address 127.0.0.1
    wait_for --alive "$bg_pid" --log "$bg_log" 20 grep -q "^Forwarding from 127.0.0.1:$lport -> 8080\$" "$bg_log"
    run curl -sf --max-time 5 "http://127.0.0.1:$lport/"
    assert "$output" == "served by $pod" "the pod's page"
    run_podbox down "$pod"
    # down returns once the pod's process is gone: the forward follows.
    wait_for 10 bash -c "! kill -0 $bg_pid"
    wait "$bg_pid" || rc=$?
    assert "$rc" == 1 "kubectl's exit code when the pod goes"
    assert "$(cat "$bg_log")" =~ "lost connection to pod" "says why"
}

@test "port-forward: refuses a pod that does not exist and an unknown port name; Ctrl-C ends it with 0" {
    local pod
    run_podbox 125 port-forward "nosuchpod-$(random_string 6)" 8080
    assert "$output" =~ "no such pod"
    start_tools_pod
    run_podbox 125 port-forward "$pod" nosuchname
    assert "$output" =~ "does not have a named port \"nosuchname\""

    # Ctrl-C ends it with 0, as kubectl.
    local lport rc=0
    lport=$(free_port)
    run_podbox_bg port-forward "pod/$pod" "$lport:http"
    wait_for --alive "$bg_pid" --log "$bg_log" 20 grep -q "^Forwarding from 127.0.0.1:$lport -> 8080\$" "$bg_log"
    kill -INT "$bg_pid"
    wait "$bg_pid" || rc=$?
    assert "$rc" == 0 "port-forward ends with 0 on SIGINT"
    run_podbox down "$pod"
}

@test "cp: a directory in, seen by exec, out again identical" {
    local pod src=$BATS_TEST_TMPDIR/src
    mkdir -p "$src/sub/deeper"
    echo hello >"$src/a.txt"
    printf 'x%.0s' {1..100000} >"$src/sub/big"
    echo script >"$src/sub/deeper/run.sh"
    chmod 0750 "$src/sub/deeper/run.sh"
    ln -s a.txt "$src/link"
    start_tools_pod

    run_podbox cp "$src" "$pod:/tmp/data"
    run_podbox exec "$pod" -- cat /tmp/data/a.txt /tmp/data/sub/deeper/run.sh
    assert "$output" == $'hello\nscript' "the files, as the container sees them"
    run_podbox exec "$pod" -- stat -c '%u:%g %a' /tmp/data/sub/deeper/run.sh /tmp/data/sub
    assert "${lines[0]}" == "0:0 750" "owned by the container's root, mode kept"
    assert "${lines[1]}" == "0:0 755" "directories too"
    run_podbox exec "$pod" -- readlink /tmp/data/link
    assert "$output" == "a.txt" "a symbolic link copied in stays one"
    # An existing directory receives the source under its own name; a
    # relative path is from the working directory (/www, a volume).
    run_podbox cp "$src/sub" "$pod:."
    run_podbox exec "$pod" -- wc -c /www/sub/big
    assert "$output" == "100000 /www/sub/big" "into the working directory, the emptyDir"

    run_podbox cp "$pod:/tmp/data" "$BATS_TEST_TMPDIR/out"
    assert "$output" =~ "skipping symlink" "copied out, a symbolic link is skipped, as kubectl"
    rm "$src/link"
    run diff -r "$src" "$BATS_TEST_TMPDIR/out"
    assert "$status" == 0 "the same tree: $output"
    assert "$(stat -c %u "$BATS_TEST_TMPDIR/out/sub/big")" == "$(id -u)" "copied out, the user's own"

    # A file copied out into an existing directory lands under its name.
    run_podbox cp "$pod:/www/index.html" "$BATS_TEST_TMPDIR/out"
    assert "$(cat "$BATS_TEST_TMPDIR/out/index.html")" == "served by $pod"
    run_podbox down "$pod"
}

@test "cp: symbolic links in the container never lead out of it; type clashes are errors" {
    local pod outside=$BATS_TEST_TMPDIR/outside
    mkdir -p "$outside"
    echo original >"$outside/victim"
    echo evil >"$BATS_TEST_TMPDIR/payload"
    start_tools_pod
    # Links that would reach the host's $outside if followed on the host.
    run_podbox exec "$pod" -- ln -s "$outside" /tmp/abs
    run_podbox exec "$pod" -- ln -s "../../../../../../../../..$outside" /tmp/rel
    run_podbox exec "$pod" -- ln -s "$outside/victim" /tmp/file

    run_podbox 125 cp "$BATS_TEST_TMPDIR/payload" "$pod:/tmp/abs/victim"
    assert "$output" =~ "no directory" "the link resolves inside the container, where $outside does not exist"
    run_podbox 125 cp "$BATS_TEST_TMPDIR/payload" "$pod:/tmp/rel/victim"
    run_podbox 125 cp "$BATS_TEST_TMPDIR/payload" "$pod:../../../../../../..$outside/victim"
    # A link where the file goes is replaced, not followed.
    run_podbox cp "$BATS_TEST_TMPDIR/payload" "$pod:/tmp/file"
    run_podbox exec "$pod" -- cat /tmp/file
    assert "$output" == "evil" "the container's /tmp/file is the copy"
    assert "$(cat "$outside/victim")" == "original" "nothing written outside the container"
    assert "$(ls "$outside")" == "victim" "nothing created outside the container"

    # Copied out, the container's links are not followed on this side either.
    run_podbox exec "$pod" -- sh -c "mkdir /tmp/d && ln -s $outside /tmp/d/escape"
    run_podbox cp "$pod:/tmp/d" "$BATS_TEST_TMPDIR/got"
    assert "$(ls -A "$BATS_TEST_TMPDIR/got")" == "" "the link is skipped"

    # A directory where a file is, and a file where a directory is.
    echo mine >"$BATS_TEST_TMPDIR/afile"
    run_podbox 125 cp "$pod:/tmp/d" "$BATS_TEST_TMPDIR/afile"
    assert "$output" =~ "exists and is not a directory"
    assert "$(cat "$BATS_TEST_TMPDIR/afile")" == "mine" "the file is untouched"
    run_podbox exec "$pod" -- mkdir -p /tmp/e/afile
    mkdir "$BATS_TEST_TMPDIR/e"
    cp "$BATS_TEST_TMPDIR/afile" "$BATS_TEST_TMPDIR/e/"
    run_podbox 125 cp "$BATS_TEST_TMPDIR/e" "$pod:/tmp"
    assert "$output" =~ "/tmp/e/afile: is a directory"

    # A directory of another user of the container: refused, with a hint.
    run_podbox exec "$pod" -- sh -c "mkdir /tmp/locked && chown 1000:1000 /tmp/locked && chmod 0700 /tmp/locked"
    run_podbox 125 cp "$BATS_TEST_TMPDIR/afile" "$pod:/tmp/locked/"
    assert "$output" =~ "$pod:/tmp/locked/afile: permission denied" "names the container's path"
    assert "$output" =~ "hint: " "says what to do"

    run_podbox 125 cp "$BATS_TEST_TMPDIR/afile" "$pod:/x" -c nosuch
    assert "$output" =~ "container \"nosuch\" not found"
    run_podbox down "$pod"
}
